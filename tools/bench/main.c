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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../args.h"
#include "libpm.h"
#include "pmbench.h"

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
			pmb_verbose = 0;
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
	atexit(pmb_remove_files);
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
	if (!ret && has(only, "recovery"))
		ret = pmb_log_recovery(&o);
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
