/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.c - pm_log_append() against libpmemlog's pmemlog_append(), 64 B,
 * 4 KiB and 1 MiB records, with the limit for the size: a non-temporal
 * memset of it plus one fence.  Both logs are emptied when full
 * (pm_log_truncate / pmemlog_rewind) inside the timed loop.  Every page
 * of both rings is written once before any timing, so that neither pays
 * first-touch faults the other does not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmemlog.h>

#include "arch.h"
#include "internal.h"
#include "libpm.h"
#include "pmbench.h"

enum which { LIBPM, PMDK, LIMIT };

struct bench {
	struct pm_log *log;
	struct pm_pool *pool;
	PMEMlogpool *plp;
	char *limit; /* area for the limit, in the libpm pool's data */
	size_t limit_size;
	const char *src;
};

static void append_libpm(struct bench *b, size_t len)
{
	int ret = pm_log_append(b->log, b->src, len, NULL);

	if (ret == -ENOSPC) {
		pm_log_truncate(b->log, UINT64_MAX);
		ret = pm_log_append(b->log, b->src, len, NULL);
	}
	if (ret) {
		fprintf(stderr, "pmbench: pm_log_append: %s\n",
			pm_strerror(ret));
		exit(1);
	}
}

static void append_pmdk(struct bench *b, size_t len)
{
	if (pmemlog_append(b->plp, b->src, len)) {
		pmemlog_rewind(b->plp);
		if (pmemlog_append(b->plp, b->src, len)) {
			perror("pmbench: pmemlog_append");
			exit(1);
		}
	}
}

/* Seconds per append of @len bytes over at least @secs. */
static double run(enum which w, struct bench *b, size_t len, double secs,
		  double *fences)
{
	size_t slot = PM_ALIGN_UP(len, 64), nslots = b->limit_size / slot;
	struct pm_stats st;
	double t0 = pmb_now(), t;
	size_t i = 0;

	pm_stats_reset();
	do {
		for (int k = 0; k < 16; k++, i++) {
			if (w == LIBPM) {
				append_libpm(b, len);
			} else if (w == PMDK) {
				append_pmdk(b, len);
			} else {
				pm_arch.memset_nt(b->limit + i % nslots * slot,
						  0x5a, slot);
				pm_arch.fence();
			}
		}
		t = pmb_now();
	} while (t - t0 < secs);
	pm_stats_get(&st);
	if (fences)
		*fences = (double)st.fences / (double)i;
	return (t - t0) / (double)i;
}

static void measure(const struct pmb_opts *o, struct bench *b, size_t len,
		    const char *name)
{
	double pm[o->reps], pmdk[o->reps], lim[o->reps], f = 0, f1;
	struct pmb_result *r;

	pmb_progress("log append %s", name);
	run(LIBPM, b, len, o->secs / 2, NULL); /* warm-up */
	run(PMDK, b, len, o->secs / 2, NULL);
	for (int i = 0; i < o->reps; i++) {
		pm[i] = run(LIBPM, b, len, o->secs, &f1);
		pmdk[i] = run(PMDK, b, len, o->secs, NULL);
		lim[i] = run(LIMIT, b, len, o->secs, NULL);
		f = i ? PM_MIN(f, f1) : f1; /* runs that truncated count more */
	}
	r = pmb_add("log", name, len);
	if (!r)
		return;
	pmb_times(r, pm, pmdk, o->reps);
	r->t_limit = pmb_median(lim, o->reps);
	r->f_pm = f;
	r->f_pmdk = 2; /* counted: see pmbench(1) */
	r->unit = len >= 4096 ? "GB/s" : "op/s";
	r->note = "pm_log_append vs pmemlog_append";
}

int pmb_log(const struct pmb_opts *o)
{
	size_t log_size = (size_t)(o->quick ? 64 : 256) << 20;
	struct pm_pool_opts po = { .sz = sizeof(po), .log_size = log_size };
	char lpath[256], ppath[256];
	struct bench b = { 0 };
	char *src = aligned_alloc(64, 1 << 20);
	int ret;

	pmb_path(lpath, sizeof(lpath), o, "log-libpm");
	pmb_path(ppath, sizeof(ppath), o, "log-pmdk");
	ret = pm_pool_create(lpath, log_size + (64 << 20), &po, &b.pool);
	if (!ret)
		ret = pm_pool_log(b.pool, &b.log);
	b.plp = pmemlog_create(ppath, log_size + (1 << 20), 0600);
	unlink(lpath);
	unlink(ppath);
	if (ret || !b.plp || !src) {
		fprintf(stderr, "pmbench: log setup: %s / %s\n",
			pm_strerror(ret), b.plp ? "-" : pmemlog_errormsg());
		ret = -1;
		goto out;
	}
	memset(src, 0xa5, 1 << 20);
	b.src = src;
	/* Fault every page of both rings in (a lap of 1 MiB appends), and
	 * of the limit's area: no row pays first touches in its timing. */
	while (!pm_log_append(b.log, src, 1 << 20, NULL))
		;
	pm_log_truncate(b.log, UINT64_MAX);
	while (!pmemlog_append(b.plp, src, 1 << 20))
		;
	pmemlog_rewind(b.plp);
	b.limit = pm_pool_data(b.pool, &b.limit_size);
	pm_arch.memset_nt(b.limit, 0, b.limit_size & ~(size_t)63);
	measure(o, &b, 64, "64 B");
	measure(o, &b, 4096, "4 KiB");
	measure(o, &b, 1 << 20, "1 MiB");
out:
	if (b.plp)
		pmemlog_close(b.plp);
	pm_pool_close(b.pool);
	free(src);
	return ret;
}
