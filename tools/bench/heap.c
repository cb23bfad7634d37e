/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * heap.c - libpm's heap against libpmemobj's, on pools of the same size:
 * a transaction that allocates 64 B and writes it, one that frees it, one
 * that allocates 4 KiB; an allocation and a free outside any user
 * transaction (libpm: a transaction of one operation each; libpmemobj:
 * pmemobj_alloc and pmemobj_free); a transaction that allocates 8 KiB
 * and one that frees it in a heap of many 4 KiB holes; then the hash map
 * put of kv.c, and
 * the open of a heap holding a million objects with the first
 * allocation after it.  Last,
 * a churn for fragmentation: log-uniform sizes from 16 B to 64 KiB, fill
 * until ENOMEM, then ten rounds of freeing a random half and filling
 * again, on pools of 64 MiB, 256 MiB and 1 GiB.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmemobj.h>

#include "internal.h"
#include "libpm.h"
#include "pmbench.h"

/* One library's pool, and the objects a workload holds in it. */
struct heap {
	struct pm_pool *pool; /* libpm, or NULL: */
	PMEMobjpool *pop;     /* libpmemobj */
	uint64_t uuid;	      /* of @pop, for a PMEMoid from an offset */
	size_t pool_size;
	uint64_t *offs; /* the objects allocated, in DRAM */
	size_t n, cap;	/* objects held, room in @offs */
	size_t max;	/* objects a timed run may allocate */
	size_t size;	/* bytes per object */
	int write;	/* the transaction writes the new object */
	int atomic;	/* libpmemobj: pmemobj_alloc/free, no transaction */
};

/* One allocation and one free, each made durable on its own: a
 * transaction of its own for libpm (with the object's write when @write),
 * pmemobj_tx_* or, when @atomic, pmemobj_alloc/free for libpmemobj.  The
 * objects' offsets are kept in @offs, in DRAM. */
static int alloc1(struct heap *h, size_t size, uint64_t *offp)
{
	static const char src[4096];
	struct pm_tx *tx;
	PMEMoid oid = OID_NULL;
	int ret;

	if (h->pool) {
		ret = pm_tx_begin(h->pool,
				  (h->write ? size : 0) + PM_TX_HEAP_RESERVE,
				  &tx);
		if (ret)
			return ret;
		ret = pm_tx_alloc(tx, size, 0, offp);
		if (!ret && h->write)
			ret = pm_tx_write(tx, pm_pool_ptr(h->pool, *offp), src,
					  size);
		if (ret)
			pm_tx_abort(tx);
		return ret ? ret : pm_tx_commit(tx);
	}
	if (h->atomic) {
		ret = pmemobj_alloc(h->pop, &oid, size, 1, NULL, NULL);
		*offp = oid.off;
		return ret ? -errno : 0;
	}
	if (pmemobj_tx_begin(h->pop, NULL, TX_PARAM_NONE))
		return -errno;
	oid = pmemobj_tx_alloc(size, 1);
	if (!OID_IS_NULL(oid) && h->write)
		memcpy(pmemobj_direct(oid), src, size);
	if (pmemobj_tx_stage() == TX_STAGE_WORK)
		pmemobj_tx_commit();
	*offp = oid.off;
	return pmemobj_tx_end() ? -errno : 0;
}

static int free1(struct heap *h, uint64_t off)
{
	PMEMoid oid = { h->uuid, off };
	struct pm_tx *tx;
	int ret;

	if (h->pool) {
		ret = pm_tx_begin(h->pool, PM_TX_HEAP_RESERVE, &tx);
		if (!ret && (ret = pm_tx_free(tx, off)))
			pm_tx_abort(tx);
		return ret ? ret : pm_tx_commit(tx);
	}
	if (h->atomic) {
		pmemobj_free(&oid);
		return 0;
	}
	if (pmemobj_tx_begin(h->pop, NULL, TX_PARAM_NONE))
		return -errno;
	if (!pmemobj_tx_free(oid))
		pmemobj_tx_commit();
	return pmemobj_tx_end() ? -errno : 0;
}

static int op_alloc(void *arg)
{
	struct heap *h = arg;
	int ret = h->n < h->max ? alloc1(h, h->size, &h->offs[h->n]) : -ENOSPC;

	h->n += !ret;
	return ret;
}

static int op_free(void *arg)
{
	struct heap *h = arg;

	return free1(h, h->offs[--h->n]);
}

static int op_pair(void *arg)
{
	struct heap *h = arg;
	uint64_t off;
	int ret = alloc1(h, h->size, &off);

	return ret ? ret : free1(h, off);
}

/* Allocations for o->secs (at most h->max), then a free of each. */
static void cycle(const struct pmb_opts *o, struct heap *h, double *ta,
		  double *tf, double *fa, double *ff)
{
	double a, f;

	a = pmb_run(op_alloc, h, o->secs, (long)h->max, fa);
	f = h->n ? pmb_run(op_free, h, 1e9, (long)h->n, ff) : 0;
	if (ta)
		*ta = a;
	if (tf)
		*tf = f;
}

static void allocs(const struct pmb_opts *o, struct heap *h, const char *name,
		   const char *free_name, size_t size, int write,
		   double pmdk_fences, double pmdk_free_fences)
{
	double a[2][o->reps], f[2][o->reps], fa = 0, ff = 0;
	struct pmb_result *r;

	pmb_progress("heap %s", name);
	for (int l = 0; l < 2; l++) {
		h[l].size = size;
		h[l].write = write;
		h[l].atomic = 0;
		h[l].max = PM_MIN(h[l].cap, h[l].pool_size / 2 / size);
		cycle(o, &h[l], NULL, NULL, NULL, NULL); /* warm-up */
	}
	for (int i = 0; i < o->reps; i++) {
		cycle(o, &h[0], &a[0][i], &f[0][i], &fa, &ff);
		cycle(o, &h[1], &a[1][i], &f[1][i], NULL, NULL);
	}
	r = pmb_add_ops("heap", name, a[0], a[1], o->reps);
	if (r) {
		r->f_pm = fa;
		r->f_pmdk = pmdk_fences;
		r->t_limit = pmb_floor(o, write ? size : 0, 1);
	}
	r = free_name ? pmb_add_ops("heap", free_name, f[0], f[1], o->reps) :
			NULL;
	if (r) {
		r->f_pm = ff;
		r->f_pmdk = pmdk_free_fences;
		r->t_limit = pmb_floor(o, 0, 1);
	}
}

/* ---- churn ---------------------------------------------------------------- */

/* A log-uniform size from 16 B to 64 KiB. */
static size_t churn_size(unsigned *seed)
{
	return (size_t)exp2(4 + 12 * (double)(pmb_rnd(seed) % 1000000) / 1e6);
}

/* Allocate until the first -ENOMEM; 0, or an error other than that. */
static int fill(struct heap *h, unsigned *seed, size_t *sizes, size_t *live)
{
	for (;;) {
		size_t s = churn_size(seed);
		int ret = h->n < h->cap ? alloc1(h, s, &h->offs[h->n]) :
					  -ENOSPC;

		if (ret)
			return ret == -ENOMEM ? 0 : ret;
		sizes[h->n++] = s;
		*live += s;
	}
}

/* First-ENOMEM and worst-round fill of one library's pool of @size. */
static int churn_one(struct heap *h, size_t size, double *first, double *worst)
{
	size_t *sizes = malloc(h->cap * sizeof(*sizes)), live = 0;
	unsigned seed = 2463534242u;
	int ret = sizes ? fill(h, &seed, sizes, &live) : -ENOMEM;

	*first = (double)live / (double)size;
	*worst = 1;
	for (int round = 0; !ret && round < 10; round++) {
		/* a random half to the front, then freed */
		for (size_t i = 0; !ret && i < h->n / 2; i++) {
			size_t j = i + pmb_rnd(&seed) % (h->n - i);
			uint64_t off = h->offs[j];
			size_t s = sizes[j];

			h->offs[j] = h->offs[i];
			sizes[j] = sizes[i];
			h->offs[i] = off;
			sizes[i] = s;
			live -= s;
			ret = free1(h, off);
		}
		memmove(h->offs, h->offs + h->n / 2,
			(h->n - h->n / 2) * sizeof(*h->offs));
		memmove(sizes, sizes + h->n / 2,
			(h->n - h->n / 2) * sizeof(*sizes));
		h->n -= h->n / 2;
		if (!ret)
			ret = fill(h, &seed, sizes, &live);
		*worst = PM_MIN(*worst, (double)live / (double)size);
	}
	free(sizes);
	return ret;
}

/* ---- pools and the report --------------------------------------------------- */

static int heap_create(const struct pmb_opts *o, struct heap *h, int pmdk,
		       size_t size, int keep)
{
	struct pm_pool_opts po = { .sz = sizeof(po), .flags = PM_POOL_HEAP };
	char path[256];
	int zero = 0, ret = 0;

	memset(h, 0, sizeof(*h));
	h->pool_size = size;
	h->cap = size / 512;
	h->offs = malloc(h->cap * sizeof(*h->offs));
	pmb_path(path, sizeof(path), o,
		 keep ? (pmdk ? "open-pmdk" : "open-libpm") :
			(pmdk ? "heap-pmdk" : "heap-libpm"));
	if (!pmdk) {
		ret = pm_pool_create(path, size, &po, &h->pool);
	} else {
		/* No shutdown-state tracking: /dev/shm has none to read. */
		pmemobj_ctl_set(NULL, "sds.at_create", &zero);
		h->pop = pmemobj_create(path, "pmbench", size, 0600);
		ret = h->pop ? 0 : -errno;
		if (h->pop)
			h->uuid = pmemobj_root(h->pop, 64).pool_uuid_lo;
	}
	if (!keep)
		unlink(path);
	if (!ret && !h->offs)
		ret = -ENOMEM;
	if (ret)
		fprintf(stderr, "pmbench: %s pool of %zu MiB: %s\n",
			pmdk ? "libpmemobj" : "libpm heap", size >> 20,
			pmdk && !h->pop ? pmemobj_errormsg() :
					  pm_strerror(ret));
	return ret;
}

static void heap_destroy(struct heap *h)
{
	pm_pool_close(h->pool);
	if (h->pop)
		pmemobj_close(h->pop);
	free(h->offs);
	memset(h, 0, sizeof(*h));
}

/* ---- open of a full heap ------------------------------------------------- */

#define OPEN_BATCH 100

/* Fill @h with @n objects of 64 B, OPEN_BATCH to a transaction. */
static int open_fill(struct heap *h, size_t n)
{
	PMEMoid oid;
	struct pm_tx *tx;
	uint64_t off;
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i += OPEN_BATCH) {
		if (h->pool) {
			ret = pm_tx_begin(h->pool,
					  OPEN_BATCH * PM_TX_HEAP_RESERVE, &tx);
			for (int k = 0; !ret && k < OPEN_BATCH; k++)
				if ((ret = pm_tx_alloc(tx, 64, 0, &off)))
					pm_tx_abort(tx);
			if (!ret)
				ret = pm_tx_commit(tx);
			continue;
		}
		if (pmemobj_tx_begin(h->pop, NULL, TX_PARAM_NONE))
			return -errno;
		for (int k = 0; k < OPEN_BATCH; k++)
			oid = pmemobj_tx_alloc(64, 1);
		if (pmemobj_tx_stage() == TX_STAGE_WORK)
			pmemobj_tx_commit();
		ret = pmemobj_tx_end() || OID_IS_NULL(oid) ? -ENOMEM : 0;
	}
	return ret;
}

/* A heap of many small holes: half the pool in 4 KiB objects, every
 * other one freed; then a transaction that allocates 8 KiB, which no
 * hole fits, and one that frees it.  The objects are freed after. */
static int holes(const struct pmb_opts *o, struct heap *h)
{
	struct pmb_result *r = NULL;
	int ret = 0;

	pmb_progress("heap: among holes");
	for (int l = 0; !ret && l < 2; l++) {
		h[l].size = 4096;
		h[l].write = h[l].atomic = 0;
		h[l].max = PM_MIN(h[l].cap, h[l].pool_size / 2 / 4096);
		while (!ret && h[l].n < h[l].max)
			ret = op_alloc(&h[l]);
		for (size_t i = 0; !ret && i < h[l].n; i += 2)
			ret = free1(&h[l], h[l].offs[i]);
		h[l].size = 8192;
	}
	if (!ret)
		r = pmb_versus(o, "heap", "tx alloc+free 8 KiB among holes",
			       op_pair, &h[0], op_pair, &h[1]);
	if (r) {
		r->f_pmdk = 6;
		r->t_limit = pmb_floor(o, 0, 2);
	}
	for (int l = 0; l < 2; l++) {
		for (size_t i = 1; !ret && i < h[l].n; i += 2)
			ret = free1(&h[l], h[l].offs[i]);
		h[l].n = 0;
	}
	if (ret)
		fprintf(stderr, "pmbench: heap holes: %s\n", pm_strerror(ret));
	return ret;
}

/* Open the pool at @path, then allocate 64 B in a transaction: the times
 * of both into @t_open and @t_alloc; 0 or -errno. */
static int open_once(const char *path, int pmdk, double *t_open,
		     double *t_alloc)
{
	struct pm_pool *pool = NULL;
	PMEMobjpool *pop = NULL;
	struct pm_tx *tx;
	uint64_t off;
	PMEMoid oid;
	double t = pmb_now();
	int ret;

	if (!pmdk)
		ret = pm_pool_open(path, 0, &pool);
	else
		ret = (pop = pmemobj_open(path, "pmbench")) ? 0 : -errno;
	*t_open = pmb_now() - t;
	if (ret)
		return ret;
	t = pmb_now();
	if (!pmdk && !(ret = pm_tx_begin(pool, PM_TX_HEAP_RESERVE, &tx))) {
		ret = pm_tx_alloc(tx, 64, 0, &off);
		pm_tx_abort(tx);
	} else if (pmdk) {
		ret = pmemobj_alloc(pop, &oid, 64, 1, NULL, NULL) ? -errno : 0;
		if (!ret)
			pmemobj_free(&oid);
	}
	*t_alloc = pmb_now() - t;
	pm_pool_close(pool);
	if (pop)
		pmemobj_close(pop);
	return ret;
}

/* Open of a 1 GiB heap holding 1 M objects of 64 B (--quick: 256 MiB, a
 * quarter of them) and the first allocation after it, both libraries'
 * pools closed cleanly; the time of each, median of o->reps opens. */
static int heap_opens(const struct pmb_opts *o)
{
	size_t size = o->quick ? (size_t)256 << 20 : (size_t)1 << 30;
	size_t n = size >> 10;
	double t[2][2][o->reps];
	struct pmb_result *r;
	char path[2][256];
	int ret = 0;

	pmb_progress("heap: open of %zu objects", n);
	for (int l = 0; !ret && l < 2; l++) {
		struct heap h;

		pmb_path(path[l], sizeof(path[l]), o,
			 l ? "open-pmdk" : "open-libpm");
		ret = heap_create(o, &h, l, size, 1);
		if (!ret)
			ret = open_fill(&h, n);
		heap_destroy(&h);
	}
	for (int i = 0; !ret && i < o->reps; i++)
		for (int l = 0; !ret && l < 2; l++)
			ret = open_once(path[l], l, &t[l][0][i], &t[l][1][i]);
	unlink(path[0]);
	unlink(path[1]);
	if (ret) {
		fprintf(stderr, "pmbench: heap open: %s\n", pm_strerror(ret));
		return ret;
	}
	for (int k = 0; k < 2; k++) {
		r = pmb_add("heap", k ? "first alloc after open" : "", 0);
		if (!r)
			break;
		if (!k)
			snprintf(r->name, sizeof(r->name),
				 "open, %zu %s objects of 64 B",
				 n >> 20 ? n >> 20 : n >> 10,
				 n >> 20 ? "M" : "K");
		pmb_times(r, t[0][k], t[1][k], o->reps);
		r->f_pm = r->f_pmdk = -1;
		r->unit = "ms";
		r->note = "time per open, then per first allocation";
	}
	return 0;
}

/* libpmemobj's fences per operation are known counts, as in tx.c (see
 * pmbench(1)). */
int pmb_heap(const struct pmb_opts *o)
{
	struct heap h[2];
	struct pmb_result *r;
	int ret;

	pmb_progress("heap: two pools of %zu MiB", o->pool_size >> 20);
	ret = heap_create(o, &h[0], 0, o->pool_size, 0);
	if (!ret)
		ret = heap_create(o, &h[1], 1, o->pool_size, 0);
	if (!ret) {
		allocs(o, h, "tx alloc 64 B + write", "tx free 64 B", 64, 1, 3,
		       3);
		allocs(o, h, "tx alloc 4 KiB", NULL, 4096, 0, 3, -1);
		h[0].atomic = h[1].atomic = 1;
		h[0].size = h[1].size = 64;
		r = pmb_versus(o, "heap", "alloc + free 64 B, no user tx",
			       op_pair, &h[0], op_pair, &h[1]);
		if (r) {
			r->f_pmdk = 4;
			r->t_limit = pmb_floor(o, 0, 2);
		}
		ret = holes(o, h);
	}
	if (!ret)
		ret = pmb_kv(o, h[0].pool, h[1].pop);
	heap_destroy(&h[0]);
	heap_destroy(&h[1]);
	return ret ? ret : heap_opens(o);
}

/* Running out is what the churn is for: libpm says so at every ENOMEM. */
static void quiet(int level, const char *msg, void *arg)
{
}

int pmb_churn(const struct pmb_opts *o)
{
	static const size_t sizes[] = { (size_t)64 << 20, (size_t)256 << 20,
					(size_t)1 << 30 };
	static const char *const names[] = { "64 MiB", "256 MiB", "1 GiB" };
	double first[2], worst[2];
	struct pmb_result *r;
	struct heap h;
	char name[48];
	int ret = 0;

	pm_set_log_fn(quiet, NULL);
	for (int i = 0; !ret && i < (o->quick ? 2 : 3); i++) {
		pmb_progress("churn %s", names[i]);
		for (int l = 0; !ret && l < 2; l++) {
			ret = heap_create(o, &h, l, sizes[i], 0);
			h.atomic = 1;
			if (!ret)
				ret = churn_one(&h, sizes[i], &first[l],
						&worst[l]);
			if (ret)
				fprintf(stderr, "pmbench: churn: %s\n",
					pm_strerror(ret));
			heap_destroy(&h);
		}
		for (int k = 0; !ret && k < 2; k++) {
			snprintf(name, sizeof(name), "%s pool, %s", names[i],
				 k ? "first ENOMEM" : "worst round");
			r = pmb_add("churn", name, 0);
			if (!r)
				break;
			r->t_pm = k ? first[0] : worst[0];
			r->t_pmdk = k ? first[1] : worst[1];
			r->f_pm = r->f_pmdk = -1;
			r->unit = "%";
			r->note = "live bytes / pool size";
		}
	}
	pm_set_log_fn(NULL, NULL);
	return ret;
}
