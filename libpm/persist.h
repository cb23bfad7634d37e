/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * persist.h - a mapping and its persistence table.  Library modules make
 * stores durable only through these inline helpers, so that the crash
 * simulator (sim.c) sees every flush, non-temporal copy and fence by
 * swapping map->ops.
 */
#ifndef PM_PERSIST_H
#define PM_PERSIST_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
};

struct pm_map {
	uint8_t *addr;
	size_t size;
	int fd;
	unsigned flags;		/* PM_MAP_* as given */
	enum pm_granularity gran;
	int map_sync;
	int forced;		/* granularity from PM_FORCE_GRANULARITY */
	int created;		/* pm_map_file() created the file */
	const struct pm_persist_ops *ops;
	dev_t dev;
	char fs_type[16];
	char *path;
	void *sim;		/* crash simulator state when recording */
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

static inline void pm_map_flush(const struct pm_map *m, const void *addr,
				size_t len)
{
	m->ops->flush(m, addr, len);
}

static inline int pm_map_drain(const struct pm_map *m)
{
	return m->ops->drain(m);
}

static inline int pm_map_persist(const struct pm_map *m, const void *addr,
				 size_t len)
{
	m->ops->flush(m, addr, len);
	return m->ops->drain(m);
}

/* Copy + flush without fence: durable at the next pm_map_drain(). */
static inline void pm_map_copy(const struct pm_map *m, void *dst,
			       const void *src, size_t len, unsigned flags)
{
	m->ops->memcpy(m, dst, src, len, flags);
}

/* pm_map_copy() that also checksums what it copies (raw CRC32C). */
static inline uint32_t pm_map_copy_crc(const struct pm_map *m, void *dst,
				       const void *src, size_t len,
				       unsigned flags, uint32_t crc)
{
	return m->ops->memcpy_crc(m, dst, src, len, flags, crc);
}

static inline void pm_map_fill(const struct pm_map *m, void *dst, int c,
			       size_t len, unsigned flags)
{
	m->ops->memset(m, dst, c, len, flags);
}

/* A plain cached copy, written back by a later pm_map_flush(): what every
 * table does for PM_MEM_NOFLUSH, without the indirect call. */
static inline void pm_map_store(const struct pm_map *m, void *dst,
				const void *src, size_t len)
{
	(void)m;
	memcpy(dst, src, len);
}

/* sim.c: an ordered store made while the mapping is recorded. */
void pm_sim_store64(const struct pm_map *m, uint64_t *dst, uint64_t v);

/*
 * An 8-byte store whose order against later stores to the same cache line
 * is relied on (Px86: a line persists a prefix of its stores in program
 * order).  A plain store; while recording, the crash simulator notes it so
 * that its images keep that order instead of mixing the line's words.
 */
static inline void pm_map_store64(const struct pm_map *m, uint64_t *dst,
				  uint64_t v)
{
	if (PM_UNLIKELY(m->sim != NULL))
		pm_sim_store64(m, dst, v);
	else
		__atomic_store_n(dst, v, __ATOMIC_RELEASE);
}

/* Does [addr, addr+len) lie inside the mapping? */
static inline int pm_map_contains(const struct pm_map *m, const void *addr,
				  size_t len)
{
	uintptr_t a = (uintptr_t)addr, b = (uintptr_t)m->addr;

	return a >= b && pm_range_ok(a - b, len, m->size);
}

/* The table for a granularity (map.c sets map->ops from it). */
const struct pm_persist_ops *pm_persist_ops_for(enum pm_granularity g);

#endif /* PM_PERSIST_H */
