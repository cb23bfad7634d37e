/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.c - the consistency checker behind pm_pool_check() and pmck;
 * its interface is public (libpm.h).
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
 * answers into findings; check_scan.c reads the file defensively).  This
 * file runs the passes, repairs, and reports.
 */
#include <inttypes.h>
#include <stddef.h>

#include "check_area.h"
#include "open.h"
#include "internal.h"

/* End a pass: the view check_area.c mapped, then the file. */
static void ck_close(struct pm_ck *c)
{
	pm_ck_view_free(c);
	pm_ck_close(c);
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
	ret = pm_ck_open(c);
	if (ret)
		return ret;
	c->total = c->file_size;
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
	pm_ck_heap(c);
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
	int ret = pm_pool_open_discard(c->path,
				       PM_POOL_IGNORE_BADBLOCKS |
					       PM_POOL_IGNORE_SHUTDOWN,
				       &pool);

	if (ret)
		return ret;
	d = &pool->tx_dropped;
	if (d->n)
		pm_ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LANES, "lanes",
			   pool->lanes_off,
			   (uint64_t)pool->nlanes * pool->lane_size,
			   "discarded (--discard-damaged)",
			   "discarded %" PRIu64 " committed transaction%s (seq "
			   "%" PRIu64 "..%" PRIu64 ", %" PRIu64 " bytes)",
			   d->n, d->n == 1 ? "" : "s", d->first, d->last,
			   d->bytes);
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
			"contents are lost",
			c->path, lost);
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

static int still_there(const struct pm_ck *after, const struct pm_ck_finding *f)
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
	if (o->cb && o->cb(&f->pub, o->cb_arg))
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
			pm_ck_findings_free(&second);
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
		pm_ck_findings_free(after);
out:
	pm_ck_findings_free(&first);
	return ret;
}

/* Validate the arguments, then check. */
static int ck_start(const char *path, const struct pm_check_opts *o)
{
	if (!path)
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
	struct pm_check_opts o = {
		.sz = sizeof(o), .flags = flags, .cb = cb, .cb_arg = arg
	};

	return ck_start(path, &o);
}

/* Copy the fields of @in inside in->sz; unknown non-zero bytes past the
 * fields this version knows are refused. */
static int opts_get(const struct pm_check_opts *in, struct pm_check_opts *o)
{
	const size_t min = offsetof(struct pm_check_opts, flags) +
			   sizeof(in->flags);

	memset(o, 0, sizeof(*o));
	if (in->sz < min)
		return pm_err(-EINVAL, "pm_pool_check_opts: sz %zu too small",
			      in->sz);
	for (size_t i = sizeof(*o); i < in->sz; i++)
		if (((const uint8_t *)in)[i])
			return pm_err(-EINVAL,
				      "pm_pool_check_opts: unknown "
				      "non-zero byte at offset %zu (newer "
				      "library?)",
				      i);
	memcpy(o, in, PM_MIN(in->sz, sizeof(*o)));
	o->sz = sizeof(*o);
	return 0;
}

/**
 * pm_pool_check_opts - pm_pool_check() with options and progress
 * @path: the pool file; it must not be open
 * @opts: sz (sizeof(struct pm_check_opts) as the caller knows it), flags,
 *	cb and cb_arg as for pm_pool_check(), and progress (may be NULL),
 *	called with progress_arg as the first pass reads the file
 *
 * The same check as pm_pool_check().  @progress is called with the bytes
 * examined so far and the total (the pool's size, or the file's while no
 * header copy is known) during the first, read-only pass, not the one
 * after a repair.  Fields past @opts->sz read as zero; non-zero bytes
 * past the fields this library knows give -EINVAL.
 *
 * Return: as pm_pool_check(); -EINVAL also for a NULL @opts or an @opts->sz
 * too small to hold flags.
 */
PM_EXPORT int pm_pool_check_opts(const char *path,
				 const struct pm_check_opts *opts)
{
	struct pm_check_opts o;
	int ret;

	if (!opts)
		return pm_err(-EINVAL, "pm_pool_check_opts: NULL argument");
	ret = opts_get(opts, &o);
	return ret ? ret : ck_start(path, &o);
}
