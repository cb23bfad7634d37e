/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - libpm transactions against libpmemobj transactions: one 64 B
 * write at a random place, 8 random 64 B writes, one 4 KiB write, and the
 * first on 2 threads (each in its own half of the data).  libpmemobj runs
 * add_range + memcpy per write, the usual way to write a field.  The
 * limit beside them: the same stores, their write-back and one fence.  The two
 * pool files, of the same size, are kept for the recovery and check
 * workloads, then removed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmemobj.h>

#include "arch.h"
#include "libpm.h"
#include "pmbench.h"

/* LIMIT: the same bytes stored at the same kind of random places, their
 * lines written back and one fence: what any transaction must at least
 * spend to make them durable at home. */
enum lib { LIBPM, PMDK, LIMIT };

struct ctx {
	enum lib lib;
	struct pm_pool *pool;
	PMEMobjpool *pop;
	char *base;  /* data area / root object */
	size_t span; /* random places within [base, base + span) */
	int nranges;
	size_t len;
	double secs;
	unsigned seed;
	long n;	       /* result: transactions */
	double fences; /* result: per tx (libpm) */
};

static int one_tx(struct ctx *c, const char *src)
{
	size_t span = c->span / 4096 - 1;
	struct pm_tx *tx;
	int ret = 0;

	if (c->lib == LIBPM) {
		/* Payload plus each write's 24-byte record (pm_tx_begin(3)):
		 * past four writes, the reservation must cover them. */
		ret = pm_tx_begin(c->pool, (c->len + 24) * (size_t)c->nranges,
				  &tx);
		for (int k = 0; !ret && k < c->nranges; k++)
			ret = pm_tx_write(tx,
					  c->base + pmb_rnd(&c->seed) % span *
							    4096,
					  src, c->len);
		return ret ? ret : pm_tx_commit(tx);
	}
	if (c->lib == LIMIT) {
		for (int k = 0; k < c->nranges; k++) {
			char *d = c->base + pmb_rnd(&c->seed) % span * 4096;

			memcpy(d, src, c->len);
			pm_arch.flush(d, c->len);
		}
		pm_arch.fence();
		return 0;
	}
	if (pmemobj_tx_begin(c->pop, NULL, TX_PARAM_NONE))
		return -1;
	for (int k = 0; k < c->nranges; k++) {
		char *d = c->base + pmb_rnd(&c->seed) % span * 4096;

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
	double t0 = pmb_now();
	long n = 0;

	pm_stats_reset();
	do {
		for (int i = 0; i < 64; i++)
			if (one_tx(c, src)) {
				fprintf(stderr,
					"pmbench: transaction failed\n");
				exit(1);
			}
		n += 64;
	} while (pmb_now() - t0 < c->secs);
	pm_stats_get(&st);
	c->n = n;
	c->fences = (double)st.fences / (double)n;
	return NULL;
}

/* Seconds per transaction (wall time / all threads' transactions). */
static double once(const struct ctx *proto, int nthreads, int rep,
		   double *fences)
{
	struct ctx c[2];
	pthread_t t[2];
	double t0 = pmb_now();
	long n = 0;

	for (int i = 0; i < nthreads; i++) {
		c[i] = *proto;
		c[i].seed = 2463534242u + 7919u * (unsigned)(rep * 2 + i);
		c[i].span = proto->span / (size_t)nthreads;
		c[i].base += (size_t)i * c[i].span;
		if (pthread_create(&t[i], NULL, run, &c[i])) {
			fprintf(stderr, "pmbench: pthread_create failed\n");
			exit(1);
		}
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		n += c[i].n;
	}
	if (fences)
		*fences = c[0].fences;
	return (pmb_now() - t0) / (double)n;
}

static int create_both(const struct pmb_opts *o, const char *p1, const char *p2,
		       struct ctx *pm, struct ctx *ob)
{
	size_t file = o->pool_size + (o->pool_size >> 3);
	int zero = 0, ret;
	PMEMoid root;

	ret = pm_pool_create(p1, file, NULL, &pm->pool);
	if (ret) {
		fprintf(stderr, "pmbench: %s: %s\n", p1, pm_strerror(ret));
		return -1;
	}
	pm->base = pm_pool_data(pm->pool, NULL);
	/* No shutdown-state tracking: /dev/shm has none to read. */
	pmemobj_ctl_set(NULL, "sds.at_create", &zero);
	ob->pop = pmemobj_create(p2, "pmbench", file, 0600);
	if (!ob->pop) {
		fprintf(stderr, "pmbench: pmemobj_create: %s\n",
			pmemobj_errormsg());
		return -1;
	}
	root = pmemobj_root(ob->pop, o->pool_size);
	ob->base = pmemobj_direct(root);
	if (!ob->base) {
		fprintf(stderr, "pmbench: pmemobj_root: %s\n",
			pmemobj_errormsg());
		return -1;
	}
	/* Touch every page once so neither side pays first-fault costs. */
	memset(pm->base, 0, o->pool_size);
	memset(ob->base, 0, o->pool_size);
	pm->span = ob->span = o->pool_size;
	pm->secs = ob->secs = o->secs;
	return 0;
}

static void workload(const struct pmb_opts *o, struct ctx *pm, struct ctx *ob,
		     const char *name, int nranges, size_t len, int threads,
		     double pmdk_fences)
{
	double a[o->reps], b[o->reps], l[o->reps], f = 0;
	struct pmb_result *r;
	struct ctx lim;

	pmb_progress("tx %s", name);
	pm->nranges = ob->nranges = nranges;
	pm->len = ob->len = len;
	lim = *pm;
	lim.lib = LIMIT;
	once(pm, threads, -1, NULL); /* warm-up */
	once(ob, threads, -1, NULL);
	for (int i = 0; i < o->reps; i++) {
		a[i] = once(pm, threads, i, &f);
		b[i] = once(ob, threads, i, NULL);
		l[i] = once(&lim, threads, i, NULL);
	}
	r = pmb_add("tx", name, len * (size_t)nranges);
	if (!r)
		return;
	pmb_times(r, a, b, o->reps);
	r->t_limit = pmb_median(l, o->reps);
	r->f_pm = f;
	r->f_pmdk = pmdk_fences;
	r->unit = "op/s";
	r->note = threads > 1 ? "total of both threads" : NULL;
}

int pmb_tx(const struct pmb_opts *o, int tx, int recovery, int check)
{
	struct ctx pm = { .lib = LIBPM }, ob = { .lib = PMDK };
	char p1[256], p2[256];
	int ret;

	pmb_path(p1, sizeof(p1), o, "tx-libpm");
	pmb_path(p2, sizeof(p2), o, "tx-pmdk");
	pmb_progress("creating two pools of %zu MiB", o->pool_size >> 20);
	ret = create_both(o, p1, p2, &pm, &ob);
	if (!ret && tx) {
		/* libpmemobj's fences per transaction are known counts
		 * (breakpoints on every fence, see pmbench(1)). */
		workload(o, &pm, &ob, "one 64 B write, random", 1, 64, 1, 5);
		workload(o, &pm, &ob, "8 random 64 B writes", 8, 64, 1, 19);
		workload(o, &pm, &ob, "one 4 KiB write", 1, 4096, 1, 7);
		workload(o, &pm, &ob, "one 64 B write, 2 threads", 1, 64, 2, 5);
	}
	pm_pool_close(pm.pool);
	if (ob.pop)
		pmemobj_close(ob.pop);
	if (!ret && recovery)
		ret = pmb_recovery(o, p1, p2);
	if (!ret && check)
		ret = pmb_check(o, p1, p2);
	unlink(p1);
	unlink(p2);
	return ret;
}
