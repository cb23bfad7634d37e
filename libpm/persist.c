/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * persist.c - the three persistence tables and the per-thread counters.
 * Invariant: a range a table flushed (or copied without NOFLUSH) is
 * durable once the same thread's next drain through the table returned 0:
 * its lines were written back (or msync'ed) and a fence followed.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "arch.h"
#include "crc.h"
#include "os.h"
#include "persist.h"

/* initial-exec: a flush or fence must not cost a __tls_get_addr() call. */
__thread struct pm_stats pm_tls_stats
	__attribute__((tls_model("initial-exec")));
/* Non-temporal stores issued since this thread's last fence. */
static __thread int nt_pending __attribute__((tls_model("initial-exec")));

/**
 * pm_flush_method - the cache-line write-back this process uses
 *
 * Chosen once, when the library is loaded, from the CPU's features and the
 * PM_NO_* environment variables (libpm(7)).  Thread-safe.
 *
 * Return: "clwb", "clflushopt", "clflush", "dc cvap", "dc cvac", or "none"
 * where the CPU has none; a static string.
 */
PM_EXPORT const char *pm_flush_method(void)
{
	return pm_arch.flush_name;
}

/**
 * pm_stats_get - the calling thread's flush and fence counters
 * @st: receives the counters; NULL does nothing
 *
 * Every persistence operation of the library (transactions and log
 * appends included) counts on the thread that made it, so a cost is the
 * difference of two readings.  A fence not needed is neither issued nor
 * counted.
 */
PM_EXPORT void pm_stats_get(struct pm_stats *st)
{
	if (st)
		*st = pm_tls_stats;
}

/**
 * pm_stats_reset - set the calling thread's counters to 0
 */
PM_EXPORT void pm_stats_reset(void)
{
	memset(&pm_tls_stats, 0, sizeof(pm_tls_stats));
}

static void count_lines(const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	uint64_t n = ((a + len + 63) >> 6) - (a >> 6);

	pm_tls_stats.flushes += n;
	pm_tls_stats.bytes_flushed += n << 6;
}

static void fence(void)
{
	pm_arch.fence();
	pm_tls_stats.fences++;
	nt_pending = 0;
}

static int use_nt(size_t len, unsigned flags)
{
	if (!pm_arch.memcpy_nt || (flags & PM_MEM_TEMPORAL))
		return 0;
	return (flags & PM_MEM_NONTEMPORAL) || pm_nt_pays(len, PM_NT_COPY);
}

/* Cached stores: a copy of @src, or a fill with @c when @src is NULL. */
static void store(void *dst, const void *src, int c, size_t len)
{
	if (src)
		memcpy(dst, src, len);
	else
		memset(dst, c, len);
}

/* ---- CACHELINE: flush instructions + fence ---- */

static int cl_flush(const struct pm_map *m, const void *addr, size_t len)
{
	(void)m;
	if (!len)
		return 0;
	pm_arch.flush(addr, len);
	count_lines(addr, len);
	return 0;
}

static int cl_drain(const struct pm_map *m)
{
	(void)m;
	if (!pm_arch.flush_orders || nt_pending)
		fence();
	return 0;
}

/*
 * Whole lines of the destination go out with non-temporal stores; the
 * partial lines at either end are cached stores, flushed unless @flush is
 * NULL (eADR).  Nothing is fenced here.  Only the CACHELINE and BYTE
 * tables use it: their flushes cannot fail.
 */
static void store_nt(const struct pm_map *m, uint8_t *d, const uint8_t *s,
		     int c, size_t len,
		     int (*flush)(const struct pm_map *, const void *, size_t))
{
	size_t head = PM_MIN((size_t)(-(uintptr_t)d & 63), len);
	size_t body = (len - head) & ~(size_t)63;
	size_t tail = len - head - body;

	if (head) {
		store(d, s, c, head);
		if (flush)
			flush(m, d, head);
		d += head;
		s = s ? s + head : NULL;
	}
	if (body) {
		if (s)
			pm_arch.memcpy_nt(d, s, body);
		else
			pm_arch.memset_nt(d, c, body);
		pm_tls_stats.bytes_nt += body;
		nt_pending = 1;
	}
	if (tail) {
		store(d + body, s ? s + body : NULL, c, tail);
		if (flush)
			flush(m, d + body, tail);
	}
}

/* Whole lines go this many bytes at a time through a cached buffer where
 * the CPU has no copying checksum. */
#define PM_CRC_BOUNCE 4096

/* The cached stores at either end of store_nt_crc(), checksummed as they
 * are stored, then written back. */
static uint32_t store_end_crc(const struct pm_map *m, uint8_t *d,
			      const uint8_t *s, size_t len, uint32_t crc,
			      int (*flush)(const struct pm_map *, const void *,
					   size_t))
{
	crc = pm_crc_copy(crc, d, s, len);
	if (flush && len)
		flush(m, d, len);
	return crc;
}

/*
 * store_nt() of a copy, checksummed on the way (raw CRC32C) over the bytes
 * stored, each byte of the source read once: a source that changes
 * meanwhile (a caller's race) never leaves a checksum that does not match
 * what was written.  The whole lines in one pass where the CPU can, else
 * through a small cached buffer.
 */
static uint32_t store_nt_crc(const struct pm_map *m, uint8_t *d,
			     const uint8_t *s, size_t len, uint32_t crc,
			     int (*flush)(const struct pm_map *, const void *,
					  size_t))
{
	size_t head = PM_MIN((size_t)(-(uintptr_t)d & 63), len);
	size_t body = (len - head) & ~(size_t)63;

	crc = store_end_crc(m, d, s, head, crc, flush);
	d += head;
	s += head;
	if (pm_arch.memcpy_nt_crc32c) {
		crc = pm_arch.memcpy_nt_crc32c(d, s, body, crc);
		pm_tls_stats.bytes_nt += body;
		nt_pending = 1;
	} else {
		for (size_t o = 0, n; o < body; o += n) {
			uint8_t b[PM_CRC_BOUNCE];

			n = PM_MIN(body - o, (size_t)PM_CRC_BOUNCE);
			crc = pm_crc_copy(crc, b, s + o, n);
			store_nt(m, d + o, b, 0, n, flush);
		}
	}
	return store_end_crc(m, d + body, s + body, len - head - body, crc,
			     flush);
}

static void cl_store(const struct pm_map *m, void *dst, const void *src, int c,
		     size_t len, unsigned flags)
{
	if (flags & PM_MEM_NOFLUSH) {
		store(dst, src, c, len);
	} else if (use_nt(len, flags)) {
		store_nt(m, dst, src, c, len, cl_flush);
	} else {
		store(dst, src, c, len);
		cl_flush(m, dst, len);
	}
}

static int cl_memcpy(const struct pm_map *m, void *dst, const void *src,
		     size_t len, unsigned flags)
{
	cl_store(m, dst, src, 0, len, flags);
	return 0;
}

static int cl_memset(const struct pm_map *m, void *dst, int c, size_t len,
		     unsigned flags)
{
	cl_store(m, dst, NULL, c, len, flags);
	return 0;
}

static int cl_memcpy_crc(const struct pm_map *m, void *dst, const void *src,
			 size_t len, unsigned flags, uint32_t *crc)
{
	if (!(flags & PM_MEM_NOFLUSH) && use_nt(len, flags)) {
		*crc = store_nt_crc(m, dst, src, len, *crc, cl_flush);
		return 0;
	}
	*crc = pm_crc_copy(*crc, dst, src, len);
	if (!(flags & PM_MEM_NOFLUSH))
		cl_flush(m, dst, len);
	return 0;
}

const struct pm_persist_ops pm_ops_cacheline = {
	.flush = cl_flush,
	.drain = cl_drain,
	.memcpy = cl_memcpy,
	.memset = cl_memset,
	.memcpy_crc = cl_memcpy_crc,
};

/* ---- BYTE (eADR): caches are persistent, a fence orders ---- */

static int byte_flush(const struct pm_map *m, const void *addr, size_t len)
{
	(void)m;
	(void)addr;
	(void)len;
	return 0;
}

static int byte_drain(const struct pm_map *m)
{
	(void)m;
	fence();
	return 0;
}

/* Caches are durable: non-temporal stores only to spare the cache. */
static void byte_store(const struct pm_map *m, void *dst, const void *src,
		       int c, size_t len, unsigned flags)
{
	if (!(flags & PM_MEM_NOFLUSH) && use_nt(len, flags))
		store_nt(m, dst, src, c, len, NULL);
	else
		store(dst, src, c, len);
}

static int byte_memcpy(const struct pm_map *m, void *dst, const void *src,
		       size_t len, unsigned flags)
{
	byte_store(m, dst, src, 0, len, flags);
	return 0;
}

static int byte_memset(const struct pm_map *m, void *dst, int c, size_t len,
		       unsigned flags)
{
	byte_store(m, dst, NULL, c, len, flags);
	return 0;
}

static int byte_memcpy_crc(const struct pm_map *m, void *dst, const void *src,
			   size_t len, unsigned flags, uint32_t *crc)
{
	if (!(flags & PM_MEM_NOFLUSH) && use_nt(len, flags)) {
		*crc = store_nt_crc(m, dst, src, len, *crc, NULL);
		return 0;
	}
	*crc = pm_crc_copy(*crc, dst, src, len);
	return 0;
}

const struct pm_persist_ops pm_ops_byte = {
	.flush = byte_flush,
	.drain = byte_drain,
	.memcpy = byte_memcpy,
	.memset = byte_memset,
	.memcpy_crc = byte_memcpy_crc,
};

/* ---- PAGE: msync is both write-back and fence ---- */

static int page_flush(const struct pm_map *m, const void *addr, size_t len)
{
	static long pagesz;
	uintptr_t a, end;
	int ret;

	(void)m;
	if (!len)
		return 0;
	if (!pagesz)
		pagesz = sysconf(_SC_PAGESIZE);
	a = PM_ALIGN_DOWN((uintptr_t)addr, (uintptr_t)pagesz);
	end = PM_ALIGN_UP((uintptr_t)addr + len, (uintptr_t)pagesz);
	ret = pm_os_msync((void *)a, end - a, MS_SYNC);
	pm_tls_stats.msyncs++;
	pm_tls_stats.fences++;
	pm_tls_stats.flushes += (end - a) / (uintptr_t)pagesz;
	pm_tls_stats.bytes_flushed += end - a;
	if (ret)
		return pm_err(ret, "msync of %zu bytes failed: %s",
			      (size_t)(end - a), pm_strerror(ret));
	return 0;
}

/* Each msync was its own fence, and reported its own error. */
static int page_drain(const struct pm_map *m)
{
	(void)m;
	return 0;
}

static int page_memcpy(const struct pm_map *m, void *dst, const void *src,
		       size_t len, unsigned flags)
{
	memcpy(dst, src, len);
	return (flags & PM_MEM_NOFLUSH) ? 0 : page_flush(m, dst, len);
}

static int page_memset(const struct pm_map *m, void *dst, int c, size_t len,
		       unsigned flags)
{
	memset(dst, c, len);
	return (flags & PM_MEM_NOFLUSH) ? 0 : page_flush(m, dst, len);
}

static int page_memcpy_crc(const struct pm_map *m, void *dst, const void *src,
			   size_t len, unsigned flags, uint32_t *crc)
{
	*crc = pm_crc_copy(*crc, dst, src, len);
	return (flags & PM_MEM_NOFLUSH) ? 0 : page_flush(m, dst, len);
}

const struct pm_persist_ops pm_ops_page = {
	.flush = page_flush,
	.drain = page_drain,
	.memcpy = page_memcpy,
	.memset = page_memset,
	.memcpy_crc = page_memcpy_crc,
};

const struct pm_persist_ops *pm_persist_ops_for(enum pm_granularity g)
{
	switch (g) {
	case PM_GRANULARITY_BYTE:
		return &pm_ops_byte;
	case PM_GRANULARITY_CACHELINE:
		return &pm_ops_cacheline;
	default:
		return &pm_ops_page;
	}
}
