/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * util.c - what every pmbench workload shares: the result table, the
 * median, the files it makes (removed at exit) and progress lines.
 * The workloads call down here, never up into main.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
