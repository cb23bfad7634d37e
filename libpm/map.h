/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map.h - a mapping (map.c) and the inline helpers through which library
 * modules make its stores durable.  They dispatch through map->ops, the
 * table of the mapping's granularity (persist.h), so that the crash
 * simulator (sim.c) sees every flush, non-temporal copy and fence by
 * swapping map->ops while it records.
 */
#ifndef PM_MAP_H
#define PM_MAP_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"
#include "persist.h"

struct pm_map {
	uint8_t *addr;
	size_t size;
	int fd;
	unsigned flags; /* PM_MAP_* as given */
	enum pm_granularity gran;
	int map_sync;
	int forced;  /* granularity from PM_FORCE_GRANULARITY */
	int created; /* pm_map_file() created the file */
	int devdax;  /* a device-dax device; dev is its st_rdev */
	const struct pm_persist_ops *ops;
	dev_t dev;
	char fs_type[16];
	char *path;
	void *sim; /* crash simulator state when recording */
};

/*
 * Who watches mappings come and go: the crash simulator while a session
 * records (it sets and clears the watch; map.c calls nothing of it).
 * @created: a new mapping, its table set; @gone: a mapping with m->sim
 * set, before it goes away.
 */
struct pm_map_watch {
	void (*created)(struct pm_map *m);
	void (*gone)(struct pm_map *m);
};

void pm_map_watch_set(const struct pm_map_watch *w);

/*
 * Every helper that writes back returns 0 or the -errno of a failed
 * write-back (PAGE: msync), and it must be looked at: the operation whose
 * data it was fails with it.  Collect a sequence with pm_wb_first().
 */
#define PM_WB __attribute__((warn_unused_result))

/* The first error of a sequence of write-backs (and other steps). */
static inline int pm_wb_first(int err, int ret)
{
	return PM_UNLIKELY(err) ? err : ret;
}

static inline PM_WB int pm_map_flush(const struct pm_map *m, const void *addr,
				     size_t len)
{
	return m->ops->flush(m, addr, len);
}

static inline PM_WB int pm_map_drain(const struct pm_map *m)
{
	return m->ops->drain(m);
}

static inline PM_WB int pm_map_persist(const struct pm_map *m, const void *addr,
				       size_t len)
{
	int ret = m->ops->flush(m, addr, len);

	return pm_wb_first(ret, m->ops->drain(m));
}

/* Copy + flush without fence: durable at the next pm_map_drain(). */
static inline PM_WB int pm_map_copy(const struct pm_map *m, void *dst,
				    const void *src, size_t len, unsigned flags)
{
	return m->ops->memcpy(m, dst, src, len, flags);
}

/* pm_map_copy() that also continues the raw CRC32C in *@crc. */
static inline PM_WB int pm_map_copy_crc(const struct pm_map *m, void *dst,
					const void *src, size_t len,
					unsigned flags, uint32_t *crc)
{
	return m->ops->memcpy_crc(m, dst, src, len, flags, crc);
}

static inline PM_WB int pm_map_fill(const struct pm_map *m, void *dst, int c,
				    size_t len, unsigned flags)
{
	return m->ops->memset(m, dst, c, len, flags);
}

/* A plain cached copy, written back by a later pm_map_flush(): what every
 * table does for PM_MEM_NOFLUSH, without the indirect call. */
static inline void pm_map_store(const struct pm_map *m, void *dst,
				const void *src, size_t len)
{
	(void)m;
	memcpy(dst, src, len);
}

/* pm_map_store() of a fill. */
static inline void pm_map_store_fill(const struct pm_map *m, void *dst, int c,
				     size_t len)
{
	(void)m;
	memset(dst, c, len);
}

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
		m->ops->store64(m, dst, v);
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

#endif /* PM_MAP_H */
