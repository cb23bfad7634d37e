/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmcrash - run libpm's crash-consistency workloads under the crash
 * simulator and check every crash image.  See pmcrash(1).
 *
 * Exit: 0 no violation, 1 violations (with --expect-violation: none
 * found), 2 the run itself failed.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "crash.h"

static const struct crash_workload *const workloads[] = {
	&crash_wl_flag,	 &crash_wl_log,	      &crash_wl_pool, &crash_wl_tx,
	&crash_wl_tx_mt, &crash_wl_tx_direct, &crash_wl_heap, &crash_wl_heap_mt,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pmcrash [options]\n"
		"  -w, --workload NAME   run NAME (repeatable; default: all)\n"
		"  -l, --list            list workloads and their --break bugs\n"
		"  -n, --ops N           operations per stream (default: the "
		"workload's)\n"
		"  -t, --threads N       streams, for workloads that have them\n"
		"      --seed S          data and sampling seed (printed)\n"
		"      --point P         check crash point P only\n"
		"      --exhaustive N    enumerate points of up to N images "
		"(1024)\n"
		"      --samples N       images per larger point (48)\n"
		"      --words           any subset of 8-byte words per line\n"
		"      --flush-points    crash points at flushes, too\n"
		"      --deep            exhaustive 4096, samples 256, more ops\n"
		"      --strict          known weaknesses count as violations\n"
		"      --damage          tx: also check each image with the\n"
		"                        newer slot of every lane header\n"
		"                        damaged (open refuses or is right;\n"
		"                        pmck agrees)\n"
		"      --afterlife N     pools: every Nth image is also opened\n"
		"                        afresh and runs until every lane's\n"
		"                        ring wrapped twice, then crashes and\n"
		"                        reopens (afterlife.h); 0: never\n"
		"                        (16; 4 with --deep)\n"
		"      --break NAME      run the workload with a deliberate bug\n"
		"      --expect-violation  succeed only if violations are found\n"
		"      --all-breaks      run every deliberate bug of the chosen\n"
		"                        workloads; succeed only if each is caught\n"
		"      --dir DIR         where files and images go (/dev/shm)\n"
		"  -v, --verbose         more output (twice: every point)\n");
}

struct args {
	struct crash_opts o;
	const char *names[16];
	unsigned nnames;
	int expect_violation;
	int all_breaks;
	int deep;
};

enum {
	O_SEED = 256,
	O_POINT,
	O_EXH,
	O_SAMPLES,
	O_WORDS,
	O_FLUSHP,
	O_DEEP,
	O_BREAK,
	O_EXPECT,
	O_ALLBRK,
	O_DIR,
	O_STRICT,
	O_DAMAGE,
	O_AFTER
};

static const struct option longopts[] = {
	{ "workload", required_argument, NULL, 'w' },
	{ "list", no_argument, NULL, 'l' },
	{ "ops", required_argument, NULL, 'n' },
	{ "threads", required_argument, NULL, 't' },
	{ "seed", required_argument, NULL, O_SEED },
	{ "point", required_argument, NULL, O_POINT },
	{ "exhaustive", required_argument, NULL, O_EXH },
	{ "samples", required_argument, NULL, O_SAMPLES },
	{ "words", no_argument, NULL, O_WORDS },
	{ "flush-points", no_argument, NULL, O_FLUSHP },
	{ "deep", no_argument, NULL, O_DEEP },
	{ "break", required_argument, NULL, O_BREAK },
	{ "expect-violation", no_argument, NULL, O_EXPECT },
	{ "all-breaks", no_argument, NULL, O_ALLBRK },
	{ "strict", no_argument, NULL, O_STRICT },
	{ "damage", no_argument, NULL, O_DAMAGE },
	{ "afterlife", required_argument, NULL, O_AFTER },
	{ "dir", required_argument, NULL, O_DIR },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void list(void)
{
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		printf("%-8s %s%s%s\n", workloads[i]->name, workloads[i]->desc,
		       *workloads[i]->breaks ? "; --break " : "",
		       workloads[i]->breaks);
}

static int parse_opt(struct args *a, int ch)
{
	uint64_t point;

	switch (ch) {
	case 'w':
		if (a->nnames < 16)
			a->names[a->nnames++] = optarg;
		return 0;
	case 'l':
		list();
		exit(0);
	case 'n':
		return arg_uint("--ops", optarg, 0, UINT_MAX, &a->o.ops);
	case 't':
		return arg_uint("--threads", optarg, 0, CRASH_STREAMS,
				&a->o.threads);
	case O_SEED:
		return arg_u64("--seed", optarg, 0, UINT64_MAX, 0, &a->o.seed);
	case O_POINT:
		return arg_u64("--point", optarg, 0, INT64_MAX, 0, &point) ?
			       -1 :
			       (a->o.only_point = (int64_t)point, 0);
	case O_EXH:
		return arg_uint("--exhaustive", optarg, 0, UINT_MAX,
				&a->o.max_exhaustive);
	case O_SAMPLES:
		return arg_uint("--samples", optarg, 0, UINT_MAX,
				&a->o.max_samples);
	case O_WORDS:
		a->o.sim_flags |= PM_SIM_WORDS;
		return 0;
	case O_FLUSHP:
		a->o.sim_flags |= PM_SIM_FLUSH_POINTS;
		return 0;
	case O_DEEP:
		a->deep = 1;
		return 0;
	case O_BREAK:
		a->o.brk = optarg;
		return 0;
	case O_EXPECT:
		a->expect_violation = 1;
		return 0;
	case O_ALLBRK:
		a->all_breaks = 1;
		return 0;
	case O_STRICT:
		a->o.strict = 1;
		return 0;
	case O_DAMAGE:
		a->o.damage = 1;
		return 0;
	case O_AFTER:
		return arg_uint("--afterlife", optarg, 0, UINT_MAX,
				&a->o.afterlife);
	case O_DIR:
		a->o.dir = optarg;
		return 0;
	case 'v':
		a->o.verbose++;
		return 0;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		return -1;
	}
}

static int parse(struct args *a, int argc, char **argv)
{
	struct stat st;
	int ch;

	memset(a, 0, sizeof(*a));
	a->o.only_point = -1;
	a->o.max_reports = 5;
	a->o.afterlife = UINT_MAX;
	while ((ch = getopt_long(argc, argv, "w:ln:t:vh", longopts, NULL)) !=
	       -1)
		if (parse_opt(a, ch))
			return -1;
	if (optind != argc)
		return -1;
	if (!a->o.dir)
		a->o.dir = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
	if (!a->o.seed)
		a->o.seed = (uint64_t)time(NULL) * 2654435761ULL ^
			    (uint64_t)getpid();
	a->o.deep = a->deep;
	if (!a->o.max_exhaustive)
		a->o.max_exhaustive = a->deep ? 4096 : 1024;
	if (a->o.afterlife == UINT_MAX)
		a->o.afterlife = a->deep ? 4 : 16;
	if (!a->o.max_samples)
		a->o.max_samples = a->deep ? 256 : 48;
	return 0;
}

static const struct crash_workload *find(const char *name)
{
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (!strcmp(workloads[i]->name, name))
			return workloads[i];
	return NULL;
}

/* Is @name one of the comma-separated names of @list? */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ',') &&
		    (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static int run_one(const struct crash_workload *wl, struct args *a,
		   struct crash_result *tot)
{
	struct crash_result r;
	int ret;

	if (a->o.brk && !in_list(wl->breaks, a->o.brk)) {
		if (in_list(CRASH_LIB_BREAKS, a->o.brk))
			fprintf(stderr,
				"pmcrash: --break %s is a bug inside "
				"libpm: it needs the test build, pmcrash-test "
				"(make check-crash runs it)\n",
				a->o.brk);
		else
			fprintf(stderr,
				"pmcrash: %s has no deliberate bug "
				"\"%s\"\n",
				wl->name, a->o.brk);
		return 2;
	}
	ret = crash_run(wl, &a->o, &r);
	printf("pmcrash: %-6s %llu crash points (%llu sampled), %llu images, "
	       "%llu violations, %.2f s%s%s\n",
	       wl->name, (unsigned long long)r.points,
	       (unsigned long long)r.sampled_points,
	       (unsigned long long)r.images, (unsigned long long)r.violations,
	       r.seconds, a->o.brk ? ", broken: " : "",
	       a->o.brk ? a->o.brk : "");
	if (r.noted)
		printf("pmcrash: %-6s %llu images show a known weakness "
		       "(--strict makes them violations)\n",
		       wl->name, (unsigned long long)r.noted);
	tot->points += r.points;
	tot->sampled_points += r.sampled_points;
	tot->images += r.images;
	tot->violations += r.violations;
	tot->seconds += r.seconds;
	return ret ? 2 : 0;
}

/* Every deliberate bug of @wl must give at least one violation. */
static int run_breaks(const struct crash_workload *wl, struct args *a,
		      struct crash_result *tot)
{
	char list[256], *save = NULL;
	int ret = 0;

	snprintf(list, sizeof(list), "%s", wl->breaks);
	for (char *b = strtok_r(list, ",", &save); b;
	     b = strtok_r(NULL, ",", &save)) {
		uint64_t before = tot->violations;
		unsigned reports = a->o.max_reports;
		int r;

		a->o.brk = b;
		a->o.max_reports = a->o.verbose ? reports : 0;
		r = run_one(wl, a, tot);
		a->o.max_reports = reports;
		if (!r && tot->violations == before) {
			fprintf(stderr, "pmcrash: %s --break %s: not caught\n",
				wl->name, b);
			r = 1;
		}
		if (r > ret)
			ret = r;
	}
	a->o.brk = NULL;
	return ret;
}

int main(int argc, char **argv)
{
	struct crash_result tot = { 0 };
	struct args a;
	int ret = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse(&a, argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (!getenv("PM_FORCE_GRANULARITY"))
		setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	if (a.o.verbose < 2)
		pm_set_log_level(0);
	printf("pmcrash: seed 0x%llx, %s model, up to %u images enumerated, "
	       "%u sampled\n",
	       (unsigned long long)a.o.seed,
	       (a.o.sim_flags & PM_SIM_WORDS) ? "8-byte-word" : "Px86 line",
	       a.o.max_exhaustive, a.o.max_samples);
	for (size_t i = 0;
	     i <
	     (a.nnames ? a.nnames : sizeof(workloads) / sizeof(workloads[0]));
	     i++) {
		const struct crash_workload *wl = a.nnames ? find(a.names[i]) :
							     workloads[i];

		if (!wl) {
			fprintf(stderr, "pmcrash: no workload %s\n",
				a.names[i]);
			return 2;
		}
		int r = a.all_breaks ? run_breaks(wl, &a, &tot) :
				       run_one(wl, &a, &tot);

		if (r > ret)
			ret = r;
	}
	printf("pmcrash: total %llu crash points, %llu images, %llu "
	       "violations, %.2f s\n",
	       (unsigned long long)tot.points, (unsigned long long)tot.images,
	       (unsigned long long)tot.violations, tot.seconds);
	if (ret || a.all_breaks)
		return ret;
	if (a.expect_violation)
		return tot.violations ? 0 : 1;
	return tot.violations ? 1 : 0;
}
