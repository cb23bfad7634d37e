/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.c - the consistency checker behind pm_pool_check() and pmck.
 *
 * Invariant: a check without PM_CHECK_REPAIR never writes to the file (it
 * is opened O_RDONLY and mapped read-only), and a repair only ever does
 * what opening the pool would do anyway (recovery in pool.c, tx.c, log.c)
 * plus clearing bad blocks, so it never leaves a pool worse than it was.
 *
 * The checker parses nothing itself: headers are judged by pool.c, lanes
 * by tx.c's chain scanner, the log by log.c's record scanner, each through
 * the same function that open and recovery use.  What this file adds is
 * reading the file defensively (pread first, so a poisoned page is an
 * EIO and a finding, never a SIGBUS), the media scan of the data area,
 * and the report.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "log.h"
#include "os.h"
#include "pool.h"
#include "usc.h"
#include "tx.h"

#define SCAN_CHUNK (4UL << 20)
#define SCAN_PAGE 4096UL

struct ck_finding {
	struct pm_check_finding pub;
	char *structure, *message, *repair; /* owned */
};

/* The state of one read-only pass over a file. */
struct ck {
	const char *path;
	unsigned flags;
	int fd;
	uint64_t file_size;
	uint8_t *buf; /* for pread: SCAN_CHUNK, or less for small files */
	size_t buf_size;
	/* the pool as the chosen header copy describes it, mapped read-only */
	struct pm_map *map;
	struct pm_pool view;
	int have_view;
	/* findings */
	struct ck_finding *f;
	size_t nf, cap;
	unsigned nfatal, nrepairable;
	int nomem;
	int unreadable; /* a scan met unreadable pages */
	int unsafe;	/* unsafe shutdown: repair must not acknowledge it */
	/* bad ranges: listed by the device, and found unreadable by pread */
	struct pm_pool_badblock *bbs;
	size_t nbbs;
	struct pm_badblock *clear; /* what repair clears */
	size_t nclear, clear_cap;
	/* progress */
	pm_check_progress_fn progress;
	void *progress_arg;
	uint64_t done, total;
};

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

/* ---- findings ------------------------------------------------------------ */

static void ck_find(struct ck *c, enum pm_check_severity sev,
		    enum pm_area area, const char *structure, uint64_t off,
		    uint64_t len, const char *repair, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static void ck_find(struct ck *c, enum pm_check_severity sev,
		    enum pm_area area, const char *structure, uint64_t off,
		    uint64_t len, const char *repair, const char *fmt, ...)
{
	struct ck_finding *f;
	char msg[256];
	va_list ap;

	if (sev == PM_CHECK_INFO && !(c->flags & PM_CHECK_VERBOSE))
		return;
	if (sev == PM_CHECK_FATAL)
		c->nfatal++;
	else if (sev == PM_CHECK_REPAIRABLE)
		c->nrepairable++;
	if (c->nf == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		void *v = pm_realloc(c->f, cap * sizeof(*c->f));

		if (!v) {
			c->nomem = 1;
			return;
		}
		c->f = v;
		c->cap = cap;
	}
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

static void findings_free(struct ck *c)
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

/* ---- defensive reads ----------------------------------------------------- */

/*
 * Read [off, off+len) of the file into @buf with pread.  Bytes past the end
 * of the file read as zero.  Return 0, -EIO if part of the range is
 * unreadable (poisoned media), or another -errno.
 */
static int ck_pread(struct ck *c, void *buf, uint64_t off, size_t len)
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

static void ck_progress(struct ck *c, uint64_t bytes)
{
	c->done += bytes;
	if (c->done > c->total)
		c->done = c->total;
	if (c->progress)
		c->progress(c->done, c->total, c->progress_arg);
}

/* Report an unreadable range, page by page merged, in @area. */
/* Is [off, off+len) inside a range the device lists as bad? */
static int listed(const struct ck *c, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < c->nbbs; i++)
		if (off >= c->bbs[i].offset &&
		    off + len <= c->bbs[i].offset + c->bbs[i].length)
			return 1;
	return 0;
}

static void to_clear(struct ck *c, uint64_t off, uint64_t len)
{
	if (c->nclear == c->clear_cap) {
		size_t cap = c->clear_cap ? 2 * c->clear_cap : 8;
		void *v = pm_realloc(c->clear, cap * sizeof(*c->clear));

		if (!v) {
			c->nomem = 1;
			return;
		}
		c->clear = v;
		c->clear_cap = cap;
	}
	c->clear[c->nclear++] = (struct pm_badblock){ off, len };
}

static void report_unreadable(struct ck *c, enum pm_area area,
			      const char *structure, uint64_t off,
			      uint64_t len, enum pm_check_severity sev,
			      const char *repair)
{
	c->unreadable = 1;
	if (listed(c, off, len))
		return; /* reported with the device's list */
	to_clear(c, off, len);
	ck_find(c, sev, area, structure, off, len, repair,
		   "%" PRIu64 " bytes cannot be read (media error)", len);
}

/*
 * Find the unreadable pages of [off, off+len), which gave -EIO as a whole,
 * and report each run of them.
 */
static int narrow_eio(struct ck *c, uint8_t *buf, uint64_t off,
		      uint64_t len, enum pm_area area, const char *structure,
		      enum pm_check_severity sev, const char *repair)
{
	uint64_t bad_start = 0, bad_len = 0;

	for (uint64_t p = 0; p < len; p += SCAN_PAGE) {
		size_t n = (size_t)PM_MIN(SCAN_PAGE, len - p);
		int ret = ck_pread(c, buf, off + p, n);

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
static int ck_scan(struct ck *c, uint64_t off, uint64_t len, enum pm_area area,
	       const char *structure, enum pm_check_severity sev,
	       const char *repair, int *badp)
{
	unsigned before = c->unreadable;
	int ret = 0;

	c->unreadable = 0;
	while (len && !ret) {
		size_t n = (size_t)PM_MIN(len, c->buf_size);

		ret = ck_pread(c, c->buf, off, n);
		if (ret == -EIO)
			ret = narrow_eio(c, c->buf, off, n, area, structure,
					 sev, repair);
		ck_progress(c, n);
		off += n;
		len -= n;
	}
	if (badp)
		*badp = c->unreadable;
	c->unreadable |= before;
	return ret;
}

/* ---- headers --------------------------------------------------------------- */

static const uint64_t hdr_offs[2] = { PM_HDR_A_OFF, PM_HDR_B_OFF };

/* Read header copy @i; st/why as pm_hdr_check() gives them. */
static int read_header(struct ck *c, int i, struct pm_hdr *h, const char **why)
{
	int ret = ck_pread(c, h, hdr_offs[i], sizeof(*h));

	if (ret == -EIO) {
		memset(h, 0, sizeof(*h));
		*why = "cannot be read (media error)";
		return PM_E_CORRUPT;
	}
	if (ret)
		return pm_err(ret, "%s: read: %s", c->path, pm_strerror(ret));
	ret = pm_hdr_check(h, c->file_size, why);
	if (hdr_offs[i] >= c->file_size)
		*why = "missing: the file ends before it";
	else if (!pm_range_ok(hdr_offs[i], sizeof(*h), c->file_size))
		*why = "cut short: the file ends inside it";
	return ret;
}

static void report_bad_header(struct ck *c, int i, int st, const char *why,
			      const struct pm_hdr *h, int best)
{
	static const char *const rebuild[2] = {
		"rewrite header A from header B",
		"rewrite header B from header A",
	};
	enum pm_check_severity sev =
		best >= 0 ? PM_CHECK_REPAIRABLE : PM_CHECK_FATAL;
	const char *repair = best >= 0 ? rebuild[i] :
				"none: no valid header copy to rebuild from";

	if (st == PM_E_TRUNCATED)
		ck_find(c, sev, (enum pm_area)i, area_names[i], hdr_offs[i],
			sizeof(*h), repair,
			"file is %" PRIu64 " bytes but pool_size is %" PRIu64,
			c->file_size, pm_le64(h->pool_size));
	else
		ck_find(c, sev, (enum pm_area)i, area_names[i], hdr_offs[i],
			sizeof(*h), repair, "%s", why);
}

/* Both copies valid: open rewrites the older one if they differ at all. */
static void compare_headers(struct ck *c, const struct pm_hdr h[2], int best)
{
	int o = !best;

	if (!memcmp(&h[0], &h[1], sizeof(h[0])))
		return;
	ck_find(c, PM_CHECK_REPAIRABLE, (enum pm_area)o, area_names[o],
		hdr_offs[o], sizeof(h[o]),
		o ? "rewrite header B from header A" :
		    "rewrite header A from header B",
		"valid but older than header %c (gen %" PRIu64 " < %" PRIu64
		")",
		best ? 'B' : 'A', pm_le64(h[o].gen), pm_le64(h[best].gen));
}

/* Map the file read-only and describe it as header copy @h says. */
static int make_view(struct ck *c, const struct pm_hdr *h)
{
	int ret = pm_map_file(c->path, 0, PM_MAP_READONLY, &c->map);

	if (ret)
		return ret;
	memset(&c->view, 0, sizeof(c->view));
	c->view.map = c->map;
	c->view.base = c->map->addr;
	c->view.path = (char *)c->path;
	c->view.hdr = *h;
	pm_pool_fill(&c->view);
	c->have_view = 1;
	return 0;
}

static void ck_view_free(struct ck *c)
{
	pm_unmap(c->map);
	c->map = NULL;
	c->have_view = 0;
}

/*
 * Judge both header copies with pool.c's own checks and choose the copy
 * open would choose.  Return PM_E_NOT_POOL / PM_E_VERSION when the file is
 * not something to check, 0 otherwise (findings say what is wrong; the
 * view is set up only if a copy is valid).
 */
static int ck_headers(struct ck *c)
{
	struct pm_hdr h[2];
	const char *why[2];
	int st[2], best;

	for (int i = 0; i < 2; i++) {
		st[i] = read_header(c, i, &h[i], &why[i]);
		if (st[i] < 0 && st[i] > PM_E_BASE)
			return st[i];
	}
	ck_progress(c, 2 * sizeof(h[0]));
	if (st[0] == PM_E_NOT_POOL && st[1] == PM_E_NOT_POOL)
		return pm_err(PM_E_NOT_POOL,
			      "%s: no pool magic in either header copy",
			      c->path);
	if (st[0] == PM_E_VERSION && st[1] == PM_E_VERSION)
		return pm_err(PM_E_VERSION, "%s: pool format version %u",
			      c->path, pm_le32(h[0].version));
	best = pm_hdr_pick(h, st);
	for (int i = 0; i < 2; i++) {
		if (st[i])
			report_bad_header(c, i, st[i], why[i], &h[i], best);
		else
			ck_find(c, PM_CHECK_INFO, (enum pm_area)i,
				area_names[i], hdr_offs[i], sizeof(h[i]), NULL,
				"valid (gen %" PRIu64 ")", pm_le64(h[i].gen));
	}
	if (best < 0)
		return 0;
	if (!st[0] && !st[1])
		compare_headers(c, h, best);
	return make_view(c, &h[best]);
}

/* ---- lanes ----------------------------------------------------------------- */

static int lane_found(const struct pm_tx_lane_scan *ls, void *arg)
{
	struct ck *c = arg;
	const struct pm_pool *v = &c->view;
	uint64_t off = v->lanes_off + (uint64_t)ls->lane * v->lane_size;
	char what[32];

	snprintf(what, sizeof(what), "lane %u", ls->lane);
	if (ls->hint_bad) {
		ck_find(c, PM_CHECK_FATAL, PM_AREA_LANES, what, off,
			sizeof(struct pm_lane_hdr),
			"none: recovery refuses the pool",
			"hint %" PRIu64 " is outside the lane's ring",
			ls->hint);
		return 0;
	}
	if (ls->orphans)
		ck_find(c, PM_CHECK_FATAL, PM_AREA_LANES, what,
			off + sizeof(struct pm_lane_hdr) + ls->tail,
			ls->orphan_off > ls->tail ? ls->orphan_off - ls->tail :
						    PM_CACHELINE,
			"none: recovery cannot reach them",
			"%" PRIu64 " committed transaction%s from seq %" PRIu64
			" cut off by a damaged entry at the chain's end",
			ls->orphans, ls->orphans == 1 ? "" : "s",
			ls->first_orphan);
	if (ls->pending)
		ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LANES, what,
			off + sizeof(struct pm_lane_hdr) + ls->pending_off,
			v->lane_size - sizeof(struct pm_lane_hdr) -
				ls->pending_off,
			"replay them in seq order, as recovery does",
			"%" PRIu64 " committed transaction%s not yet retired "
			"(seq %" PRIu64 "..%" PRIu64 ")",
			ls->pending, ls->pending == 1 ? "" : "s",
			ls->first_pending, ls->last_pending);
	else if (!ls->orphans)
		ck_find(c, PM_CHECK_INFO, PM_AREA_LANES, what, off,
			v->lane_size, NULL,
			"retired %" PRIu64 ", nothing to replay", ls->retired);
	return 0;
}

/* The lanes through tx.c's own recovery scan, after a media check. */
static void ck_lanes(struct ck *c)
{
	struct pm_pool *v = &c->view;
	uint64_t len = (uint64_t)v->nlanes * v->lane_size, r;
	int bad = 0, ret;

	ret = ck_scan(c, v->lanes_off, len, PM_AREA_LANES, "lanes",
		      PM_CHECK_REPAIRABLE,
		      "clear the bad block; transactions in it are lost",
		      &bad);
	if (ret || bad)
		return;
	ret = pm_tx_scan(v, &r, lane_found, c);
	if (ret)
		ck_find(c, PM_CHECK_FATAL, PM_AREA_LANES, "lanes", v->lanes_off,
			len, NULL, "cannot be scanned: %s", pm_strerror(ret));
}

/* ---- the log ----------------------------------------------------------------- */

static int blank(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return 0;
	return 1;
}

static void log_slots(struct ck *c, const struct pm_log_scan *s)
{
	const struct pm_log_hdr *h = pm_pool_at(&c->view, c->view.log_off);

	for (int i = 0; i < 2; i++) {
		char what[32], repair[64];

		/* A slot that was never written is all zero. */
		if (s->slot_ok[i] || blank(&h->slot[i], sizeof(h->slot[i])))
			continue;
		snprintf(what, sizeof(what), "log header slot %d", i);
		snprintf(repair, sizeof(repair),
			 "recovery rewrites it from slot %d", !i);
		ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LOG, what,
			c->view.log_off + i * sizeof(h->slot[i]),
			sizeof(h->slot[i]), repair,
			"checksum or fields wrong (slot %d, gen %" PRIu64
			", is used)",
			!i, s->gen);
	}
}

static void log_chain(struct ck *c, const struct pm_log_scan *s)
{
	uint64_t ring = c->view.log_off + sizeof(struct pm_log_hdr);
	char repair[96];

	if (s->torn_off != UINT64_MAX) {
		snprintf(repair, sizeof(repair),
			 "drop it: the log ends at seq %" PRIu64,
			 s->next_seq - 1);
		ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LOG, "log record",
			ring + s->torn_off, sizeof(struct pm_log_rec), repair,
			"record seq %" PRIu64 " after the last valid one fails "
			"its checks (a torn append, or damage)",
			s->next_seq);
	}
	ck_find(c, PM_CHECK_INFO, PM_AREA_LOG, "log", c->view.log_off,
		c->view.log_size, NULL,
		"%" PRIu64 " records (seq %" PRIu64 "..%" PRIu64 "), %" PRIu64
		" of %" PRIu64 " ring bytes used, gen %" PRIu64,
		s->next_seq - s->first_seq, s->first_seq, s->next_seq - 1,
		s->used, s->cap, s->gen);
}

/* The log through log.c's own recovery scan, after a media check. */
static void ck_log(struct ck *c)
{
	const struct pm_pool *v = &c->view;
	struct pm_log_scan s;
	int bad = 0, ret;

	if (!v->log_size)
		return;
	ret = ck_scan(c, v->log_off, v->log_size, PM_AREA_LOG, "log",
		      PM_CHECK_REPAIRABLE,
		      "clear the bad block; records in it are lost", &bad);
	if (ret || bad)
		return;
	ret = pm_log_area_scan(pm_pool_at(v, v->log_off), v->log_size,
			       v->seed, &s);
	if (ret) {
		ck_find(c, PM_CHECK_FATAL, PM_AREA_LOG, "log", v->log_off,
			v->log_size, NULL, "cannot be scanned: %s",
			pm_strerror(ret));
		return;
	}
	if (s.slot < 0) {
		ck_find(c, PM_CHECK_FATAL, PM_AREA_LOG, "log header",
			v->log_off, sizeof(struct pm_log_hdr),
			"none: the pool cannot be opened",
			"neither header slot is valid");
		return;
	}
	log_slots(c, &s);
	log_chain(c, &s);
}

/* ---- bad blocks and shutdown state ------------------------------------------ */

static const char *bb_repair(enum pm_area area)
{
	switch (area) {
	case PM_AREA_HEADER_A:
		return "clear it; header A is rewritten from header B";
	case PM_AREA_HEADER_B:
		return "clear it; header B is rewritten from header A";
	case PM_AREA_LANES:
		return "clear it; its bytes are lost: transactions there are "
		       "not replayed";
	case PM_AREA_LOG:
		return "clear it; its bytes are lost: the log ends before them";
	case PM_AREA_DATA:
		return "clear it; its bytes are lost and read as zero";
	default:
		return "clear it; nothing is lost";
	}
}

/* The bad blocks the device reports, named by the structure they hit
 * (bbmap.c does the mapping).  A list that cannot be had for another
 * reason than "the device cannot tell" stops the check. */
static int ck_badblocks(struct ck *c)
{
	int ret = pm_pool_badblocks_list(c->path, &c->bbs, &c->nbbs);

	if (ret == -ENOTSUP) {
		ck_find(c, PM_CHECK_INFO, PM_AREA_NONE, "bad blocks", 0, 0,
			NULL, "the device cannot report them");
		return 0;
	}
	if (ret)
		return pm_err(ret, "%s: bad blocks cannot be listed: %s",
			      c->path, pm_strerror(ret));
	for (size_t i = 0; i < c->nbbs; i++) {
		const struct pm_pool_badblock *b = &c->bbs[i];
		char what[48];

		if (b->area == PM_AREA_LANES)
			snprintf(what, sizeof(what), "bad block in lane %u",
				 b->lane);
		else
			snprintf(what, sizeof(what), "bad block in %s",
				 pm_check_area_name(b->area));
		to_clear(c, b->offset, b->length);
		ck_find(c, PM_CHECK_REPAIRABLE, b->area, what, b->offset,
			b->length, bb_repair(b->area),
			"%" PRIu64 " bytes the device reports unreadable",
			b->length);
	}
	if (!c->nbbs)
		ck_find(c, PM_CHECK_INFO, PM_AREA_NONE, "bad blocks", 0, 0,
			NULL, "none reported by the device");
	return 0;
}

/* usc.c's judgement of the unsafe-shutdown record in the header. */
static void ck_shutdown(struct ck *c)
{
	const struct pm_hdr *h = &c->view.hdr;
	uint64_t usc = 0, id = 0;
	int rret = pm_usc_read(c->fd, &usc, &id);

	switch (pm_usc_judge(h, rret, usc, id)) {
	case PM_SHUTDOWN_DIRTY:
		c->unsafe = 1;
		ck_find(c, PM_CHECK_FATAL, PM_AREA_HEADER_A, "shutdown state",
			offsetof(struct pm_hdr, usc), 24,
			"none: verify the data, then open the pool once with "
			"PM_POOL_IGNORE_SHUTDOWN",
			"the DIMMs' dirty-shutdown count went from %" PRIu64
			" to %" PRIu64 " while the pool was open: data made "
			"durable may be lost",
			pm_le64(h->usc), usc);
		return;
	case PM_SHUTDOWN_UNSUPPORTED:
		ck_find(c, PM_CHECK_INFO, PM_AREA_HEADER_A, "shutdown state",
			offsetof(struct pm_hdr, usc), 24, NULL,
			"the platform cannot tell%s",
			h->dirty ? "; the pool was not closed" : "");
		return;
	default:
		ck_find(c, PM_CHECK_INFO, PM_AREA_HEADER_A, "shutdown state",
			offsetof(struct pm_hdr, usc), 24, NULL, "%s%s",
			rret ? "counters unreadable" : "no unsafe shutdown",
			h->dirty ? "; the pool was not closed" : "");
	}
}

/* ---- the file ------------------------------------------------------------ */

static int ck_open(struct ck *c)
{
	struct stat st;
	int ret;

	c->fd = pm_os_open(c->path, O_RDONLY, 0);
	if (c->fd < 0)
		return pm_err(c->fd, "%s: %s", c->path, pm_strerror(c->fd));
	if (fstat(c->fd, &st)) {
		ret = -errno;
		return pm_err(ret, "%s: stat: %s", c->path, pm_strerror(ret));
	}
	if (!S_ISREG(st.st_mode))
		return pm_err(-EINVAL, "%s: not a regular file", c->path);
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

static void ck_close(struct ck *c)
{
	ck_view_free(c);
	pm_free(c->buf);
	c->buf = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* ---- one pass ------------------------------------------------------------ */

static void scan_data(struct ck *c)
{
	const struct pm_pool *v = &c->view;
	int ret;

	ret = ck_scan(c, v->data_off, v->data_size, PM_AREA_DATA,
			 "data area", PM_CHECK_REPAIRABLE,
			 "clear the bad block; its bytes are lost and read "
			 "as zero",
			 NULL);
	if (ret)
		ck_find(c, PM_CHECK_FATAL, PM_AREA_DATA, "data area",
			   v->data_off, v->data_size, NULL,
			   "cannot be read: %s", pm_strerror(ret));
	else
		ck_find(c, PM_CHECK_INFO, PM_AREA_DATA, "data area",
			   v->data_off, v->data_size, NULL,
			   "%" PRIu64 " bytes read", v->data_size);
}

/*
 * One read-only pass over the file: headers, then (if a header copy is
 * usable) lanes, log, bad blocks and the data area.  Return 0 when the
 * pass ran (findings say what it found), or a negative code when the file
 * could not be checked at all.
 */
static int ck_pass(struct ck *c)
{
	int ret;

	c->done = 0;
	c->total = c->file_size;
	ret = ck_open(c);
	if (ret)
		return ret;
	ret = ck_headers(c);
	if (ret || !c->have_view)
		return ret;
	c->total = c->view.pool_size;
	ck_shutdown(c);
	ret = ck_badblocks(c);
	if (ret)
		return ret;
	ck_lanes(c);
	ck_log(c);
	scan_data(c);
	if (c->nomem)
		return pm_err(-ENOMEM, "%s: out of memory", c->path);
	return 0;
}

/* ---- reporting and repair ------------------------------------------------ */

/*
 * Repair = clearing bad blocks (badblocks.c, which also rebuilds a header
 * copy on one), then recovery: open the pool (header rewrite, transaction
 * replay, torn log tail) and close it cleanly (everything retired).  The
 * file is not open here: the read-only pass has closed it.
 */
static int ck_repair(struct ck *c)
{
	struct pm_pool *pool;
	uint64_t lost = 0;
	int ret;

	for (size_t i = 0; i < c->nclear; i++) {
		ret = pm_badblocks_clear(c->path, &c->clear[i]);
		if (ret)
			return ret;
		lost += c->clear[i].length;
	}
	if (lost)
		pm_warn("%s: %" PRIu64 " bytes on bad blocks cleared: their "
			"contents are lost", c->path, lost);
	/* An unsafe shutdown is for the user to acknowledge, not us. */
	ret = pm_pool_open(c->path,
			   PM_POOL_IGNORE_BADBLOCKS |
				   (c->unsafe ? 0 : PM_POOL_IGNORE_SHUTDOWN),
			   &pool);
	if (ret)
		return ret;
	pm_pool_close(pool);
	return 0;
}

static int same_finding(const struct ck_finding *a,
			const struct ck_finding *b)
{
	return a->pub.area == b->pub.area && a->pub.offset == b->pub.offset &&
	       !strcmp(a->structure, b->structure) &&
	       !strcmp(a->message, b->message);
}

static int still_there(const struct ck *after,
		       const struct ck_finding *f)
{
	for (size_t i = 0; i < after->nf; i++)
		if (same_finding(&after->f[i], f))
			return 1;
	return 0;
}

static int emit(const struct pm_check_opts *o, struct ck_finding *f)
{
	f->pub.structure = f->structure;
	f->pub.message = f->message;
	f->pub.repair = f->repair;
	if (o->cb && o->cb(&f->pub, o->arg))
		return -ECANCELED;
	return 0;
}

/* Report the first pass, marking what the second pass no longer sees. */
static int emit_all(const struct pm_check_opts *o, struct ck *before,
		    struct ck *after)
{
	for (size_t i = 0; i < before->nf; i++) {
		struct ck_finding *f = &before->f[i];

		if (after && f->pub.severity != PM_CHECK_INFO)
			f->pub.repaired = !still_there(after, f);
		if (emit(o, f))
			return -ECANCELED;
	}
	if (!after)
		return 0;
	for (size_t i = 0; i < after->nf; i++) {
		struct ck_finding *f = &after->f[i];

		if (f->pub.severity != PM_CHECK_INFO &&
		    !still_there(before, f) && emit(o, f))
			return -ECANCELED;
	}
	return 0;
}

static void ck_init(struct ck *c, const char *path,
		    const struct pm_check_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->fd = -1;
	c->flags = o->flags;
	c->progress = o->progress;
	c->progress_arg = o->progress_arg;
}

static int ck_damaged(const struct ck *c)
{
	return c->nfatal || c->nrepairable;
}

/* Check, repair if asked and needed, check again; report; free. */
static int ck_run(const char *path, const struct pm_check_opts *o)
{
	struct ck first, second;
	struct ck *after = NULL;
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
	return ck_run(path, o);
}

/**
 * pm_pool_check - check and optionally repair a pool file
 * @path: the pool file; it must not be open
 * @flags: PM_CHECK_REPAIR, PM_CHECK_VERBOSE
 * @cb: called once per finding (may be NULL); non-zero stops the check
 * @arg: passed to @cb
 *
 * Checks both header copies, every lane, the log, the bad blocks and the
 * readability of every byte of the pool.  Without PM_CHECK_REPAIR the file
 * is not written.  With it, damage that recovery can fix is fixed by the
 * same code that pm_pool_open() runs, bad blocks are cleared, and the file
 * is checked again; each finding then says whether it was repaired.
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
