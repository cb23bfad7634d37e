/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * txrecov.h - the transaction lanes at create, open and close (txrecov.c):
 * the hooks the pool calls, and recovery's scan that pmck shares.
 */
#ifndef PM_TXRECOV_H
#define PM_TXRECOV_H 1

#include <stdint.h>

#include "pool.h"

/* Write empty lane headers at create. */
int pm_tx_format(struct pm_pool *pool);
/* An empty lane header (nothing retired, ring from 0, @reach bytes of
 * it usable: 0 without PM_HDR_F_REACH), as create writes it. */
void pm_tx_lane_hdr_empty(uint32_t seed, uint64_t reach, struct pm_lane_hdr *h);
/* The sequence number the next commit gets. */
uint64_t pm_tx_next_seq(const struct pm_pool *pool);
/* Lane state and recovery (replay of committed, unapplied
 * transactions) at open; retire everything at close. */
int pm_tx_boot(struct pm_pool *pool);
void pm_tx_shutdown(struct pm_pool *pool);
/* The handle was opened by the parent of this process (fork). */
int pm_tx_forked(const struct pm_pool *pool);

/* What recovery would find in one lane (pm_tx_scan()). */
struct pm_tx_lane_scan {
	unsigned lane;
	uint64_t retired, hint;	 /* the lane header's slot in use */
	int slot;		 /* that slot; -1: neither is valid, open
				 * refuses the pool */
	int slot_ok[2];		 /* which slots are valid */
	const char *slot_why[2]; /* why one is not (static text), or NULL */
	uint64_t tail;		 /* ring offset where the chain ends */
	uint64_t pending;	 /* valid entries with seq > R: replayed */
	uint64_t first_pending, last_pending; /* their seqs */
	uint64_t pending_off; /* ring offset of the first of them */
	uint64_t orphans;     /* valid entries with seq > R the chain does
				 * not reach (all of them if slot is -1):
				 * open refuses the pool */
	uint64_t first_orphan, last_orphan; /* their lowest and highest seq */
	uint64_t orphan_off;		    /* the ring offset of the lowest */
	uint64_t top; /* highest seq of a valid entry checked */
	/* what recovery with PM_POOL_DISCARD drops: the orphans, and chain
	 * entries at or below what a lane without a valid header held */
	uint64_t dropped, first_dropped, last_dropped;
	uint64_t dropped_bytes; /* their payload bytes */
};
typedef int (*pm_tx_scan_cb)(const struct pm_tx_lane_scan *ls, void *arg);
/*
 * Run recovery's own scan (the one that decides whether open refuses),
 * without writing to the pool (which may be mapped read-only and has no
 * lane state yet): *rp gets the retire watermark R, then @cb is called
 * for each lane in order; a non-zero return stops the scan and is
 * returned.
 */
int pm_tx_scan(struct pm_pool *pool, uint64_t *rp, pm_tx_scan_cb cb, void *arg);
/* What recovery would replay, applied to @data, a private copy of the
 * data area (nothing written to the pool); *@np gets how many
 * transactions.  0, or the error recovery would refuse the pool with. */
int pm_tx_replay_dry(struct pm_pool *pool, uint8_t *data, uint64_t *np);

#endif /* PM_TXRECOV_H */
