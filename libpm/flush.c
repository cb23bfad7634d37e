/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flush.c - the public persistence API: pm_persist, pm_flush, pm_drain,
 * pm_memcpy, pm_memset on a mapping, through its table.  Invariant: a
 * range handed to pm_persist() (or to a memcpy/memset without NODRAIN) is
 * durable when the call returns 0: its lines were written back (or
 * msync'ed) and a fence followed.
 */
#include "eadr.h"
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

/**
 * pm_persist - make a range of a mapping durable
 * @map: the mapping
 * @addr: first byte of the range, inside @map
 * @len: bytes in the range
 *
 * pm_flush() then pm_drain(): when it returns 0 the bytes survive a crash
 * or power failure.  Thread-safe.
 *
 * Return: 0; -EINVAL if @map is NULL or the range is not inside it; or a
 * write-back error, as pm_drain().  A @len of 0 returns 0 after the checks,
 * without a fence, and leaves a pending write-back error to the next drain.
 */
PM_EXPORT int pm_persist(const struct pm_map *map, const void *addr, size_t len)
{
	int ret = check_range(map, addr, len, "pm_persist");

	if (ret || !len)
		return ret;
	user_flushed(pm_map_flush(map, addr, len));
	return user_drain(map);
}

/**
 * pm_deep_flush - make a range durable past the memory controller's queues
 * @map: the mapping
 * @addr: first byte of the range, inside @map
 * @len: bytes in the range
 *
 * pm_persist() of the range, then a write of "1" to the deep_flush of each
 * nd region behind the mapping's device (sysfs), which flushes the memory
 * controllers' write queues of that region.  For callers that want data
 * past those queues even where the platform counts them as persistent
 * (ADR).  Needs the right to write the attribute (root).
 *
 * Return: 0; -EINVAL as pm_persist(); a write-back error as pm_persist();
 * -ENOTSUP if the mapping is on no nd region (tmpfs, a disk, emulated
 * pmem without one) or a region has no deep flush (no deep_flush, or it
 * reads 0); -EACCES or another -errno if the write failed.
 */
PM_EXPORT int pm_deep_flush(const struct pm_map *map, const void *addr,
			    size_t len)
{
	int ret = pm_persist(map, addr, len);

	return ret ? ret : pm_map_deep_flush(map->dev, map->devdax);
}

/**
 * pm_flush - write a range of a mapping back, without waiting
 * @map: the mapping
 * @addr: first byte of the range, inside @map
 * @len: bytes in the range
 *
 * Writes back every cache line the range touches (PM_GRANULARITY_BYTE:
 * none; PM_GRANULARITY_PAGE: msync(2) of its pages, which also waits).  The
 * range is durable after the calling thread's next pm_drain().  An invalid
 * range (@map NULL, the range not inside it) is logged and ignored.
 * Thread-safe.
 *
 * A write-back error (a failed msync) is not lost: the calling thread's
 * next pm_drain(), pm_persist(), or pm_memcpy()/pm_memset() that drains
 * returns it.
 */
PM_EXPORT void pm_flush(const struct pm_map *map, const void *addr, size_t len)
{
	if (check_range(map, addr, len, "pm_flush") == 0)
		user_flushed(pm_map_flush(map, addr, len));
}

/**
 * pm_drain - wait until the calling thread's flushes are durable
 * @map: the mapping flushed to; one drain covers the thread's flushes to
 *	 all mappings of the same granularity
 *
 * Waits for the pm_flush() calls, PM_MEM_NODRAIN copies and non-temporal
 * stores the calling thread made before: one fence (none after clflush
 * alone; PM_GRANULARITY_PAGE: none, msync already waited).  Thread-safe: it
 * neither waits for nor reports another thread's flushes, and the library's
 * own calls (transactions, the log) never return or clear the errors of
 * the application's flushes.
 *
 * Return: 0; -EINVAL if @map is NULL; or the first write-back error
 * (-EIO, -ENOMEM: a failed msync(2), PM_GRANULARITY_PAGE) of the flushes
 * and non-draining copies the thread made through this API since its last
 * drain, on any mapping.  The error is then cleared: it is returned once.
 */
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

/**
 * pm_memcpy - copy into a mapping and make the copy durable
 * @map: the mapping holding @dst
 * @dst: destination, inside @map
 * @src: source, not overlapping @dst
 * @len: bytes to copy
 * @flags: 0 or PM_MEM_* (libpm.h)
 *
 * With @flags 0 the bytes are durable when it returns 0, as after
 * pm_persist().  At cache-line and byte granularity, copies of at least
 * $PM_MOVNT_THRESHOLD bytes (256 by default) write whole lines with
 * non-temporal stores where the CPU has them.  Thread-safe; concurrent
 * stores to the same bytes are the caller's to order.
 *
 * Return: 0; -EINVAL if @map is NULL, the destination is not inside it,
 * @flags has unknown bits or both PM_MEM_NONTEMPORAL and PM_MEM_TEMPORAL,
 * or @src is NULL and @len is not 0; -EPERM if @map is read-only; or,
 * without PM_MEM_NODRAIN and PM_MEM_NOFLUSH, a write-back error as
 * pm_drain().  With PM_MEM_NODRAIN the copy's write-back error is returned
 * by the thread's next drain.  A @len of 0 returns 0 after the checks,
 * without a fence.
 */
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

/**
 * pm_memset - fill a range of a mapping and make it durable
 * @map: the mapping holding @dst
 * @dst: start of the range, inside @map
 * @c: the byte to fill with
 * @len: bytes to fill
 * @flags: 0 or PM_MEM_* (libpm.h)
 *
 * pm_memcpy() of @len bytes of @c.  Thread-safe.
 *
 * Return: as pm_memcpy(), with no @src to check.
 */
PM_EXPORT int pm_memset(const struct pm_map *map, void *dst, int c, size_t len,
			unsigned flags)
{
	int ret = check_mem(map, dst, len, flags, "pm_memset");

	if (ret || !len)
		return ret;
	user_flushed(pm_map_fill(map, dst, c, len, flags));
	return (flags & (PM_MEM_NODRAIN | PM_MEM_NOFLUSH)) ? 0 :
							     user_drain(map);
}
