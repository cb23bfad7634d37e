/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_log.c - pm_log_append() against libpmemlog's pmemlog_append() in
 * the same run, both on the cache-line path (flush + fence really run),
 * files on /dev/shm.  Also the limit for large records: non-temporal
 * memset + fence of the same size.  Both logs are emptied when full
 * (pm_log_truncate / pmemlog_rewind), inside the timed loop.  Prints the
 * median of several repetitions and libpm's fences per append.  Not part
 * of make check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpmemlog.h>

#include "arch.h"
#include "internal.h"
#include "libpm.h"

#define LOG_SIZE ((size_t)64 << 20)
#define POOL_SIZE (LOG_SIZE + ((size_t)16 << 20))
#define REPS 7

enum which { LIBPM, PMDK, LIMIT };

struct bench {
	struct pm_log *log;
	struct pm_map *map;
	PMEMlogpool *plp;
	char *limit; /* area for the limit, in the libpm pool's data */
	size_t limit_size;
	const char *src;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void append_libpm(struct bench *b, size_t len)
{
	int ret = pm_log_append(b->log, b->src, len, NULL);

	if (ret == -ENOSPC) {
		pm_log_truncate(b->log, UINT64_MAX);
		ret = pm_log_append(b->log, b->src, len, NULL);
	}
	if (ret)
		fprintf(stderr, "pm_log_append: %s\n", pm_strerror(ret)), exit(1);
}

static void append_pmdk(struct bench *b, size_t len)
{
	if (pmemlog_append(b->plp, b->src, len)) {
		pmemlog_rewind(b->plp);
		if (pmemlog_append(b->plp, b->src, len))
			perror("pmemlog_append"), exit(1);
	}
}

/* Seconds per append of @len bytes, over @n appends. */
static double run(enum which w, struct bench *b, size_t len, long n)
{
	size_t slot = PM_ALIGN_UP(len, 64), nslots = b->limit_size / slot;
	double t = now();

	for (long i = 0; i < n; i++) {
		if (w == LIBPM) {
			append_libpm(b, len);
		} else if (w == PMDK) {
			append_pmdk(b, len);
		} else {
			pm_arch.memset_nt(b->limit + (size_t)i % nslots * slot,
					  0x5a, slot);
			pm_arch.fence();
		}
	}
	return (now() - t) / n;
}

static double median(enum which w, struct bench *b, size_t len)
{
	/* ~256 MiB per repetition, between 256 and 300,000 appends */
	long n = (long)PM_MIN((size_t)300000,
			      PM_MAX((size_t)256, ((size_t)256 << 20) / len));
	double r[REPS];

	run(w, b, len, n / 4 + 1); /* warm-up: fault pages in */
	for (int i = 0; i < REPS; i++)
		r[i] = run(w, b, len, n);
	qsort(r, REPS, sizeof(r[0]), cmp);
	return r[REPS / 2];
}

static double fences_per_append(struct bench *b, size_t len)
{
	struct pm_stats st;
	long i;

	pm_log_truncate(b->log, UINT64_MAX);
	pm_stats_reset();
	for (i = 0; i < 1000; i++)
		if (pm_log_append(b->log, b->src, len, NULL))
			break;
	pm_stats_get(&st);
	return i ? (double)st.fences / (double)i : -1;
}

static const char *rate(char *buf, double s, size_t len)
{
	if (len < 4096)
		snprintf(buf, 32, "%.2f M/s", 1e-6 / s);
	else
		snprintf(buf, 32, "%.2f GB/s", len / s / 1e9);
	return buf;
}

static int setup(struct bench *b, const char *lpath, const char *ppath)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = LOG_SIZE };
	struct pm_pool *pool;
	int ret = pm_pool_create(lpath, POOL_SIZE, &o, &pool);

	if (ret || (ret = pm_pool_log(pool, &b->log)))
		return fprintf(stderr, "libpm: %s\n", pm_strerror(ret)), -1;
	b->map = pm_pool_map(pool);
	b->limit = pm_pool_data(pool, &b->limit_size);
	b->plp = pmemlog_create(ppath, LOG_SIZE + (1 << 20), 0600);
	if (!b->plp)
		return fprintf(stderr, "pmemlog: %s\n", pmemlog_errormsg()), -1;
	return 0;
}

int main(int argc, char **argv)
{
	static size_t sizes[16] = { 64, 256, 4096, 65536, 1 << 20 };
	size_t nsizes = 5;
	struct bench b = { 0 };
	char lpath[64], ppath[64];
	char *src;

	if (!getenv("PMEM_IS_PMEM_FORCE") || !getenv("PM_FORCE_GRANULARITY")) {
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
		setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	/* Sizes on the command line replace the default list. */
	if (argc > 1)
		for (nsizes = 0; nsizes < PM_ARRAY_SIZE(sizes) &&
				 (int)nsizes < argc - 1; nsizes++)
			sizes[nsizes] = PM_MIN(strtoull(argv[nsizes + 1], NULL,
							0), (size_t)1 << 20);
	snprintf(lpath, sizeof(lpath), "/dev/shm/bench_log_libpm.%d", getpid());
	snprintf(ppath, sizeof(ppath), "/dev/shm/bench_log_pmdk.%d", getpid());
	src = aligned_alloc(64, 1 << 20);
	if (!src || setup(&b, lpath, ppath))
		return 1;
	memset(src, 0xa5, 1 << 20);
	b.src = src;
	printf("libpm flush %s, copy %s, crc %s, threshold %zu; median of %d\n",
	       pm_flush_method(), pm_arch.copy_name, pm_arch.crc_name,
	       pm_arch.movnt_threshold, REPS);
	for (size_t i = 0; i < nsizes; i++) {
		size_t len = sizes[i];
		double a = median(LIBPM, &b, len);
		double p = median(PMDK, &b, len);
		double l = median(LIMIT, &b, len);
		char ra[32], rp[32], rl[32];

		printf("%7zu B  pm_log %7.0f ns %-12s pmemlog %7.0f ns %-12s "
		       "limit %7.0f ns %-12s speedup %.2fx, %3.0f%% of limit, "
		       "%.2f fences/append\n", len, a * 1e9, rate(ra, a, len),
		       p * 1e9, rate(rp, p, len), l * 1e9, rate(rl, l, len),
		       p / a, l / a * 100, fences_per_append(&b, len));
	}
	pmemlog_close(b.plp);
	unlink(lpath);
	unlink(ppath);
	return 0;
}
