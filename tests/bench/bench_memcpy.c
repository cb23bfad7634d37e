/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_memcpy.c - pm_memcpy() against libpmem's pmem_memcpy_persist() in
 * the same run, both on the cache-line path (flush + fence really run),
 * files on /dev/shm.  Also the limit: non-temporal memset + fence alone.
 * Prints the median of several repetitions.  Not part of make check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpmem.h>

#include "arch.h"
#include "internal.h"
#include "libpm.h"

#define AREA ((size_t)64 << 20)
#define REPS 7

enum which { LIBPM, PMDK, LIMIT };

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

/* Seconds per operation: @n copies of @len bytes, destinations rotating
 * through the area one line-aligned slot after another. */
static double run(enum which w, struct pm_map *m, char *pmdk, const char *src,
		  size_t len, long n)
{
	size_t slot = PM_ALIGN_UP(len, 64), nslots = AREA / slot;
	char *base = w == PMDK ? pmdk : pm_map_addr(m);
	double t = now();

	for (long i = 0; i < n; i++) {
		char *d = base + (size_t)i % nslots * slot;

		if (w == LIBPM)
			pm_memcpy(m, d, src, len, 0);
		else if (w == PMDK)
			pmem_memcpy_persist(d, src, len);
		else {
			pm_arch.memset_nt(d, 0x5a, PM_ALIGN_UP(len, 64));
			pm_arch.fence();
		}
	}
	return (now() - t) / n;
}

static double median(enum which w, struct pm_map *m, char *pmdk,
		     const char *src, size_t len)
{
	long n = (long)PM_MAX((size_t)20000, ((size_t)64 << 20) / len);
	double r[REPS];

	run(w, m, pmdk, src, len, n / 4 + 1); /* warm-up: fault pages in */
	for (int i = 0; i < REPS; i++)
		r[i] = run(w, m, pmdk, src, len, n);
	qsort(r, REPS, sizeof(r[0]), cmp);
	return r[REPS / 2];
}

static void show(const char *what, double s, size_t len)
{
	if (len < 4096)
		printf("  %-22s %9.1f ns", what, s * 1e9);
	else
		printf("  %-22s %9.2f GB/s", what, len / s / 1e9);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 256, 4096, 65536, 1 << 20 };
	char lpath[64], ppath[64];
	struct pm_map *m;
	size_t mlen;
	int is_pmem, ret;
	char *pmdk, *src;

	if (!getenv("PMEM_IS_PMEM_FORCE") || !getenv("PM_FORCE_GRANULARITY")) {
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
		setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	(void)argc;
	snprintf(lpath, sizeof(lpath), "/dev/shm/bench_libpm.%d", getpid());
	snprintf(ppath, sizeof(ppath), "/dev/shm/bench_pmdk.%d", getpid());
	ret = pm_map_file(lpath, AREA, PM_MAP_CREATE | PM_MAP_EXCL, &m);
	pmdk = pmem_map_file(ppath, AREA, PMEM_FILE_CREATE | PMEM_FILE_EXCL,
			     0600, &mlen, &is_pmem);
	src = aligned_alloc(64, 1 << 20);
	if (ret || !pmdk || !src || !is_pmem) {
		fprintf(stderr, "bench_memcpy: setup failed (%s, is_pmem %d)\n",
			pm_strerror(ret), is_pmem);
		return 1;
	}
	memset(src, 0xa5, 1 << 20);
	printf("libpm flush %s, copy %s, threshold %zu; median of %d\n",
	       pm_flush_method(), pm_arch.copy_name, pm_arch.movnt_threshold,
	       REPS);
	for (size_t i = 0; i < PM_ARRAY_SIZE(sizes); i++) {
		size_t len = sizes[i];
		double a = median(LIBPM, m, pmdk, src, len);
		double b = median(PMDK, m, pmdk, src, len);
		double c = median(LIMIT, m, pmdk, src, len);

		printf("%7zu B", len);
		show("pm_memcpy", a, len);
		show("pmem_memcpy_persist", b, len);
		show("NT memset+fence", c, len);
		printf("  time ratio libpm/pmdk %.2f\n", a / b);
	}
	pm_unmap(m);
	pmem_unmap(pmdk, mlen);
	unlink(lpath);
	unlink(ppath);
	return 0;
}
