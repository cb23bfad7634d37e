/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check_scan.c - the state of one checker pass over a pool file: the file
 * opened read-only, defensive reads, progress, and the list of findings
 * and of ranges repair will clear.  A scan reads the file with preads of
 * 4 MiB: a poisoned page is an EIO and a finding, never a SIGBUS.  Loads
 * through a mapping would copy nothing, but pay a page walk per 4 KiB
 * page: on a VM with nested paging the scan of a 1 GiB pool took 660 ms
 * that way, 81 ms with pread (pmbench).  A device-dax device, which has
 * no read(2), is read through SIGBUS-safe copies (safe.c).
 * Used by check_area.c (each structure) and check.c (the passes, repair,
 * reporting); it calls neither.
 *
 * Invariant: nothing here writes to the file; it is opened O_RDONLY.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_scan.h"
#include "internal.h"
#include "map.h"
#include "os.h"
#include "safe.h"

#define SCAN_CHUNK (4UL << 20)
#define SCAN_PAGE 4096UL

/* ---- findings ---------------------------------------------------------- */

void pm_ck_find(struct pm_ck *c, enum pm_check_severity sev, enum pm_area area,
		const char *structure, uint64_t off, uint64_t len,
		const char *repair, const char *fmt, ...)
{
	struct pm_ck_finding *f;
	char msg[256];
	va_list ap;
	void *v;

	if (sev == PM_CHECK_INFO && !(c->flags & PM_CHECK_VERBOSE))
		return;
	if (sev == PM_CHECK_FATAL) {
		c->nfatal++;
		c->fatal_areas |= 1U << area;
	} else if (sev == PM_CHECK_REPAIRABLE)
		c->nrepairable++;
	v = pm_grow(c->f, &c->cap, c->nf, sizeof(*c->f), 16);
	if (!v) {
		c->nomem = 1;
		return;
	}
	c->f = v;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = &c->f[c->nf];
	memset(f, 0, sizeof(*f));
	f->pub.severity = sev;
	f->pub.area = area;
	f->pub.offset = off;
	f->pub.length = len;
	f->structure = pm_strdup(structure);
	f->message = pm_strdup(msg);
	f->repair = pm_strdup(repair ? repair : "none");
	if (!f->structure || !f->message || !f->repair) {
		pm_free(f->structure);
		pm_free(f->message);
		pm_free(f->repair);
		c->nomem = 1;
		return;
	}
	c->nf++;
}

void pm_ck_findings_free(struct pm_ck *c)
{
	pm_pool_badblocks_free(c->bbs);
	c->bbs = NULL;
	c->nbbs = 0;
	pm_free(c->clear);
	c->clear = NULL;
	c->nclear = c->clear_cap = 0;
	for (size_t i = 0; i < c->nf; i++) {
		pm_free(c->f[i].structure);
		pm_free(c->f[i].message);
		pm_free(c->f[i].repair);
	}
	pm_free(c->f);
	c->f = NULL;
	c->nf = c->cap = 0;
}

/* ---- defensive reads --------------------------------------------------- */

/*
 * Read [off, off+len) of the file into @buf with pread.  Bytes past the end
 * of the file read as zero.  Return 0, -EIO if part of the range is
 * unreadable (poisoned media), or another -errno.
 */
int pm_ck_pread(struct pm_ck *c, void *buf, uint64_t off, size_t len)
{
	uint8_t *p = buf;

	if (c->dax) {
		size_t n = off < c->file_size ?
				   (size_t)PM_MIN(len, c->file_size - off) :
				   0;

		memset(p + n, 0, len - n);
		return n ? pm_read_safe(c->dax, p, c->dax->addr + off, n) : 0;
	}
	while (len) {
		ssize_t n = pread(c->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

void pm_ck_progress(struct pm_ck *c, uint64_t bytes)
{
	c->done += bytes;
	if (c->done > c->total)
		c->done = c->total;
	if (c->progress)
		c->progress(c->done, c->total, c->progress_arg);
}

/* Is [off, off+len) inside a range the device lists as bad? */
static int listed(const struct pm_ck *c, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < c->nbbs; i++)
		if (off >= c->bbs[i].offset &&
		    off + len <= c->bbs[i].offset + c->bbs[i].length)
			return 1;
	return 0;
}

void pm_ck_to_clear(struct pm_ck *c, uint64_t off, uint64_t len)
{
	void *v = pm_grow(c->clear, &c->clear_cap, c->nclear, sizeof(*c->clear),
			  8);

	if (!v) {
		c->nomem = 1;
		return;
	}
	c->clear = v;
	c->clear[c->nclear++] = (struct pm_badblock){ off, len };
}

/* Report an unreadable range, unless the device lists it already. */
static void report_unreadable(struct pm_ck *c, enum pm_area area,
			      const char *structure, uint64_t off, uint64_t len,
			      enum pm_check_severity sev, const char *repair)
{
	c->unreadable = 1;
	if (listed(c, off, len))
		return; /* reported with the device's list */
	pm_ck_to_clear(c, off, len);
	pm_ck_find(c, sev, area, structure, off, len, repair,
		   "%" PRIu64 " bytes cannot be read (media error)", len);
}

/*
 * Find the unreadable pages of [off, off+len), which gave -EIO as a whole,
 * and report each run of them.
 */
static int narrow_eio(struct pm_ck *c, uint8_t *buf, uint64_t off, uint64_t len,
		      enum pm_area area, const char *structure,
		      enum pm_check_severity sev, const char *repair)
{
	uint64_t bad_start = 0, bad_len = 0;

	for (uint64_t p = 0; p < len; p += SCAN_PAGE) {
		size_t n = (size_t)PM_MIN(SCAN_PAGE, len - p);
		int ret = pm_ck_pread(c, buf, off + p, n);

		if (ret && ret != -EIO)
			return ret;
		if (ret == -EIO) {
			if (!bad_len)
				bad_start = off + p;
			bad_len += n;
			continue;
		}
		if (bad_len)
			report_unreadable(c, area, structure, bad_start,
					  bad_len, sev, repair);
		bad_len = 0;
	}
	if (bad_len)
		report_unreadable(c, area, structure, bad_start, bad_len, sev,
				  repair);
	return 0;
}

/* Read [off, off+n) with one pread; an unreadable part is narrowed to
 * its pages and reported. */
static int scan_chunk(struct pm_ck *c, uint64_t off, size_t n,
		      enum pm_area area, const char *structure,
		      enum pm_check_severity sev, const char *repair)
{
	int ret = pm_ck_pread(c, c->buf, off, n);

	if (ret == -EIO)
		ret = narrow_eio(c, c->buf, off, n, area, structure, sev,
				 repair);
	return ret;
}

/*
 * Read every byte of [off, off+len) and report unreadable pages.  Return
 * 0 (even with findings), or -errno if the file could not be read at all.
 * *badp (if given) is set when some part was unreadable.
 */
int pm_ck_scan(struct pm_ck *c, uint64_t off, uint64_t len, enum pm_area area,
	       const char *structure, enum pm_check_severity sev,
	       const char *repair, int *badp)
{
	unsigned before = c->unreadable;
	int ret = 0;

	c->unreadable = 0;
	while (len && !ret) {
		size_t n = (size_t)PM_MIN(len, c->buf_size);

		ret = scan_chunk(c, off, n, area, structure, sev, repair);
		pm_ck_progress(c, n);
		off += n;
		len -= n;
	}
	if (badp)
		*badp = c->unreadable;
	c->unreadable |= before;
	return ret;
}

/* ---- the file ---------------------------------------------------------- */

int pm_ck_open(struct pm_ck *c)
{
	struct stat st;
	int ret;

	c->fd = pm_os_open_file(c->path, O_RDONLY, 0, PM_OS_DEV);
	if (c->fd < 0)
		return c->fd;
	if (fstat(c->fd, &st)) {
		ret = -errno;
		return pm_err(ret, "%s: stat: %s", c->path, pm_strerror(ret));
	}
	c->file_size = (uint64_t)st.st_size;
	if (S_ISCHR(st.st_mode)) {
		ret = pm_map_file(c->path, 0, PM_MAP_READONLY, &c->dax);
		if (ret)
			return ret;
		c->file_size = c->dax->size;
	}
	ret = pm_safe_install();
	if (ret)
		return ret;
	ret = pm_os_flock(c->fd, LOCK_SH | LOCK_NB);
	if (ret == -EWOULDBLOCK)
		return pm_err(-EBUSY, "%s: the pool is open in another process",
			      c->path);
	if (ret)
		return pm_err(ret, "%s: flock: %s", c->path, pm_strerror(ret));
	c->buf_size = (size_t)PM_MIN(SCAN_CHUNK,
				     PM_ALIGN_UP(c->file_size, SCAN_PAGE));
	c->buf = pm_malloc(c->buf_size);
	if (!c->buf)
		return pm_err(-ENOMEM, "%s: out of memory", c->path);
	return 0;
}

void pm_ck_close(struct pm_ck *c)
{
	pm_free(c->buf);
	c->buf = NULL;
	pm_unmap(c->dax);
	c->dax = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
