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
 * The library's own write-backs return their errors (map.h); a flush made
 * through this API (pm_flush, a NODRAIN copy) has nowhere to return its
 * error, so it waits here, one per thread, for the thread's next
 * pm_drain/pm_persist/draining copy (a drain completes the flushes of the
 * thread that calls it, so it reports their errors and no other
 * thread's).  First error wins; library calls in between neither fail for
 * it nor swallow it.
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
 * thread's next user_drain(). */
static void user_flushed(int err)
{
	user_wb_err = pm_wb_first(user_wb_err, err);
}

/* A drain through the API: reports the first write-back error of this
 * thread's API flushes since its last such drain, else the fence's. */
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
	user_flushed(pm_map_flush(map, addr, len));
	return user_drain(map);
}

PM_EXPORT void pm_flush(const struct pm_map *map, const void *addr,
			size_t len)
{
	if (check_range(map, addr, len, "pm_flush") == 0)
		user_flushed(pm_map_flush(map, addr, len));
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
	user_flushed(pm_map_copy(map, dst, src, len, flags));
	return (flags & (PM_MEM_NODRAIN | PM_MEM_NOFLUSH)) ? 0 :
							      user_drain(map);
}

PM_EXPORT int pm_memset(const struct pm_map *map, void *dst, int c,
			size_t len, unsigned flags)
{
	int ret = check_mem(map, dst, len, flags, "pm_memset");

	if (ret || !len)
		return ret;
	user_flushed(pm_map_fill(map, dst, c, len, flags));
	return (flags & (PM_MEM_NODRAIN | PM_MEM_NOFLUSH)) ? 0 :
							      user_drain(map);
}
