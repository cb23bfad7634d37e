/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool.h - the open pool as the modules see it (pool.c), and for now the
 * lane hooks open.c calls at create, open and close.  Geometry fields are
 * copies of the validated header in host byte order; nothing here is read
 * from media again without a check.
 */
#ifndef PM_POOL_H
#define PM_POOL_H 1

#include <stdint.h>

#include "layout.h"
#include "map.h"

struct pm_lanes; /* lane.h */
struct pm_log;	 /* log.h */
struct pm_heap;	 /* heap.c */
struct pm_tx;	 /* lane.h */

/* How a transaction that used the heap ended (pool->heap_end). */
#define PM_TX_END_COMMITTED 0
#define PM_TX_END_ABORTED 1 /* nothing of it is or will be applied */
#define PM_TX_END_UNKNOWN 2 /* a crash may still replay it */

/* Internal open flag (pmck --discard-damaged, open.h): recovery drops committed
 * transactions and log records it cannot reach instead of refusing the
 * pool. */
#define PM_POOL_DISCARD (1U << 31)

/* What recovery with PM_POOL_DISCARD dropped. */
struct pm_tx_drop {
	uint64_t n;	      /* transactions */
	uint64_t first, last; /* their lowest and highest seq */
	uint64_t bytes;	      /* payload bytes they wrote */
};

struct pm_pool {
	struct pm_map *map;
	uint64_t id;	/* unique within the process, for per-thread caches */
	unsigned flags; /* PM_POOL_* given to create/open */
	uint8_t *base;	/* == map->addr */
	char *path;
	struct pm_hdr hdr; /* the valid header copy, as on media */
	uint32_t seed;	   /* CRC32C seed derived from the UUID */
	uint64_t pool_size;
	uint64_t lanes_off, lane_size;
	unsigned nlanes;
	uint64_t log_off, log_size; /* 0 if the pool has no log */
	uint64_t data_off, data_size;
	uint32_t features;	/* PM_HDR_F_* */
	struct pm_lanes *lanes; /* lane.h */
	struct pm_heap *heap;	/* heap.c state, NULL unless PM_HDR_F_HEAP */
	/* heap.c's end of a transaction that allocated or freed (tx.c calls
	 * it: the heap sits above tx in the call graph) */
	void (*heap_end)(struct pm_tx *tx, int outcome);
	struct pm_log *log; /* log.c state, NULL without a log area */
	/* what open found */
	unsigned header_repaired;
	uint64_t tx_replayed;
	struct pm_tx_drop tx_dropped;
	enum pm_shutdown_state shutdown;
	int usc_armed; /* usc.c set the dirty flag: clear it at close */
	int bb_status;
	struct pm_pool_badblock *bbs;
	size_t nbbs;
	/* header copies (bit 0: A, bit 1: B) that faulted when read or are
	 * listed as bad: a store there would fault, so the header is not
	 * rewritten until they are cleared */
	unsigned hdr_bad;
};

static inline void *pm_pool_at(const struct pm_pool *pool, uint64_t off)
{
	return pool->base + off;
}

/*
 * Check one header copy read from a file of @file_size bytes: 0 if it is
 * a valid header whose geometry fits, else PM_E_NOT_POOL (no magic),
 * PM_E_VERSION, PM_E_CORRUPT (size, checksum or geometry; @why says
 * which) or PM_E_TRUNCATED.  Pure: no messages, no side effects.
 */
int pm_hdr_check(const struct pm_hdr *h, uint64_t file_size, const char **why);
/* The copy open trusts: the valid one (st[i] == 0 from pm_hdr_check())
 * with the highest gen, A on a tie; -1 if neither is valid. */
int pm_hdr_pick(const struct pm_hdr h[2], const int st[2]);
/* Fill the host-order geometry and the CRC seed from pool->hdr, which
 * pm_hdr_check() has accepted. */
void pm_pool_fill(struct pm_pool *pool);
/* A zeroed pool description (no map, nothing open) whose geometry is that
 * of header copy @h, which pm_hdr_check() has accepted. */
void pm_pool_view(struct pm_pool *pool, const struct pm_hdr *h);
/* Seal pool->hdr with gen + 1 and a new checksum and write it to copy B,
 * persist, then copy A, persist: one copy is valid at every instant.
 * PM_E_BADBLOCKS (nothing written) while a copy is on a bad block. */
int pm_pool_hdr_write(struct pm_pool *pool);
/* At open, on the mapped file of @fsize bytes: read both header copies,
 * trust one into pool->hdr (pm_hdr_pick()) and rewrite the other from it
 * unless it is on a bad block (then pool->hdr_bad says which).  0,
 * PM_E_NOT_POOL, PM_E_VERSION, PM_E_CORRUPT, PM_E_TRUNCATED or -errno. */
int pm_pool_hdr_load(struct pm_pool *pool, uint64_t fsize);

#endif /* PM_POOL_H */
