/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.h - volatile lane state shared by tx.c (the transaction path) and
 * txrecov.c (entry parsing, retiring, recovery at open, close).
 */
#ifndef PM_TX_H
#define PM_TX_H 1

#include <stdint.h>

#include "pool.h"

#define PM_SEQ_NONE UINT64_MAX
/* Reservation overhead: a reserve covers its payload plus this many
 * range records (each padded to 8 bytes) and the commit record. */
#define PM_TX_RESERVE_RANGES 4
#define PM_TX_FIFO_MAX 4096

struct pm_tx {
	struct pm_pool *pool;
	struct pm_lane *lane;
	uint64_t token;	  /* thread that began it */
	uint64_t start;	  /* ring offset of the entry */
	uint64_t pos;	  /* next record goes here */
	uint64_t limit;	  /* the entry may grow up to here */
	uint64_t flushed; /* ring bytes below this need no flush */
	uint32_t crc;	  /* running CRC32C of the entry */
	unsigned nranges;
	int failed; /* a write failed: only abort is possible */
	int active;
};

/* One lived entry of a lane: not yet known to be reusable. */
struct pm_fifo_ent {
	uint64_t seq;
	uint64_t off;
};

/*
 * A thread's slot: its token and whether it is in a transaction.  Slots
 * live as long as the process (a lane may point at one whose thread is
 * gone) and are handed to a new thread after their thread exits.
 */
struct pm_thr {
	uint64_t token; /* unique per thread, never reused */
	int in_tx;	/* written by its thread only */
	struct pm_thr *next; /* all slots / the free list */
	struct pm_thr *next_free;
} __attribute__((aligned(64)));

/* Home ranges of a lane's unretired entry kept for other threads; an
 * entry with more ranges publishes the span of the rest in the last. */
#define PM_TX_PUB_MAX 4

struct pm_tx_pub {
	uint64_t off, len; /* data-area offset and length */
};

struct pm_lane {
	/* Read by every thread that computes the retire watermark. */
	uint64_t floor;	    /* in-flight commit gets a seq >= this */
	uint64_t unretired; /* seq whose application may not be durable */
	uint64_t last_off;  /* ring offset of that entry */
	/*
	 * That entry's home ranges, so that another thread retires it
	 * without reading the ring, which the holder may be rewriting.  A
	 * seqlock on unretired: the holder sets it to PM_SEQ_NONE (the
	 * entry before is durable by then) while it rewrites them.
	 */
	uint64_t pub_n;
	struct pm_tx_pub pub[PM_TX_PUB_MAX];
	struct pm_thr *holder; /* the thread the lane stays with, or NULL */
	uint64_t owner;	    /* token of the thread that used it last */
	/* Private to the holder while its slot says in_tx. */
	struct pm_lane_hdr *hdr;
	uint8_t *ring;
	uint64_t ring_size;
	uint64_t tail;	/* next entry starts here (64-byte aligned) */
	uint64_t dhint; /* the durable hint: free space ends here */
	uint64_t hretired; /* retired in the lane header's newest slot */
	uint64_t hhint;	   /* and its hint */
	uint64_t hgen;	   /* that slot's gen */
	int hslot;	   /* that slot: the next write goes to the other */
	int hsynced;	   /* the other slot is valid and holds the same */
	/* advance() wrote the newest slot only: the other one gets the same
	 * at the next commit, and after that one's fence the first hlag_k
	 * listed entries are dropped and dhint moves to hlag_hint */
	int hlag;
	unsigned hlag_k;
	uint64_t hlag_hint;
	struct pm_fifo_ent *fifo;
	unsigned fifo_cap, fifo_head, fifo_n;
	unsigned trig_n;     /* advance the watermark at this many entries */
	uint64_t trig_bytes; /* ... or at this many bytes in use */
	struct pm_tx tx;
} __attribute__((aligned(64)));

struct pm_lanes {
	/* next commit seq, alone in its line: every commit writes it */
	uint64_t seq __attribute__((aligned(64)));
	struct pm_lane *lane __attribute__((aligned(64)));
	void *raw; /* allocation of lane[] */
	void *mem; /* allocation of this struct */
	unsigned n;
	unsigned forks; /* pm_fork_gen() at open */
};

/* Retire watermark: every seq <= the result is applied durably. */
uint64_t pm_tx_watermark(struct pm_pool *pool);
/* Write back the published home ranges of lane @l's unretired entry (any
 * thread; no fence): its seq, or PM_SEQ_NONE if there was none or it
 * changed meanwhile. */
uint64_t pm_lane_reflush(const struct pm_pool *pool, struct pm_lane *l);
/* Make every entry of every lane durable and reusable; the caller holds
 * @own (or NULL at close).  Costs fences. */
int pm_tx_retire_all(struct pm_pool *pool, struct pm_lane *own);
/* Wait until no commit with a seq <= @seq is in flight (floor set): the
 * only thing that may hold the watermark below it once retired. */
void pm_tx_wait_inflight(struct pm_pool *pool, uint64_t seq);
/* Write retired and hint into the lane header's older slot and flush it
 * (no fence): durable at the caller's next fence, which must come before
 * the next call for the same lane. */
void pm_lane_hdr_store(const struct pm_pool *pool, struct pm_lane *l,
		       uint64_t retired, uint64_t hint);
/* Write retired and hint into both slots, a fence after each (two
 * fences): the ring behind @hint may be reused once it returns 0. */
int pm_lane_hdr_set(const struct pm_pool *pool, struct pm_lane *l,
		    uint64_t retired, uint64_t hint);

static inline struct pm_lane *pm_lane_get(const struct pm_pool *pool,
					  unsigned i)
{
	return &pool->lanes->lane[i];
}

static inline int pm_fifo_full(const struct pm_lane *l)
{
	return l->fifo_n == l->fifo_cap;
}

static inline struct pm_fifo_ent *pm_fifo_at(const struct pm_lane *l,
					     unsigned i)
{
	return &l->fifo[(l->fifo_head + i) % l->fifo_cap];
}

/* What recovery would find in one lane (pm_tx_scan()). */
struct pm_tx_lane_scan {
	unsigned lane;
	uint64_t retired, hint; /* the lane header's slot in use */
	int slot;		/* that slot; -1: neither is valid, open
				 * refuses the pool */
	int slot_ok[2];		/* which slots are valid */
	uint64_t tail;		/* ring offset where the chain ends */
	uint64_t pending;	/* valid entries with seq > R: replayed */
	uint64_t first_pending, last_pending; /* their seqs */
	uint64_t pending_off;	/* ring offset of the first of them */
	uint64_t orphans;	/* valid entries with seq > R the chain does
				 * not reach (all of them if slot is -1):
				 * open refuses the pool */
	uint64_t first_orphan, last_orphan; /* their lowest and highest seq */
	uint64_t orphan_off;	/* the ring offset of the lowest */
	uint64_t top;		/* highest seq of a valid entry checked */
	/* what recovery with PM_POOL_DISCARD drops: the orphans, and chain
	 * entries at or below what a lane without a valid header held */
	uint64_t dropped, first_dropped, last_dropped;
	uint64_t dropped_bytes;	/* their payload bytes */
};
typedef int (*pm_tx_scan_cb)(const struct pm_tx_lane_scan *ls, void *arg);
/*
 * Run recovery's own scan (the one that decides whether open refuses),
 * without writing to the pool
 * (which may be mapped read-only and has no lane state yet): *rp gets the
 * retire watermark R, then @cb is called for each lane in order; a
 * non-zero return stops the scan and is returned.
 */
int pm_tx_scan(struct pm_pool *pool, uint64_t *rp, pm_tx_scan_cb cb,
	       void *arg);

/* Test hook (tests only): commit without applying, as if the process died
 * right after the durability fence. */
extern int pm_tx_test_skip_apply;

#endif /* PM_TX_H */
