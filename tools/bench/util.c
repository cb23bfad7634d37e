/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * util.c - what every pmbench workload shares: the result table, the
 * median, timing an operation against its peer, the floor the hardware
 * puts under a durable operation, the files it makes (removed at exit) and
 * progress lines.
 * The workloads call down here, never up into main.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "internal.h"
#include "libpm.h"
#include "pmbench.h"

struct pmb_result pmb_results[PMB_MAX_RESULTS];
int pmb_nresults;

int pmb_verbose = 1;

struct pmb_result *pmb_add(const char *group, const char *name, size_t size)
{
	struct pmb_result *r;

	if (pmb_nresults == PMB_MAX_RESULTS)
		return NULL;
	r = &pmb_results[pmb_nresults++];
	memset(r, 0, sizeof(*r));
	r->group = group;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->size = size;
	return r;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double pmb_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void pmb_times(struct pmb_result *r, double *pm, double *pmdk, int n)
{
	r->q_min = r->q_max = 0;
	for (int i = 0; i < n; i++) {
		double q = pm[i] > 0 ? pmdk[i] / pm[i] : 0;

		if (q > 0 && (!r->q_min || q < r->q_min))
			r->q_min = q;
		r->q_max = PM_MAX(r->q_max, q);
	}
	r->t_pm = pmb_median(pm, n);
	r->t_pmdk = pmb_median(pmdk, n);
}

double pmb_run(int (*op)(void *), void *arg, double secs, long max,
	       double *fences)
{
	struct pm_stats st;
	double t0 = pmb_now(), t;
	long n = 0;
	int ret;

	pm_stats_reset();
	do {
		for (int k = 0; k < 16 && (max <= 0 || n < max); k++, n++)
			if ((ret = op(arg))) {
				fprintf(stderr,
					"pmbench: an operation failed: %s\n",
					pm_strerror(ret));
				exit(1);
			}
		t = pmb_now();
	} while (t - t0 < secs && (max <= 0 || n < max));
	pm_stats_get(&st);
	if (fences)
		*fences = n ? (double)st.fences / (double)n : 0;
	return n ? (t - t0) / (double)n : 0;
}

struct pmb_result *pmb_add_ops(const char *group, const char *name, double *pm,
			       double *pmdk, int n)
{
	struct pmb_result *r = pmb_add(group, name, 0);

	if (r) {
		pmb_times(r, pm, pmdk, n);
		r->f_pm = r->f_pmdk = -1;
		r->unit = "op/s";
	}
	return r;
}

struct pmb_result *pmb_versus(const struct pmb_opts *o, const char *group,
			      const char *name, int (*pm_op)(void *),
			      void *pm_arg, int (*pmdk_op)(void *),
			      void *pmdk_arg)
{
	double a[o->reps], b[o->reps], f = 0;
	struct pmb_result *r;

	pmb_progress("%s %s", group, name);
	pmb_run(pm_op, pm_arg, o->secs / 2, 0, NULL); /* warm-up */
	pmb_run(pmdk_op, pmdk_arg, o->secs / 2, 0, NULL);
	for (int i = 0; i < o->reps; i++) {
		a[i] = pmb_run(pm_op, pm_arg, o->secs, 0, &f);
		b[i] = pmb_run(pmdk_op, pmdk_arg, o->secs, 0, NULL);
	}
	r = pmb_add_ops(group, name, a, b, o->reps);
	if (r)
		r->f_pm = f;
	return r;
}

/* The floor: one line of metadata words, then the objects. */
struct floor {
	char *area;
	size_t span, pos, data;
	int steps;
};

static int floor_op(void *arg)
{
	static const char src[4096];
	struct floor *f = arg;

	for (int s = 0; s < f->steps; s++) {
		volatile uint64_t *w = (uint64_t *)f->area + f->pos / 64 % 8;
		char *obj = f->area + 64 + f->pos;

		if (f->data) {
			memcpy(obj, src, f->data);
			pm_arch.flush(obj, f->data);
		}
		*w = *w + 1;
		pm_arch.flush((const void *)w, sizeof(*w));
		pm_arch.fence();
		f->pos += PM_ALIGN_UP(PM_MAX(f->data, 1), 64);
		if (f->pos + f->data > f->span)
			f->pos = 0;
	}
	return 0;
}

double pmb_floor(const struct pmb_opts *o, size_t data, int steps)
{
	/* Measured once per kind in a run: rows share their floors. */
	static struct {
		size_t data;
		int steps;
		double t;
	} floors[8];
	static int nfloors;
	struct floor f = { .span = (size_t)64 << 20,
			   .data = data,
			   .steps = steps };
	double t[o->reps];
	struct pm_map *map;
	char path[256];
	int ret;

	for (int i = 0; i < nfloors; i++)
		if (floors[i].data == data && floors[i].steps == steps)
			return floors[i].t;
	pmb_path(path, sizeof(path), o, "floor");
	ret = pm_map_file(path, f.span + 64, PM_MAP_CREATE, &map);
	unlink(path);
	if (ret) {
		fprintf(stderr, "pmbench: %s: %s\n", path, pm_strerror(ret));
		return 0;
	}
	f.area = pm_map_addr(map);
	memset(f.area, 0, f.span + 64);		     /* no first-fault costs */
	pmb_run(floor_op, &f, o->secs / 2, 0, NULL); /* warm-up */
	for (int i = 0; i < o->reps; i++)
		t[i] = pmb_run(floor_op, &f, o->secs, 0, NULL);
	pm_unmap(map);
	t[0] = pmb_median(t, o->reps);
	if (nfloors < (int)(sizeof(floors) / sizeof(floors[0]))) {
		floors[nfloors].data = data;
		floors[nfloors].steps = steps;
		floors[nfloors++].t = t[0];
	}
	return t[0];
}

/* Every file's name, so that an exit on error leaves none behind. */
static char *files[16];
static int nfiles;

void pmb_remove_files(void)
{
	for (int i = 0; i < nfiles; i++) {
		unlink(files[i]);
		free(files[i]);
	}
	nfiles = 0;
}

void pmb_path(char *buf, size_t len, const struct pmb_opts *o, const char *what)
{
	snprintf(buf, len, "%s/pmbench-%s.%d", o->dir, what, (int)getpid());
	unlink(buf);
	for (int i = 0; i < nfiles; i++)
		if (!strcmp(files[i], buf))
			return;
	if (nfiles < (int)(sizeof(files) / sizeof(files[0])) &&
	    (files[nfiles] = strdup(buf)))
		nfiles++;
}

void pmb_progress(const char *fmt, ...)
{
	va_list ap;

	if (!pmb_verbose)
		return;
	va_start(ap, fmt);
	fputs("pmbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
