/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_tx.c - libpm transactions against libpmemobj transactions in the
 * same run, both on the cache-line path (PM_FORCE_GRANULARITY=cacheline,
 * PMEM_IS_PMEM_FORCE=1: flush + fence really run), pools on /dev/shm.
 * Workloads: one 64 B write at a random place, 8 random 64 B writes, one
 * 4 KiB write, and the 64 B workload on 2 threads.  Prints medians of
 * REPS runs, ratios, and libpm's fences per transaction (its own counter;
 * libpmemobj's counts are known: 5, 19 and 7).  Not part of make check.
 *
 *   bench_tx [DIR] [SECONDS_PER_RUN]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpmemobj.h>

#include "libpm.h"

#define POOL_SIZE ((size_t)1 << 30)
#define SPAN ((size_t)512 << 20) /* random places within this */
#define REPS 5

enum lib { LIBPM, PMDK };

struct ctx {
	enum lib lib;
	struct pm_pool *pool;
	PMEMobjpool *pop;
	char *base; /* data area / root object */
	int nranges;
	size_t len;
	double secs;
	unsigned seed;
	double tps;	 /* result */
	double fences; /* per tx (libpm) */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t rnd(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int one_tx(struct ctx *c, const char *src)
{
	size_t span = SPAN / 4096 - 2;
	struct pm_tx *tx;
	int ret = 0;

	if (c->lib == LIBPM) {
		ret = pm_tx_begin(c->pool, c->len * (size_t)c->nranges, &tx);
		for (int k = 0; !ret && k < c->nranges; k++)
			ret = pm_tx_write(tx,
					  c->base + rnd(&c->seed) % span * 4096,
					  src, c->len);
		return ret ? ret : pm_tx_commit(tx);
	}
	if (pmemobj_tx_begin(c->pop, NULL, TX_PARAM_NONE))
		return -1;
	for (int k = 0; k < c->nranges; k++) {
		char *d = c->base + rnd(&c->seed) % span * 4096;

		pmemobj_tx_add_range_direct(d, c->len);
		memcpy(d, src, c->len);
	}
	pmemobj_tx_commit();
	return pmemobj_tx_end();
}

static void *run(void *arg)
{
	static char src[4096];
	struct ctx *c = arg;
	struct pm_stats st;
	double t0 = now(), t;
	long n = 0;

	pm_stats_reset();
	do {
		for (int i = 0; i < 256; i++)
			if (one_tx(c, src))
				abort();
		n += 256;
		t = now();
	} while (t - t0 < c->secs);
	pm_stats_get(&st);
	c->tps = n / (t - t0);
	c->fences = (double)st.fences / n;
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median tx/s of REPS runs on @nthreads threads (throughput summed). */
static double measure(struct ctx *proto, int nthreads, double *fences)
{
	double v[REPS];

	for (int r = 0; r < REPS; r++) {
		struct ctx c[2];
		pthread_t t[2];

		v[r] = 0;
		for (int i = 0; i < nthreads; i++) {
			c[i] = *proto;
			c[i].seed = 2463534242u + 7919u * (unsigned)(r * 2 + i);
			c[i].base += (size_t)i * SPAN; /* threads: own halves */
			pthread_create(&t[i], NULL, run, &c[i]);
		}
		for (int i = 0; i < nthreads; i++) {
			pthread_join(t[i], NULL);
			v[r] += c[i].tps;
		}
		*fences = c[0].fences;
	}
	qsort(v, REPS, sizeof(v[0]), cmp);
	return v[REPS / 2];
}

static void open_both(const char *dir, struct ctx *pm, struct ctx *ob)
{
	char p1[256], p2[256];
	PMEMoid root;
	int zero = 0;

	snprintf(p1, sizeof(p1), "%s/bench_tx_libpm.%d", dir, getpid());
	snprintf(p2, sizeof(p2), "%s/bench_tx_pmdk.%d", dir, getpid());
	unlink(p1);
	unlink(p2);
	if (pm_pool_create(p1, POOL_SIZE + (128 << 20), NULL, &pm->pool))
		exit(1);
	pm->base = pm_pool_data(pm->pool, NULL);
	pmemobj_ctl_set(NULL, "sds.at_create", &zero);
	ob->pop = pmemobj_create(p2, "bench", POOL_SIZE + (128 << 20), 0600);
	if (!ob->pop) {
		fprintf(stderr, "pmemobj_create: %s\n", pmemobj_errormsg());
		exit(1);
	}
	root = pmemobj_root(ob->pop, POOL_SIZE);
	ob->base = pmemobj_direct(root);
	/* Touch every page once so neither side pays first-fault costs. */
	memset(pm->base, 0, POOL_SIZE);
	memset(ob->base, 0, POOL_SIZE);
	unlink(p1);
	unlink(p2);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int nranges, threads;
		size_t len;
		double pmdk_fences;
	} w[] = {
		{ "one 64 B write, random place", 1, 1, 64, 5 },
		{ "8 random 64 B writes", 8, 1, 64, 19 },
		{ "one 4 KiB write", 1, 1, 4096, 7 },
		{ "64 B random, 2 threads", 1, 2, 64, 5 },
	};
	const char *dir = argc > 1 ? argv[1] : "/dev/shm";
	struct ctx pm = { .lib = LIBPM }, ob = { .lib = PMDK };
	double one_pm = 0, one_ob = 0;

	if (!getenv("PMEM_IS_PMEM_FORCE")) { /* libpmem reads it at load */
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
		setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1);
		setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	pm.secs = ob.secs = argc > 2 ? atof(argv[2]) : 0.2;
	open_both(dir, &pm, &ob);
	printf("%-30s %12s %12s %7s %9s %9s\n", "workload (median of 5)",
	       "libpm tx/s", "PMDK tx/s", "ratio", "fences", "PMDK f.");
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		double a, b, fa, fb;

		pm.nranges = ob.nranges = w[i].nranges;
		pm.len = ob.len = w[i].len;
		a = measure(&pm, w[i].threads, &fa);
		b = measure(&ob, w[i].threads, &fb);
		printf("%-30s %12.0f %12.0f %6.2fx %9.2f %9.0f\n", w[i].name,
		       a, b, a / b, fa, w[i].pmdk_fences);
		if (i == 0) {
			one_pm = a;
			one_ob = b;
		}
		if (w[i].threads == 2)
			printf("%-30s %12.2fx %11.2fx\n", "  2 threads vs 1",
			       a / one_pm, b / one_ob);
	}
	pm_pool_close(pm.pool);
	pmemobj_close(ob.pop);
	return 0;
}
