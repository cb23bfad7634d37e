/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmbench - libpm against PMDK in one run: flush and copy, transactions,
 * the append log, recovery after a crash, a full check, the heap and its
 * fragmentation.  Both libraries are forced onto the same persistence path
 * (cache-line flush + fence) and work on the same kind of file; they take
 * turns within every repetition, and the median of the repetitions is
 * reported.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../args.h"
#include "libpm.h"
#include "pmbench.h"

struct pmb_result pmb_results[PMB_MAX_RESULTS];
int pmb_nresults;

static int verbose = 1;

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
		r->t_pm = pmb_median(pm, n);
		r->t_pmdk = pmb_median(pmdk, n);
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

/* Every file's name, so that an exit on error leaves none behind. */
static char *files[16];
static int nfiles;

static void remove_files(void)
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

	if (!verbose)
		return;
	va_start(ap, fmt);
	fputs("pmbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l = -1;

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static int usage(FILE *f)
{
	fprintf(f,
		"usage: pmbench [--quick] [--path DIR] [--reps N] [--secs S]\n"
		"               [--only GROUPS] [--json] [--plot FILE.png] [-q]\n"
		"  --quick        a fast pass: 3 repetitions, short runs, small pools\n"
		"  --path DIR     where the files go (default /dev/shm)\n"
		"  --reps N       repetitions per workload, median reported (7)\n"
		"  --secs S       seconds per timed repetition (0.2)\n"
		"  --only GROUPS  comma-separated: mem, tx, recovery, check, log,\n"
		"                 heap, churn\n"
		"  --json         JSON on stdout instead of the table\n"
		"  --plot FILE    draw libpm vs PMDK into a PNG (needs gnuplot)\n"
		"  -q, --quiet    no progress on stderr\n");
	return f == stderr ? 2 : 0;
}

/*
 * libpmem reads PMEM_IS_PMEM_FORCE when it is loaded, so the environment
 * is set and the program started again.  Values the user set are kept.
 */
static void force_cacheline(char **argv)
{
	if (getenv("PMBENCH_FORCED"))
		return;
	setenv("PMBENCH_FORCED", "1", 1);
	setenv("PMEM_IS_PMEM_FORCE", "1", 0);
	setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 0);
	setenv("PM_FORCE_GRANULARITY", "cacheline", 0);
	execv("/proc/self/exe", argv);
	perror("pmbench: re-exec");
	exit(1);
}

static int has(const char *list, const char *g)
{
	size_t n = strlen(g);

	for (const char *p = list; p && *p;) {
		if (!strncmp(p, g, n) && (p[n] == ',' || !p[n]))
			return 1;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return !list;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'Q' },
		{ "path", required_argument, NULL, 'p' },
		{ "reps", required_argument, NULL, 'r' },
		{ "secs", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pmb_opts o = { .dir = "/dev/shm",
			      .reps = 7,
			      .secs = 0.2,
			      .pool_size = (size_t)1 << 30 };
	const char *only = NULL, *plot = NULL;
	unsigned reps = 0;
	int json = 0, c, ret = 0;
	double secs = 0, load;

	while ((c = getopt_long(argc, argv, "qh", lopts, NULL)) != -1) {
		switch (c) {
		case 'Q':
			o.quick = 1;
			break;
		case 'p':
			o.dir = optarg;
			break;
		case 'r':
			if (arg_uint("--reps", optarg, 1, 101, &reps))
				return 2;
			break;
		case 's':
			if (arg_double("--secs", optarg, 0, 3600, &secs))
				return 2;
			break;
		case 'o':
			only = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'P':
			plot = optarg;
			break;
		case 'q':
			verbose = 0;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (optind != argc)
		return usage(stderr);
	force_cacheline(argv);
	atexit(remove_files);
	if (o.quick) {
		o.reps = 3;
		o.secs = 0.03;
		o.pool_size = (size_t)256 << 20;
	}
	o.reps = reps ? (int)reps : o.reps;
	o.secs = secs ? secs : o.secs;
	load = loadavg();
	pmb_progress("libpm %s, flush %s; load average %.2f", pm_version(),
		     pm_flush_method(), load);
	if (has(only, "mem"))
		ret = pmb_mem(&o);
	if (!ret &&
	    (has(only, "tx") || has(only, "recovery") || has(only, "check")))
		ret = pmb_tx(&o, has(only, "tx"), has(only, "recovery"),
			     has(only, "check"));
	if (!ret && has(only, "log"))
		ret = pmb_log(&o);
	if (!ret && has(only, "heap"))
		ret = pmb_heap(&o);
	if (!ret && has(only, "churn"))
		ret = pmb_churn(&o);
	if (json)
		pmb_print_json(load);
	else
		pmb_print_table(load);
	if (plot && pmb_plot(plot, load))
		ret = -1;
	return ret ? 1 : 0;
}
