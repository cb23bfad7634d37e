/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flush.c - the public persistence API: pm_persist, pm_flush, pm_drain,
 * pm_memcpy, pm_memset on a mapping, through its table.  Invariant: a
 * range handed to pm_persist() (or to a memcpy/memset without NODRAIN) is
 * durable when the call returns 0: its lines were written back (or
 * msync'ed) and a fence followed.
 */
#include "map.h"

/*
 * Write-back errors of flushes made through the API (pm_flush, NODRAIN
 * copies) are set aside here: only the thread's next pm_drain/pm_persist/
 * draining copy reports them, so that a library call in between neither
 * fails for them nor swallows them.  The library's own flushes keep
 * theirs in pm_tls_wb_err (persist.h).
 */
static __thread int user_wb_err __attribute__((tls_model("initial-exec")));

static int check_range(const struct pm_map *m, const void *addr, size_t len,
		       const char *what)
{
	if (!m)
		return pm_err(-EINVAL, "%s: no mapping", what);
	if (!pm_map_contains(m, addr, len))
		return pm_err(-EINVAL,
			      "%s: range %p+%zu outside the mapping %p+%zu",
			      what, addr, len, (void *)m->addr, m->size);
	return 0;
}

/* After a flush through the API: set its write-back error aside for the
 * thread's next user_drain() (first error wins). */
static void user_flushed(int lib_err)
{
	int err = pm_tls_wb_err;

	pm_tls_wb_err = lib_err;
	if (err && !user_wb_err)
		user_wb_err = err;
}

/* A drain through the API: reports every flush of this thread since its
 * last drain, its own API flushes' errors first. */
static int user_drain(const struct pm_map *map)
{
	int ret = pm_map_drain(map), err = user_wb_err;

	user_wb_err = 0;
	return err ? err : ret;
}

PM_EXPORT int pm_persist(const struct pm_map *map, const void *addr,
			 size_t len)
{
	int ret = check_range(map, addr, len, "pm_persist");

	if (ret || !len)
		return ret;
	ret = pm_wb_take();
	pm_map_flush(map, addr, len);
	user_flushed(ret);
	return user_drain(map);
}

PM_EXPORT void pm_flush(const struct pm_map *map, const void *addr,
			size_t len)
{
	if (check_range(map, addr, len, "pm_flush") == 0) {
		int lib_err = pm_wb_take();

		pm_map_flush(map, addr, len);
		user_flushed(lib_err);
	}
}

PM_EXPORT int pm_drain(const struct pm_map *map)
{
	if (!map)
		return pm_err(-EINVAL, "pm_drain: no mapping");
	return user_drain(map);
}

static int check_mem(const struct pm_map *map, void *dst, size_t len,
		     unsigned flags, const char *what)
{
	int ret = check_range(map, dst, len, what);

	if (ret)
		return ret;
	if (flags & ~PM_MEM_VALID)
		return pm_err(-EINVAL, "%s: unknown flags 0x%x", what,
			      flags & ~PM_MEM_VALID);
	if ((flags & PM_MEM_NONTEMPORAL) && (flags & PM_MEM_TEMPORAL))
		return pm_err(-EINVAL, "%s: NONTEMPORAL and TEMPORAL together",
			      what);
	if (map->flags & PM_MAP_READONLY)
		return pm_err(-EPERM, "%s: mapping is read-only", what);
	return 0;
}

PM_EXPORT int pm_memcpy(const struct pm_map *map, void *dst, const void *src,
			size_t len, unsigned flags)
{
	int ret = check_mem(map, dst, len, flags, "pm_memcpy");

	if (ret || !len)
		return ret;
	if (!src)
		return pm_err(-EINVAL, "pm_memcpy: no source");
	ret = pm_wb_take();
	map->ops->memcpy(map, dst, src, len, flags);
	user_flushed(ret);
	return (flags & (PM_MEM_NODRAIN | PM_MEM_NOFLUSH)) ? 0 :
							      user_drain(map);
}

PM_EXPORT int pm_memset(const struct pm_map *map, void *dst, int c,
			size_t len, unsigned flags)
{
	int ret = check_mem(map, dst, len, flags, "pm_memset");

	if (ret || !len)
		return ret;
	ret = pm_wb_take();
	map->ops->memset(map, dst, c, len, flags);
	user_flushed(ret);
	return (flags & (PM_MEM_NODRAIN | PM_MEM_NOFLUSH)) ? 0 :
							      user_drain(map);
}
