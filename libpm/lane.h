/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lane.h - the volatile state of the transaction lanes and their
 * bookkeeping (lane.c): the lane header's two slots, the list of entries
 * a lane still holds, publication of the unretired entry, the retire
 * watermark, retiring and ring space.  tx.c runs transactions in a lane;
 * txrecov.c recovers the lanes at open and parks them at close.
 */
#ifndef PM_LANE_H
#define PM_LANE_H 1

#include <stdint.h>

#include "pool.h"

#define PM_SEQ_NONE UINT64_MAX
#define PM_LANE_FIFO_MAX 4096
/* An entry up to this size is built in DRAM and streamed into the ring
 * at commit as whole lines. */
#define PM_TX_SHADOW 4096
_Static_assert(PM_TX_SHADOW % 64 == 0, "the shadow holds whole lines");

struct pm_thr; /* tx.c: a thread's slot */

/* The transaction a lane runs: its fields are tx.c's. */
struct pm_tx {
	struct pm_pool *pool;
	struct pm_lane *lane;
	uint64_t token;	  /* thread that began it */
	uint64_t start;	  /* ring offset of the entry */
	uint64_t pos;	  /* next record goes here */
	uint64_t limit;	  /* the entry may grow up to here */
	uint64_t flushed; /* ring bytes below this need no flush */
	/* Where the entry's bytes are written: the lane's shadow (DRAM)
	 * while it fits there, else the ring at start (tx.c, stage). */
	uint8_t *w;
	uint32_t crc; /* running CRC32C of the entry */
	unsigned nranges;
	unsigned heap_ops; /* heap allocations and frees staged (heap.c) */
	int failed;	   /* a write failed: only abort is possible */
	int active;
};

/* One lived entry of a lane: not yet known to be reusable. */
struct pm_fifo_ent {
	uint64_t seq;
	uint64_t off;
};

/* Home ranges of a lane's unretired entry kept for other threads; an
 * entry with more ranges merges each further one into the nearest. */
#define PM_LANE_PUB_MAX 8

struct pm_lane_pub {
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
	struct pm_lane_pub pub[PM_LANE_PUB_MAX];
	struct pm_thr *holder; /* the thread the lane stays with, or NULL */
	uint64_t owner;	       /* token of the thread that used it last */
	/* Private to the holder while its slot says in_tx. */
	struct pm_lane_hdr *hdr;
	uint8_t *ring;
	uint64_t ring_size;
	uint64_t tail;	   /* next entry starts here (64-byte aligned) */
	uint64_t lim;	   /* entries stay below: the reach both slots hold */
	uint64_t hreach;   /* the reach the next slot write carries */
	uint64_t dhint;	   /* the durable hint: free space ends here */
	uint64_t hretired; /* retired in the lane header's newest slot */
	uint64_t hhint;	   /* and its hint */
	uint64_t hgen;	   /* that slot's gen */
	int hslot;	   /* that slot: the next write goes to the other */
	int hsynced;	   /* the other slot is valid and holds the same */
	/* pm_lane_advance() wrote the newest slot only: the other one gets
	 * the same at the next commit, and after that one's fence the first
	 * hlag_k listed entries are dropped and dhint moves to hlag_hint */
	int hlag;
	unsigned hlag_k;
	uint64_t hlag_hint;
	struct pm_fifo_ent *fifo;
	unsigned fifo_cap, fifo_head, fifo_n;
	/* PM_TX_SHADOW bytes, 64-byte aligned, where a transaction builds
	 * its entry before commit streams it into the ring (tx.c) */
	uint8_t *shadow;
	void *shadow_mem;    /* its allocation */
	unsigned trig_n;     /* advance the watermark at this many entries */
	uint64_t trig_bytes; /* ... or at this many bytes in use */
	struct pm_tx tx;
} __attribute__((aligned(64)));

struct pm_lanes {
	/* next commit seq, alone in its line: every commit writes it */
	uint64_t seq __attribute__((aligned(64)));
	struct pm_lane *lane __attribute__((aligned(64)));
	/* Bit i: lane i was set up for transactions since open (never
	 * cleared).  Only those may have a floor or an unretired entry, so
	 * the watermark reads only them. */
	uint64_t *used;
	void *raw; /* allocation of lane[] */
	void *mem; /* allocation of this struct */
	unsigned n;
	unsigned forks; /* pm_fork_gen() at open */
};

/* ---- the lanes of a pool ---- */

/* Lane state for every lane of @pool (pool->lanes), nothing read yet. */
int pm_lanes_alloc(struct pm_pool *pool);
void pm_lanes_free(struct pm_pool *pool);
/* Retire watermark: every seq <= the result is applied durably. */
uint64_t pm_lanes_watermark(struct pm_pool *pool);
/*
 * One wait of a loop that retires until the watermark reaches @seq: wait
 * until no commit with a seq <= @seq is in flight (floor set), the only
 * thing that may hold the watermark below it once retired.  Nothing here
 * waits for another thread to commit again: it may be waiting for a lock
 * the caller holds.  Two passes that find nothing in flight and the
 * watermark where it was (*@lastp, PM_SEQ_NONE at the first) cannot be
 * followed by one that moves it: returns 1 then (the caller fails with
 * the watermark in *@lastp, never hangs), else 0.
 */
int pm_lanes_wait_progress(struct pm_pool *pool, uint64_t seq, uint64_t *lastp);
/* Make every entry of every lane durable and reusable.  Costs fences. */
int pm_lanes_retire_all(struct pm_pool *pool);
/* Make both slots of every lane header hold (@r, the lane's tail) and
 * move each durable hint there.  Up to two fences. */
int pm_lanes_park(struct pm_pool *pool, uint64_t r);

static inline struct pm_lane *pm_lane_get(const struct pm_pool *pool,
					  unsigned i)
{
	return &pool->lanes->lane[i];
}

/* ---- the lane header ---- */

/* Ring bytes a fresh lane's reach covers (PM_HDR_F_REACH): the rest of
 * its header's page, so that recovery of an unused lane reads one page. */
#define PM_LANE_REACH_INIT (4096U - sizeof(struct pm_lane_hdr))

/* A slot; @reach in bytes (a multiple of 64), 0 without PM_HDR_F_REACH. */
struct pm_lane_slot pm_lane_slot_make(uint32_t seed, uint64_t retired,
				      uint64_t hint, uint64_t gen,
				      uint64_t reach);
/* Pick lane @l's header slot: valid, highest gen.  Sets l->dhint, the
 * slot state and the reach (lim: the lowest of the valid slots, where the
 * writer stops; hreach: the highest, below which recovery looks); returns
 * the slot, or -1 if neither is valid (the lane then looks empty: its
 * first write goes to slot 0, then slot 1).  @ok gets which slots are
 * valid, @why (if not NULL) why each invalid one is not (NULL if it is). */
int pm_lane_slot_pick(const struct pm_pool *pool, struct pm_lane *l, int ok[2],
		      const char *why[2]);
/* Write retired and hint into the lane header's older slot and flush it
 * (no fence): durable at the caller's next fence, which must come before
 * the next call for the same lane.  Returns the flush's error. */
int pm_lane_hdr_store(const struct pm_pool *pool, struct pm_lane *l,
		      uint64_t retired, uint64_t hint);
/* Write retired and hint into both slots, a fence after each (two
 * fences): the ring behind @hint may be reused once it returns 0. */
int pm_lane_hdr_set(const struct pm_pool *pool, struct pm_lane *l,
		    uint64_t retired, uint64_t hint);

/* ---- one lane, by its holder ---- */

/* First use of lane @l by the thread with token @me: set up its entry
 * list, and re-flush what the previous user applied, since only our own
 * fences order our own flushes; fails if that write-back fails. */
int pm_lane_adopt(struct pm_pool *pool, struct pm_lane *l, uint64_t me);
/* Write back the published home ranges of lane @l's unretired entry (any
 * thread; no fence): its seq, or PM_SEQ_NONE if there was none or it
 * changed meanwhile.  *@wb: the first write-back error, else kept. */
uint64_t pm_lane_reflush(const struct pm_pool *pool, struct pm_lane *l,
			 int *wb);
/* Write back @n published ranges @pub: a snapshot, or the holder's own
 * (its lane's pub, which only it writes).  No fence. */
void pm_lane_pub_flush(const struct pm_pool *pool,
		       const struct pm_lane_pub *pub, uint64_t n, int *wb);
/* Retire every lane, then move lane @l's header to the watermark (it
 * restarts at offset 0 if all its entries are retired): extra fences. */
int pm_lane_retire(struct pm_pool *pool, struct pm_lane *l);
/* The lane is full: retire (rare) until @need bytes fit; @startp and
 * @limitp get the room.  -EIO if the lane can never get room. */
int pm_lane_make_room(struct pm_pool *pool, struct pm_lane *l, uint64_t need,
		      uint64_t *startp, uint64_t *limitp);
/* A transaction whose room ends at the lane's reach (*@limitp) needs it
 * to reach ring offset @end: raise it (two fences).  1 if *@limitp, then
 * moved, is past @end now. */
int pm_lane_grow(struct pm_pool *pool, struct pm_lane *l, uint64_t *limitp,
		 uint64_t end);
/* The watermark into the header's newest slot (see lane.c): how many
 * listed entries to drop once both slots say so, and the hint then.
 * *@wb: the header's write-back error. */
unsigned pm_lane_advance(struct pm_pool *pool, struct pm_lane *l, uint64_t cur,
			 uint64_t *hintp, int *wb);
/* After the fence that made both slots agree: drop @k entries. */
void pm_lane_advanced(struct pm_lane *l, unsigned k, uint64_t hint);

static inline int pm_fifo_full(const struct pm_lane *l)
{
	return l->fifo_n == l->fifo_cap;
}

static inline struct pm_fifo_ent *pm_fifo_at(const struct pm_lane *l,
					     unsigned i)
{
	return &l->fifo[(l->fifo_head + i) % l->fifo_cap];
}

/* Ring bytes in use if the lane's entries ended at @tail. */
static inline uint64_t pm_lane_used(const struct pm_lane *l, uint64_t tail)
{
	return tail >= l->dhint ? tail - l->dhint :
				  l->ring_size - l->dhint + tail;
}

/* Contiguous room for @need bytes behind the durable hint. */
static inline __attribute__((always_inline)) int
pm_lane_room(const struct pm_lane *l, uint64_t need, uint64_t *start,
	     uint64_t *limit)
{
	uint64_t t = l->tail, h = l->dhint, rs = l->lim;

	if (pm_fifo_full(l))
		return 0;
	if (t > h || (t == h && l->fifo_n == 0)) {
		if (rs - t >= need) {
			*start = t;
			*limit = rs;
			return 1;
		}
		if (PM_MIN(h, t) >= need) { /* wrap to the ring's start */
			*start = 0;
			*limit = PM_MIN(h, t);
			return 1;
		}
		return 0;
	}
	if (t < h && h - t >= need) {
		*start = t;
		*limit = h;
		return 1;
	}
	return 0;
}

/*
 * A commit's header write, before its fence: the other slot catches up
 * with an earlier advance (one write per fence), or past a trigger the
 * watermark advances.  @cur and @end bound the entry being committed.
 * Returns what pm_lane_settle() gets after the fence; *@wb gets the
 * header's write-back error.
 */
static inline unsigned pm_lane_commit_hdr(struct pm_pool *pool,
					  struct pm_lane *l, uint64_t cur,
					  uint64_t end, uint64_t *hintp,
					  int *wb)
{
	if (l->hlag) {
		*wb = pm_lane_hdr_store(pool, l, l->hretired, l->hhint);
		return 0;
	}
	if (l->fifo_n + 1 >= l->trig_n ||
	    pm_lane_used(l, end) >= l->trig_bytes ||
	    l->fifo_n + 1 == l->fifo_cap)
		return pm_lane_advance(pool, l, cur, hintp, wb);
	return 0;
}

/* After a commit's fence: an advance of this commit waits for the
 * next one; one the previous commit made is now in both slots. */
static inline void pm_lane_settle(struct pm_lane *l, unsigned k, uint64_t hint)
{
	if (l->hlag) {
		l->hlag = 0;
		pm_lane_advanced(l, l->hlag_k, l->hlag_hint);
	} else if (k) {
		l->hlag = 1;
		l->hlag_k = k;
		l->hlag_hint = hint;
	}
}

/* The seqlock's write side: the entry before is durable since this
 * commit's fence, and the floor still holds the watermark below this
 * one, while the ranges are rewritten. */
static inline void pm_lane_unpublish(struct pm_lane *l)
{
	__atomic_store_n(&l->unretired, PM_SEQ_NONE, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Publish home range @n of the entry being applied: past the last slot,
 * it joins the slot whose span grows least, so that a re-flush of
 * scattered ranges writes back their neighbourhoods, not all between. */
static inline __attribute__((always_inline)) void
pm_lane_pub_put(struct pm_lane *l, unsigned n, uint64_t roff, uint64_t len)
{
	struct pm_lane_pub *p = &l->pub[PM_MIN(n, PM_LANE_PUB_MAX - 1)];

	if (PM_UNLIKELY(n >= PM_LANE_PUB_MAX)) {
		uint64_t best = UINT64_MAX, lo = 0, hi = 0;

		for (unsigned i = 0; i < PM_LANE_PUB_MAX; i++) {
			uint64_t a = l->pub[i].off, b = a + l->pub[i].len;
			uint64_t na = PM_MIN(a, roff);
			uint64_t nb = PM_MAX(b, roff + len);

			if (nb - na - (b - a) < best) {
				best = nb - na - (b - a);
				p = &l->pub[i];
				lo = na;
				hi = nb;
			}
		}
		roff = lo;
		len = hi - lo;
	}
	__atomic_store_n(&p->off, roff, __ATOMIC_RELAXED);
	__atomic_store_n(&p->len, len, __ATOMIC_RELAXED);
}

/* The entry [@off, @end) with @n published ranges is applied: list it,
 * publish it as the lane's unretired, clear the floor. */
static inline __attribute__((always_inline)) void
pm_lane_publish(struct pm_lane *l, uint64_t seq, uint64_t off, uint64_t end,
		unsigned n)
{
	__atomic_store_n(&l->pub_n, n, __ATOMIC_RELAXED);
	*pm_fifo_at(l, l->fifo_n++) = (struct pm_fifo_ent){ seq, off };
	l->tail = PM_ALIGN_UP(end, (uint64_t)PM_CACHELINE);
	/*
	 * Plain (release) stores, not locked ones: a locked instruction
	 * would wait for the fence just issued.  A reader that sees this
	 * floor cleared (it loads floor first) also sees unretired = seq or
	 * later, which is all the watermark needs.
	 */
	__atomic_store_n(&l->last_off, off, __ATOMIC_RELEASE);
	__atomic_store_n(&l->unretired, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&l->floor, PM_SEQ_NONE, __ATOMIC_RELEASE);
}

#endif /* PM_LANE_H */
