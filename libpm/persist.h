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

/* One table per granularity (persist.c); all of them count into the
 * calling thread's pm_stats. */
struct pm_persist_ops {
	void (*flush)(const struct pm_map *m, const void *addr, size_t len);
	int (*drain)(const struct pm_map *m);
	/* Copy/fill and flush (flags: PM_MEM_*); never the final fence,
	 * whatever PM_MEM_NODRAIN says: callers drain. */
	void (*memcpy)(const struct pm_map *m, void *dst, const void *src,
		       size_t len, unsigned flags);
	void (*memset)(const struct pm_map *m, void *dst, int c, size_t len,
		       unsigned flags);
	/* memcpy that also returns the raw CRC32C (crc.h) of the bytes,
	 * continued from @crc; the source is read once where the CPU can. */
	uint32_t (*memcpy_crc)(const struct pm_map *m, void *dst,
			       const void *src, size_t len, unsigned flags,
			       uint32_t crc);
	/* Only the recording table (sim.c): an ordered 8-byte store, see
	 * pm_map_store64(). */
	void (*store64)(const struct pm_map *m, uint64_t *dst, uint64_t v);
};

extern const struct pm_persist_ops pm_ops_byte, pm_ops_cacheline,
	pm_ops_page;

/* Per-thread counters (persist.c). */
extern __thread struct pm_stats pm_tls_stats
	__attribute__((tls_model("initial-exec")));

/*
 * The first write-back error (a failed msync, PAGE granularity) of the
 * calling thread's flushes since its last drain; the drain returns and
 * clears it.  Flushes made through the public API keep theirs apart
 * (persist.c), so a library call's drain reports only its own.
 */
extern __thread int pm_tls_wb_err __attribute__((tls_model("initial-exec")));

/* Take the calling thread's unreported write-back error: for a library
 * call that flushes without a drain and must fail itself at once. */
static inline int pm_wb_take(void)
{
	int err = pm_tls_wb_err;

	pm_tls_wb_err = 0;
	return err;
}

/* The table for a granularity (map.c sets map->ops from it). */
const struct pm_persist_ops *pm_persist_ops_for(enum pm_granularity g);

#endif /* PM_PERSIST_H */
