/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.c - the consistency checker behind pm_pool_check() and pmck.
 *
 * Invariant: a check without PM_CHECK_REPAIR never writes to the file (it
 * is opened O_RDONLY and mapped read-only), and a repair only ever does
 * what opening the pool would do anyway (recovery in pool.c, txrecov.c, log.c)
 * plus clearing bad blocks, and nothing of it in an area with a fatal
 * finding, so it never leaves a pool worse than it was.  Only
 * PM_CHECK_DISCARD_DAMAGED drops committed data, and says what.
 *
 * The checker parses nothing itself: headers are judged by pool.c, lanes
 * by txrecov.c's chain scanner, the log by log.c's record scanner, each through
 * the same function that open and recovery use (check_area.c turns their
 * answers into findings).  This file reads the file defensively (pread
 * first, so a poisoned page is an EIO and a finding, never a SIGBUS),
 * runs the passes, repairs, and reports.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PM_CHECK_INTERNALS 1
#include "check.h"
#include "internal.h"
#include "os.h"

#define SCAN_CHUNK (4UL << 20)
#define SCAN_PAGE 4096UL

static const char *const area_names[] = {
	[PM_AREA_HEADER_A] = "header A", [PM_AREA_HEADER_B] = "header B",
	[PM_AREA_LANES] = "lanes",	 [PM_AREA_LOG] = "log",
	[PM_AREA_DATA] = "data",	 [PM_AREA_NONE] = "none",
};

const char *pm_check_area_name(enum pm_area area)
{
	return (unsigned)area < PM_ARRAY_SIZE(area_names) ? area_names[area] :
							    "?";
}

/* ---- findings ---------------------------------------------------------- */

void pm_ck_find(struct pm_ck *c, enum pm_check_severity sev,
		enum pm_area area, const char *structure, uint64_t off,
		uint64_t len, const char *repair, const char *fmt, ...)
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
	}
	else if (sev == PM_CHECK_REPAIRABLE)
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

static void findings_free(struct pm_ck *c)
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

/* Report an unreadable range, page by page merged, in @area. */
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
	void *v = pm_grow(c->clear, &c->clear_cap, c->nclear,
			  sizeof(*c->clear), 8);

	if (!v) {
		c->nomem = 1;
		return;
	}
	c->clear = v;
	c->clear[c->nclear++] = (struct pm_badblock){ off, len };
}

static void report_unreadable(struct pm_ck *c, enum pm_area area,
			      const char *structure, uint64_t off,
			      uint64_t len, enum pm_check_severity sev,
			      const char *repair)
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
static int narrow_eio(struct pm_ck *c, uint8_t *buf, uint64_t off,
		      uint64_t len, enum pm_area area, const char *structure,
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

/*
 * Read every byte of [off, off+len) and report unreadable pages.  Return
 * 0 (even with findings), or -errno if the file could not be read at all.
 * *badp (if given) is set when some part was unreadable.
 */
int pm_ck_scan(struct pm_ck *c, uint64_t off, uint64_t len,
	       enum pm_area area, const char *structure,
	       enum pm_check_severity sev, const char *repair, int *badp)
{
	unsigned before = c->unreadable;
	int ret = 0;

	c->unreadable = 0;
	while (len && !ret) {
		size_t n = (size_t)PM_MIN(len, c->buf_size);

		ret = pm_ck_pread(c, c->buf, off, n);
		if (ret == -EIO)
			ret = narrow_eio(c, c->buf, off, n, area, structure,
					 sev, repair);
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

static int ck_open(struct pm_ck *c)
{
	struct stat st;
	int ret;

	c->fd = pm_os_open_file(c->path, O_RDONLY, 0, 0);
	if (c->fd < 0)
		return c->fd;
	if (fstat(c->fd, &st)) {
		ret = -errno;
		return pm_err(ret, "%s: stat: %s", c->path, pm_strerror(ret));
	}
	c->file_size = (uint64_t)st.st_size;
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

static void ck_close(struct pm_ck *c)
{
	pm_ck_view_free(c);
	pm_free(c->buf);
	c->buf = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* ---- one pass ---------------------------------------------------------- */
/*
 * One read-only pass over the file: headers, then (if a header copy is
 * usable) lanes, log, bad blocks and the data area.  Return 0 when the
 * pass ran (findings say what it found), or a negative code when the file
 * could not be checked at all.
 */
static int ck_pass(struct pm_ck *c)
{
	int ret;

	c->done = 0;
	c->total = c->file_size;
	ret = ck_open(c);
	if (ret)
		return ret;
	ret = pm_ck_headers(c);
	if (ret || !c->have_view)
		return ret;
	c->total = c->view.pool_size;
	pm_ck_shutdown(c);
	ret = pm_ck_badblocks(c);
	if (ret)
		return ret;
	pm_ck_lanes(c);
	pm_ck_log(c);
	pm_ck_data(c);
	if (c->nomem)
		return pm_err(-ENOMEM, "%s: out of memory", c->path);
	return 0;
}

/* ---- reporting and repair ---------------------------------------------- */

/* The area of the pool that file offset @off is in. */
static enum pm_area area_at(const struct pm_ck *c, uint64_t off)
{
	const struct pm_pool *v = &c->view;

	if (off < PM_HDR_B_OFF)
		return PM_AREA_HEADER_A;
	if (off < v->lanes_off)
		return PM_AREA_HEADER_B;
	if (off < v->lanes_off + (uint64_t)v->nlanes * v->lane_size)
		return PM_AREA_LANES;
	if (v->log_size && off >= v->log_off && off < v->log_off + v->log_size)
		return PM_AREA_LOG;
	return PM_AREA_DATA;
}

/* Recovery touches lanes and log: with damage there that it must not
 * repair, the pool is not opened (unless discarding was asked for). */
#define RECOVERY_AREAS ((1U << PM_AREA_LANES) | (1U << PM_AREA_LOG))

/* Open through recovery; when discarding, report what was dropped. */
static int ck_recover(struct pm_ck *c)
{
	struct pm_pool *pool;
	const struct pm_tx_drop *d;
	int ret = pm_pool_open_discard(c->path, PM_POOL_IGNORE_BADBLOCKS |
					       PM_POOL_IGNORE_SHUTDOWN, &pool);

	if (ret)
		return ret;
	d = &pool->tx_dropped;
	if (d->n)
		pm_ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LANES, "lanes",
			   pool->lanes_off, (uint64_t)pool->nlanes *
			   pool->lane_size, "discarded (--discard-damaged)",
			   "discarded %" PRIu64 " committed transaction%s (seq "
			   "%" PRIu64 "..%" PRIu64 ", %" PRIu64 " bytes)", d->n,
			   d->n == 1 ? "" : "s", d->first, d->last, d->bytes);
	pm_pool_close(pool);
	return 0;
}

/*
 * Repair = clearing bad blocks (badblocks.c, which also rebuilds a header
 * copy on one), then recovery: open the pool (header rewrite, transaction
 * replay, torn log tail) and close it cleanly (everything retired).  An
 * area with a fatal finding is left alone: no block in it is cleared and
 * recovery, which would write there, does not run.  Only with
 * PM_CHECK_DISCARD_DAMAGED (then no finding is fatal) may recovery drop
 * committed data, and it says what.  The file is not open here: the
 * read-only pass has closed it.
 */
static int ck_repair(struct pm_ck *c)
{
	struct pm_pool *pool;
	uint64_t lost = 0;
	int ret;

	for (size_t i = 0; i < c->nclear; i++) {
		if (c->fatal_areas & (1U << area_at(c, c->clear[i].offset)))
			continue;
		ret = pm_badblocks_clear(c->path, &c->clear[i]);
		if (ret)
			return ret;
		lost += c->clear[i].length;
	}
	if (lost)
		pm_warn("%s: %" PRIu64 " bytes on bad blocks cleared: their "
			"contents are lost", c->path, lost);
	/* An unsafe shutdown is for the user to acknowledge, not us: open
	 * would refuse, and opening with IGNORE would acknowledge it.  The
	 * finding stays fatal and the rest waits for the user. */
	if (c->unsafe || (c->fatal_areas & RECOVERY_AREAS))
		return 0;
	if (c->flags & PM_CHECK_DISCARD_DAMAGED)
		return ck_recover(c);
	ret = pm_pool_open(c->path,
			   PM_POOL_IGNORE_BADBLOCKS | PM_POOL_IGNORE_SHUTDOWN,
			   &pool);
	if (ret)
		return ret;
	pm_pool_close(pool);
	return 0;
}

static int same_finding(const struct pm_ck_finding *a,
			const struct pm_ck_finding *b)
{
	return a->pub.area == b->pub.area && a->pub.offset == b->pub.offset &&
	       !strcmp(a->structure, b->structure) &&
	       !strcmp(a->message, b->message);
}

static int still_there(const struct pm_ck *after,
		       const struct pm_ck_finding *f)
{
	for (size_t i = 0; i < after->nf; i++)
		if (same_finding(&after->f[i], f))
			return 1;
	return 0;
}

static int emit(const struct pm_check_opts *o, struct pm_ck_finding *f)
{
	f->pub.structure = f->structure;
	f->pub.message = f->message;
	f->pub.repair = f->repair;
	if (o->cb && o->cb(&f->pub, o->arg))
		return -ECANCELED;
	return 0;
}

/* Report the first pass, marking what the second pass no longer sees. */
static int emit_all(const struct pm_check_opts *o, struct pm_ck *before,
		    struct pm_ck *after)
{
	for (size_t i = 0; i < before->nf; i++) {
		struct pm_ck_finding *f = &before->f[i];

		if (after && f->pub.severity != PM_CHECK_INFO)
			f->pub.repaired = !still_there(after, f);
		if (emit(o, f))
			return -ECANCELED;
	}
	if (!after)
		return 0;
	for (size_t i = 0; i < after->nf; i++) {
		struct pm_ck_finding *f = &after->f[i];

		if (f->pub.severity != PM_CHECK_INFO &&
		    !still_there(before, f) && emit(o, f))
			return -ECANCELED;
	}
	return 0;
}

static void ck_init(struct pm_ck *c, const char *path,
		    const struct pm_check_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->fd = -1;
	c->flags = o->flags;
	c->progress = o->progress;
	c->progress_arg = o->progress_arg;
}

static int ck_damaged(const struct pm_ck *c)
{
	return c->nfatal || c->nrepairable;
}

/* Check, repair if asked and needed, check again; report; free. */
static int ck_run(const char *path, const struct pm_check_opts *o)
{
	struct pm_ck first, second;
	struct pm_ck *after = NULL;
	int ret, rret = 0;

	ck_init(&first, path, o);
	ret = ck_pass(&first);
	ck_close(&first);
	if (ret)
		goto out;
	if ((o->flags & PM_CHECK_REPAIR) && first.nrepairable) {
		rret = ck_repair(&first);
		ck_init(&second, path, o);
		second.flags &= ~PM_CHECK_VERBOSE;
		second.progress = NULL;
		ret = ck_pass(&second);
		ck_close(&second);
		if (ret) {
			findings_free(&second);
			goto out;
		}
		after = &second;
		if (rret)
			pm_warn("%s: repair incomplete: %s", path,
				pm_strerror(rret));
	}
	ret = emit_all(o, &first, after);
	if (!ret && ck_damaged(after ? after : &first))
		ret = PM_E_CORRUPT;
	/* A repair that failed (out of memory, write-back error) is not a
	 * verdict on the pool, and what the second pass read may not be
	 * durable: the repair's error is the answer. */
	if (rret && (!ret || ret == PM_E_CORRUPT))
		ret = rret;
	if (after)
		findings_free(after);
out:
	findings_free(&first);
	return ret;
}

int pm_check_run(const char *path, const struct pm_check_opts *o)
{
	if (!path || !o)
		return pm_err(-EINVAL, "pm_pool_check: NULL argument");
	if (o->flags & ~PM_CHECK_VALID)
		return pm_err(-EINVAL, "pm_pool_check: unknown flags 0x%x",
			      o->flags & ~PM_CHECK_VALID);
	if ((o->flags & PM_CHECK_DISCARD_DAMAGED) &&
	    !(o->flags & PM_CHECK_REPAIR))
		return pm_err(-EINVAL, "pm_pool_check: "
			      "PM_CHECK_DISCARD_DAMAGED without "
			      "PM_CHECK_REPAIR");
	return ck_run(path, o);
}

/**
 * pm_pool_check - check and optionally repair a pool file
 * @path: the pool file; it must not be open
 * @flags: PM_CHECK_REPAIR, PM_CHECK_VERBOSE, PM_CHECK_DISCARD_DAMAGED
 * @cb: called once per finding (may be NULL); non-zero stops the check
 * @arg: passed to @cb
 *
 * Checks both header copies, every lane, the log, the bad blocks and the
 * readability of every byte of the pool.  Without PM_CHECK_REPAIR the file
 * is not written.  With it, damage that recovery can fix is fixed by the
 * same code that pm_pool_open() runs, bad blocks are cleared, and the file
 * is checked again; each finding then says whether it was repaired.  An
 * area with a fatal finding is not touched.  PM_CHECK_DISCARD_DAMAGED
 * (with PM_CHECK_REPAIR) also repairs what costs committed transactions
 * or acknowledged log records, dropping them, and a finding says how many
 * (seqs, bytes); a gap marker keeps dropped log seqs from being issued
 * again.
 *
 * Return: 0 if the pool is consistent (clean or repaired), PM_E_CORRUPT if
 * damage remains, -ECANCELED if @cb stopped the check, the repair's error
 * if repairing failed, PM_E_NOT_POOL and other negative codes if the file
 * could not be checked.
 */
PM_EXPORT int pm_pool_check(const char *path, unsigned flags, pm_check_cb cb,
			    void *arg)
{
	struct pm_check_opts o = { .flags = flags, .cb = cb, .arg = arg };

	return pm_check_run(path, &o);
}
