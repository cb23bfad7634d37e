/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * persist.h - the persistence tables (persist.c), one per granularity,
 * and the per-thread counters they keep.  A table knows nothing of the
 * mapping it serves: struct pm_map (map.h) sits above and picks one.
 */
#ifndef PM_PERSIST_H
#define PM_PERSIST_H 1

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct pm_map;

/*
 * One table per granularity (persist.c); all of them count into the
 * calling thread's pm_stats.  flush, memcpy, memset and memcpy_crc return
 * 0 or the -errno of a write-back that failed (only PAGE's msync can);
 * the caller fails the operation whose data it was.
 */
struct pm_persist_ops {
	int (*flush)(const struct pm_map *m, const void *addr, size_t len);
	int (*drain)(const struct pm_map *m);
	/* Copy/fill and flush (flags: PM_MEM_*); never the final fence,
	 * whatever PM_MEM_NODRAIN says: callers drain. */
	int (*memcpy)(const struct pm_map *m, void *dst, const void *src,
		      size_t len, unsigned flags);
	int (*memset)(const struct pm_map *m, void *dst, int c, size_t len,
		      unsigned flags);
	/* memcpy that also continues the raw CRC32C (crc.h) in *@crc with
	 * the bytes; the source is read once where the CPU can. */
	int (*memcpy_crc)(const struct pm_map *m, void *dst, const void *src,
			  size_t len, unsigned flags, uint32_t *crc);
	/* Only the recording table (sim.c): an ordered 8-byte store, see
	 * pm_map_store64(). */
	void (*store64)(const struct pm_map *m, uint64_t *dst, uint64_t v);
};

extern const struct pm_persist_ops pm_ops_byte, pm_ops_cacheline, pm_ops_page;

/* Per-thread counters (persist.c). */
extern __thread struct pm_stats pm_tls_stats
	__attribute__((tls_model("initial-exec")));

/* The table for a granularity (map.c sets map->ops from it). */
const struct pm_persist_ops *pm_persist_ops_for(enum pm_granularity g);

#endif /* PM_PERSIST_H */
