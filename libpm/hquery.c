/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hquery.c - what a heap holds: offsets and addresses, an object's usable
 * size, the walk over allocated objects and the heap's numbers.
 *
 * Invariant: nothing here changes the heap.  It reads the volatile state
 * of committed transactions (a unit's "used" bit, an extent's committed
 * mark), never what a transaction in flight reserved, with atomic loads:
 * it may run beside threads that allocate and free.
 */
#include "heap.h"

/* ---- what the heap holds ------------------------------------------------- */

/**
 * pm_pool_ptr - the address of a pool offset
 * @pool: the pool
 * @off: an offset from the pool's start, as pm_tx_alloc() gives them
 *
 * Return: the address, or NULL if @off is 0 or not inside the data area.
 */
PM_EXPORT void *pm_pool_ptr(struct pm_pool *pool, uint64_t off)
{
	if (!pool || off < pool->data_off || off >= pool->pool_size)
		return NULL;
	return pool->base + off;
}

/**
 * pm_pool_off - the pool offset of an address
 * @pool: the pool
 * @ptr: an address inside the pool's data area
 *
 * Return: the offset from the pool's start, or 0 if @ptr is not inside
 * the data area.
 */
PM_EXPORT uint64_t pm_pool_off(struct pm_pool *pool, const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr, b;

	if (!pool)
		return 0;
	b = (uintptr_t)pool->base;
	if (p < b + pool->data_off || p - b >= pool->pool_size)
		return 0;
	return p - b;
}

/* The size of the committed object at @off, or 0. */
static uint64_t object_size(struct pm_heap *h, uint64_t off)
{
	struct pm_hrun *r;
	uint64_t p;
	uintptr_t v;
	int64_t k;

	v = pm_heap_lookup(h, off, &p);
	if (v & PM_HX_EXTENT)
		return (v & PM_HX_COMMITTED) &&
				       (off - h->g.pages_off) % PM_HEAP_PAGE ==
					       0 ?
			       (v >> 8) * PM_HEAP_PAGE :
			       0;
	r = (struct pm_hrun *)v;
	if (!r || pm_heap_run_load(h, r))
		return 0;
	k = pm_heap_unit_of(h, r, off);
	if (k < 0 || !((__atomic_load_n(&r->used[k / 64], __ATOMIC_ACQUIRE) >>
			(k % 64)) &
		       1))
		return 0;
	return pm_heap_classes()[r->cls].size;
}

/**
 * pm_usable_size - the usable size of an allocated object
 * @pool: a heap pool
 * @off: the object's offset
 *
 * Return: the bytes usable at @off (at least what was asked for), or 0
 * if @off is not an object allocated by a committed transaction.
 */
PM_EXPORT size_t pm_usable_size(struct pm_pool *pool, uint64_t off)
{
	if (!pool || !pool->heap)
		return 0;
	return (size_t)object_size(pool->heap, off);
}

/* Each committed object of run @r to @cb. */
static int run_walk(struct pm_heap *h, struct pm_hrun *r, uint64_t page,
		    pm_heap_cb cb, void *arg)
{
	const struct pm_heap_class *c = &pm_heap_classes()[r->cls];
	int ret = 0;

	int st = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);

	if (st == PM_HR_PRIVATE || st == PM_HR_DEAD || pm_heap_run_load(h, r))
		return 0;
	for (unsigned w = 0; w < c->nwords && !ret; w++) {
		uint64_t v = __atomic_load_n(&r->used[w], __ATOMIC_ACQUIRE);

		for (; v && !ret; v &= v - 1) {
			uint64_t k = w * 64ULL + __builtin_ctzll(v);

			ret = cb(pm_heap_unit_off(h, r, k), c->size, arg);
		}
	}
	return ret;
}

/* Every committed object in offset order to @cb; the runs and extents
 * seen are counted in @st. */
static int heap_walk(struct pm_heap *h, pm_heap_cb cb, void *arg,
		     struct pm_heap_stats *st)
{
	int ret = 0;

	for (uint64_t p = 0; p < h->g.npages && !ret;) {
		uintptr_t v = __atomic_load_n(&h->vpage[p], __ATOMIC_ACQUIRE);
		struct pm_hrun *r = (struct pm_hrun *)v;

		if (!v) {
			p++;
		} else if (v & PM_HX_EXTENT) {
			if (v & PM_HX_COMMITTED)
				ret = cb(h->g.pages_off + p * PM_HEAP_PAGE,
					 (v >> 8) * PM_HEAP_PAGE, arg);
			st->extents += !!(v & PM_HX_COMMITTED);
			p += v >> 8;
		} else if (pm_heap_run_page(r) != p) {
			p++; /* a run being made or dropped meanwhile */
		} else {
			ret = run_walk(h, r, p, cb, arg);
			st->runs++;
			p += pm_heap_classes()[r->cls].pages;
		}
	}
	return ret;
}

/**
 * pm_heap_walk - visit every allocated object of a heap pool
 * @pool: a heap pool
 * @cb: called with each object's offset and usable size, in offset order
 * @arg: passed to @cb
 *
 * Sees the objects of transactions committed before each object is
 * visited; objects allocated or freed meanwhile by other threads may or
 * may not be seen.  @cb may run transactions.
 *
 * Return: 0, -EINVAL, or the first non-zero value @cb returned.
 */
PM_EXPORT int pm_heap_walk(struct pm_pool *pool, pm_heap_cb cb, void *arg)
{
	struct pm_heap_stats st = { 0 };

	if (!pool || !pool->heap || !cb)
		return pm_err(-EINVAL, "pm_heap_walk: %s",
			      pool && cb ? "not a heap pool" : "NULL argument");
	return heap_walk(pool->heap, cb, arg, &st);
}

static int stat_obj(uint64_t off, size_t size, void *arg)
{
	struct pm_heap_stats *st = arg;

	(void)off;
	st->allocated += size;
	st->objects++;
	return 0;
}

/* Free units of the runs, free pages and their longest stretch. */
static void free_space(struct pm_heap *h, struct pm_heap_stats *st)
{
	const struct pm_heap_class *cl = pm_heap_classes();
	uint64_t len = 0;

	for (struct pm_hrun *r = h->runs; r; r = r->next_all) {
		uint64_t n = 0;

		int state = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);

		if (state == PM_HR_PRIVATE || state == PM_HR_DEAD ||
		    __atomic_load_n(&r->loaded, __ATOMIC_ACQUIRE) <= 0)
			continue;
		for (unsigned w = 0; w < cl[r->cls].nwords; w++)
			n += (uint64_t)__builtin_popcountll(
				__atomic_load_n(&r->busy[w], __ATOMIC_RELAXED));
		st->free += (cl[r->cls].nunits - n) * cl[r->cls].size;
	}
	for (uint64_t p = 0; p < h->g.npages; p++) {
		len = pm_heap_page_free(h, p) ? len + 1 : 0;
		st->free += pm_heap_page_free(h, p) * (uint64_t)PM_HEAP_PAGE;
		st->largest_free = PM_MAX(st->largest_free, len * PM_HEAP_PAGE);
	}
}

/**
 * pm_heap_stats - how full and how fragmented a heap is
 * @pool: a heap pool
 * @st: filled in
 *
 * Reads every run's bitmap that open has not read yet.
 *
 * Return: 0 or -EINVAL.
 */
PM_EXPORT int pm_heap_stats(struct pm_pool *pool, struct pm_heap_stats *st)
{
	struct pm_heap *h = pool ? pool->heap : NULL;

	if (!h || !st)
		return pm_err(-EINVAL, "pm_heap_stats: %s",
			      h ? "NULL argument" : "not a heap pool");
	memset(st, 0, sizeof(*st));
	st->total = h->g.npages * PM_HEAP_PAGE;
	heap_walk(h, stat_obj, st, st);
	pthread_mutex_lock(&h->lock);
	free_space(h, st);
	pthread_mutex_unlock(&h->lock);
	st->fragmentation = st->free ? 1.0 - (double)st->largest_free /
						       (double)st->free :
				       0;
	return 0;
}
