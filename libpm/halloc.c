/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * halloc.c - allocation and freeing inside transactions, the root object,
 * and the heap's public getters, stats and walk.
 *
 * Invariant: the heap's media changes ride in the transaction's own redo
 * entry, so they are durable with its one fence and replayed with it, in
 * seq order: a bitmap bit by a SETB/CLRB record (two transactions in
 * flight may change bits of one word), a page header by a range record
 * written only by the transaction that owns the block (it reserved the
 * pages, or holds the block's free), a new run's bitmap by a ZERO record.
 * The volatile state follows the outcome (pool->heap_end): a unit or a
 * block is reserved at allocation and released if the transaction does
 * not commit; a freed one is reusable only once its free committed, so
 * any later user's seq comes after the free's.  A run a transaction makes
 * is private to it until it commits.
 */
#include "halloc.h"
#include "heap.h"
#include "testhook.h"
#include "tx.h"

enum { OP_ALLOC_UNIT, OP_ALLOC_EXT, OP_FREE_UNIT, OP_FREE_EXT, OP_CLAIM };

/* Records of one allocation at most: stale headers zeroed, a new run's
 * header and bitmap, the bit (or an extent's header), zeroing. */
#define ALLOC_LOG (2 * PM_TX_REC_BYTES(8) + 3 * PM_TX_REC_BYTES(0))
#define FREE_LOG PM_TX_REC_BYTES(8)
_Static_assert(ALLOC_LOG <= PM_TX_HEAP_RESERVE, "heap reserve");

static unsigned arena_next;
static __thread unsigned my_arena /* index + 1; 0: none yet */
	__attribute__((tls_model("initial-exec")));

static struct pm_heap_arena *arena_get(struct pm_heap *h)
{
	if (!my_arena)
		my_arena = __atomic_fetch_add(&arena_next, 1,
					      __ATOMIC_RELAXED) %
				   PM_HEAP_NARENAS +
			   1;
	return &h->arenas[my_arena - 1];
}

static struct pm_htx *htx_of(const struct pm_heap *h, const struct pm_tx *tx)
{
	return &h->htx[tx->lane - h->pool->lanes->lane];
}

/* ---- staging ------------------------------------------------------------- */

static void put_bit(struct pm_heap *h, struct pm_tx *tx, uint32_t type,
		    const struct pm_hrun *r, uint64_t idx)
{
	uint64_t m = pm_le64(1ULL << (idx % 64));
	uint64_t *w = (uint64_t *)pm_heap_run_at(h, r) + idx / 64;

	if (PM_UNLIKELY(pm_test_break & PM_BREAK_HEAP_BITS) &&
	    type == PM_REC_SETB) { /* the bug the crash simulator must see */
		__atomic_fetch_or(w, m, __ATOMIC_RELAXED);
		if (pm_map_flush(h->pool->map, w, 8))
			pm_tx_room(tx, UINT64_MAX); /* fails the transaction */
		return;
	}
	pm_tx_put(tx, type, pm_heap_doff(h, w), &m, 8);
}

static void put_phdr(struct pm_heap *h, struct pm_tx *tx, uint64_t page,
		     uint64_t v)
{
	v = pm_le64(v);
	pm_tx_put(tx, PM_REC_RANGE, pm_heap_doff(h, &h->hdrs[page]), &v, 8);
}

static void put_zero(struct pm_heap *h, struct pm_tx *tx, uint64_t off,
		     uint64_t len)
{
	pm_tx_put(tx, PM_REC_ZERO, off - h->pool->data_off, NULL, len);
}

static void op_add(struct pm_tx *tx, struct pm_htx *t, uint32_t kind,
		   struct pm_hrun *r, uint64_t page, uint64_t idx)
{
	t->ops[t->n++] =
		(struct pm_hop){ page, r, (uint32_t)idx, kind, 0, 0, 0 };
	tx->heap_ops++;
}

/* Pages taken: zero the headers of the stale runs they claimed (the
 * whole claim is this transaction's) and remember the claim. */
static void pages_taken(struct pm_heap *h, struct pm_tx *tx, struct pm_htx *t,
			const struct pm_hpages *pg)
{
	if (!pg->claimed)
		return;
	pm_tx_put(tx, PM_REC_ZERO, pm_heap_doff(h, &h->hdrs[pg->lo]), NULL,
		  (pg->hi - pg->lo) * 8);
	t->ops[t->n++] = (struct pm_hop){ pg->p,  NULL,	  0,	OP_CLAIM,
					  pg->lo, pg->hi, pg->n };
	t->nclaims++;
	tx->heap_ops++;
}

/* ---- allocation ---------------------------------------------------------- */

/* No room in the heap (pm_tx_alloc() says so); -errno: said already. */
#define NO_ROOM 1

/* A new run of class @c made by this transaction, private to it: 0,
 * NO_ROOM or -ENOMEM. */
static int run_make(struct pm_heap *h, struct pm_tx *tx, struct pm_htx *t,
		    unsigned c, unsigned life, struct pm_hrun **rp)
{
	const struct pm_heap_class *cl = &pm_heap_classes()[c];
	struct pm_hrun *r = NULL;
	struct pm_hpages pg;
	int ret;

	pthread_mutex_lock(&h->lock);
	ret = pm_heap_pages_take(h, cl->pages, life, &pg);
	if (!ret) {
		r = pm_heap_run_new(h, pg.p, c, life, PM_HR_PRIVATE);
		if (!r) {
			pm_heap_pages_give(h, pg.p, pg.n);
			pm_heap_claim_undo(h, &pg);
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (ret)
		return NO_ROOM;
	if (!r)
		return pm_err(-ENOMEM, "%s: out of memory", h->pool->path);
	pages_taken(h, tx, t, &pg);
	put_phdr(h, tx, r->page, pm_heap_phdr(PM_HEAP_T_RUN, c, cl->pages));
	put_zero(h, tx, h->g.pages_off + r->page * PM_HEAP_PAGE,
		 (uint64_t)cl->nwords * 8);
	r->next = t->fresh;
	t->fresh = r;
	*rp = r;
	return 0;
}

/* A partial run of class @c off the heap's list, its bitmap read. */
static struct pm_hrun *run_take(struct pm_heap *h, unsigned c, unsigned life)
{
	struct pm_hrun *r;

	for (;;) {
		pthread_mutex_lock(&h->lock);
		r = h->partial[life][c];
		if (r) {
			h->partial[life][c] = r->next;
			__atomic_store_n(&r->state, PM_HR_ARENA,
					 __ATOMIC_SEQ_CST);
		}
		pthread_mutex_unlock(&h->lock);
		if (!r || pm_heap_run_load(h, r) == 0)
			return r;
		/* damaged: out of circulation (pmck reports it) */
		__atomic_store_n(&r->state, PM_HR_DEAD, __ATOMIC_SEQ_CST);
	}
}

/* A full run leaves its arena; a free that raced with that lists it. */
static void run_leave(struct pm_heap *h, struct pm_hrun *r)
{
	pthread_mutex_lock(&h->lock);
	__atomic_store_n(&r->state, PM_HR_NONE, __ATOMIC_SEQ_CST);
	pm_heap_run_list(h, r);
	pthread_mutex_unlock(&h->lock);
}

/* A unit of class @c: from this transaction's own runs, the arena's
 * current run, a partial run, or a new run: 0 (*@rp, *@idxp), NO_ROOM
 * or -ENOMEM. */
static int unit_get(struct pm_heap *h, struct pm_tx *tx, struct pm_htx *t,
		    unsigned c, unsigned life, struct pm_hrun **rp,
		    int64_t *idxp)
{
	struct pm_heap_arena *a;
	struct pm_hrun *r;
	int64_t idx = -1;
	int ret;

	for (r = t->fresh; r; r = r->next)
		if (r->cls == c && r->life == life &&
		    (idx = pm_heap_run_grab(r)) >= 0)
			goto got;
	a = arena_get(h);
	pthread_mutex_lock(&a->lock);
	while ((r = a->cur[life][c]) != NULL || (r = run_take(h, c, life))) {
		a->cur[life][c] = r;
		idx = pm_heap_run_grab(r);
		if (idx >= 0)
			break;
		a->cur[life][c] = NULL;
		run_leave(h, r);
	}
	pthread_mutex_unlock(&a->lock);
	if (!r) {
		ret = run_make(h, tx, t, c, life, &r);
		if (ret)
			return ret;
		idx = pm_heap_run_grab(r);
	}
got:
	*rp = r;
	*idxp = idx;
	return 0;
}

static int alloc_unit(struct pm_heap *h, struct pm_tx *tx, struct pm_htx *t,
		      uint64_t size, unsigned flags, uint64_t *offp)
{
	unsigned c = pm_heap_class_of(size), life = !!(flags & PM_ALLOC_SHORT);
	struct pm_hrun *r = NULL;
	int64_t idx = 0;
	int ret = unit_get(h, tx, t, c, life, &r, &idx);

	if (ret)
		return ret;
	put_bit(h, tx, PM_REC_SETB, r, (uint64_t)idx);
	*offp = pm_heap_unit_off(h, r, (uint64_t)idx);
	if (flags & PM_ALLOC_ZERO)
		put_zero(h, tx, *offp, pm_heap_classes()[c].size);
	op_add(tx, t, OP_ALLOC_UNIT, r, 0, (uint64_t)idx);
	return 0;
}

static int alloc_extent(struct pm_heap *h, struct pm_tx *tx, struct pm_htx *t,
			uint64_t size, unsigned flags, uint64_t *offp)
{
	uint64_t n = (size + PM_HEAP_PAGE - 1) / PM_HEAP_PAGE;
	struct pm_hpages pg;
	int ret;

	pthread_mutex_lock(&h->lock);
	ret = pm_heap_pages_take(h, n, !!(flags & PM_ALLOC_SHORT), &pg);
	if (!ret)
		__atomic_store_n(&h->vpage[pg.p],
				 (uintptr_t)(n << 8 | PM_HX_EXTENT),
				 __ATOMIC_RELEASE);
	pthread_mutex_unlock(&h->lock);
	if (ret)
		return NO_ROOM;
	pages_taken(h, tx, t, &pg);
	put_phdr(h, tx, pg.p, pm_heap_phdr(PM_HEAP_T_EXTENT, 0, n));
	*offp = h->g.pages_off + pg.p * PM_HEAP_PAGE;
	if (flags & PM_ALLOC_ZERO)
		put_zero(h, tx, *offp, n * PM_HEAP_PAGE);
	op_add(tx, t, OP_ALLOC_EXT, NULL, pg.p, 0);
	return 0;
}

/* An object goes in a run when its class is smaller than its whole
 * pages; otherwise it is an extent, which wastes no more and never pins
 * a run's other units (a run of 8 to 32 KiB units holds only a few). */
static int in_run(uint64_t size)
{
	return size <= PM_HEAP_SMALL_MAX &&
	       pm_heap_classes()[pm_heap_class_of(size)].size <
		       PM_ALIGN_UP(size, (uint64_t)PM_HEAP_PAGE);
}

static int heap_of_tx(struct pm_tx *tx, const char *fn, struct pm_heap **hp)
{
	int ret = pm_tx_check(tx, fn);

	if (ret)
		return ret;
	*hp = tx->pool->heap;
	if (!*hp)
		return pm_err(-EINVAL,
			      "%s: %s: not a heap pool (create it "
			      "with PM_POOL_HEAP)",
			      tx->pool->path, fn);
	if (tx->failed)
		return PM_E_TX_FAILED;
	return 0;
}

/* Room for two more operations in @t (an allocation and its claim). */
static int ops_room(struct pm_heap *h, struct pm_htx *t)
{
	struct pm_hop *v;

	if (t->n + 2 <= t->cap)
		return 0;
	v = pm_grow(t->ops, &t->cap, t->cap, sizeof(*t->ops), 16);
	if (!v)
		return pm_err(-ENOMEM, "%s: out of memory", h->pool->path);
	t->ops = v;
	return 0;
}

/**
 * pm_tx_alloc - allocate an object in a transaction
 * @tx: a transaction on a heap pool (PM_POOL_HEAP)
 * @size: bytes, at least 1
 * @flags: PM_ALLOC_ZERO, and PM_ALLOC_SHORT or PM_ALLOC_LONG
 * @offp: receives the object's pool offset
 *
 * The object is the transaction's at once (write it with pm_tx_write());
 * it is allocated for good at commit and gone after an abort or a crash
 * before commit.  Objects up to 32 KiB come from size-class runs, larger
 * ones are extents of 4 KiB pages.  Stages up to PM_TX_HEAP_RESERVE bytes
 * of log records, no fence.
 *
 * Return: 0; -ENOMEM when the heap has no room (the transaction goes on);
 * -EFBIG for a size the heap can never hold; -EINVAL; -ENOSPC when the
 * records do not fit the lane (the transaction has failed, as for
 * pm_tx_write()); PM_E_TX_FAILED; PM_E_CORRUPT for a damaged run.
 */
PM_EXPORT int pm_tx_alloc(struct pm_tx *tx, size_t size, unsigned flags,
			  uint64_t *offp)
{
	struct pm_heap *h;
	struct pm_htx *t;
	int ret = heap_of_tx(tx, "pm_tx_alloc", &h);

	if (ret)
		return ret;
	if (!offp || !size || (flags & ~PM_ALLOC_VALID) ||
	    (flags & PM_ALLOC_SHORT && flags & PM_ALLOC_LONG))
		return pm_err(-EINVAL, "%s: pm_tx_alloc: bad arguments",
			      h->pool->path);
	if (size > h->g.npages * PM_HEAP_PAGE)
		return pm_err(-EFBIG,
			      "%s: pm_tx_alloc: %zu bytes exceed the "
			      "heap",
			      h->pool->path, size);
	t = htx_of(h, tx);
	ret = ops_room(h, t);
	if (!ret)
		ret = pm_tx_room(tx, ALLOC_LOG);
	if (ret)
		return ret;
	if (in_run(size))
		ret = alloc_unit(h, tx, t, size, flags, offp);
	else
		ret = alloc_extent(h, tx, t, size, flags, offp);
	if (ret == NO_ROOM)
		return pm_err(-ENOMEM, "%s: pm_tx_alloc: no room for %zu bytes",
			      h->pool->path, size);
	return ret;
}

/* ---- freeing ------------------------------------------------------------- */

static int bit_test(const uint64_t *bits, uint64_t idx)
{
	return (__atomic_load_n(&bits[idx / 64], __ATOMIC_ACQUIRE) >>
		(idx % 64)) &
	       1;
}

static int free_unit(struct pm_heap *h, struct pm_tx *tx, struct pm_htx *t,
		     struct pm_hrun *r, uint64_t off)
{
	int64_t idx;
	uint64_t bit;
	int ret = pm_heap_run_load(h, r);

	if (ret)
		return ret;
	idx = pm_heap_unit_of(h, r, off);
	if (idx < 0)
		return -EINVAL;
	bit = 1ULL << (idx % 64);
	if (__atomic_fetch_or(&r->pend[idx / 64], bit, __ATOMIC_ACQ_REL) & bit)
		return -EINVAL; /* a free in flight, maybe this one's */
	if (!bit_test(r->used, (uint64_t)idx)) {
		__atomic_fetch_and(&r->pend[idx / 64], ~bit, __ATOMIC_RELEASE);
		return -EINVAL;
	}
	put_bit(h, tx, PM_REC_CLRB, r, (uint64_t)idx);
	op_add(tx, t, OP_FREE_UNIT, r, 0, (uint64_t)idx);
	return 0;
}

static int free_extent(struct pm_heap *h, struct pm_tx *tx, struct pm_htx *t,
		       uint64_t page, uint64_t off)
{
	uintptr_t v;

	if ((off - h->g.pages_off) % PM_HEAP_PAGE)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	v = h->vpage[page];
	if ((v & PM_HX_EXTENT) && (v & PM_HX_COMMITTED) && !(v & PM_HX_PENDING))
		__atomic_store_n(&h->vpage[page], v | PM_HX_PENDING,
				 __ATOMIC_RELEASE);
	else
		v = 0;
	pthread_mutex_unlock(&h->lock);
	if (!v)
		return -EINVAL;
	put_phdr(h, tx, page, 0);
	op_add(tx, t, OP_FREE_EXT, NULL, page, 0);
	return 0;
}

/**
 * pm_tx_free - free an object when a transaction commits
 * @tx: a transaction on a heap pool
 * @off: the object's offset as pm_tx_alloc() gave it, or 0 (nothing)
 *
 * The object stays allocated (and readable) until the commit; an abort
 * keeps it.  Stages one log record, no fence.
 *
 * Return: 0; -EINVAL if @off is not the start of an allocated object
 * (also for a second free of it, in this transaction or one in flight);
 * -ENOSPC (the transaction has failed), PM_E_TX_FAILED, -ENOMEM, or
 * PM_E_CORRUPT for a damaged run.
 */
PM_EXPORT int pm_tx_free(struct pm_tx *tx, uint64_t off)
{
	struct pm_heap *h;
	struct pm_htx *t;
	uint64_t page = 0;
	uintptr_t v;
	int ret = heap_of_tx(tx, "pm_tx_free", &h);

	if (ret || !off)
		return ret;
	t = htx_of(h, tx);
	ret = ops_room(h, t);
	if (!ret)
		ret = pm_tx_room(tx, FREE_LOG);
	if (ret)
		return ret;
	v = pm_heap_lookup(h, off, &page);
	if (!v)
		ret = -EINVAL;
	else if (v & PM_HX_EXTENT)
		ret = free_extent(h, tx, t, page, off);
	else
		ret = free_unit(h, tx, t, (struct pm_hrun *)v, off);
	if (ret == -EINVAL)
		return pm_err(ret,
			      "%s: pm_tx_free: offset %#llx is not an "
			      "allocated object (or is being freed)",
			      h->pool->path, (unsigned long long)off);
	return ret;
}

/* ---- end of a transaction ------------------------------------------------ */

static void unit_release(struct pm_heap *h, struct pm_hrun *r, uint64_t idx)
{
	uint64_t bit = 1ULL << (idx % 64);

	__atomic_fetch_and(&r->busy[idx / 64], ~bit, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->state, __ATOMIC_SEQ_CST) == PM_HR_NONE) {
		pthread_mutex_lock(&h->lock);
		pm_heap_run_list(h, r);
		pthread_mutex_unlock(&h->lock);
	}
}

/* A unit's allocation or free ends; 0 if @o is not a unit's. */
static int unit_end(struct pm_heap *h, const struct pm_hop *o, int committed)
{
	uint64_t bit = 1ULL << (o->idx % 64), w = o->idx / 64;

	switch (o->kind) {
	case OP_ALLOC_UNIT:
		if (committed)
			__atomic_fetch_or(&o->run->used[w], bit,
					  __ATOMIC_RELEASE);
		else if (o->run->state != PM_HR_PRIVATE)
			unit_release(h, o->run, o->idx);
		return 1;
	case OP_FREE_UNIT:
		if (committed)
			__atomic_fetch_and(&o->run->used[w], ~bit,
					   __ATOMIC_RELEASE);
		__atomic_fetch_and(&o->run->pend[w], ~bit, __ATOMIC_RELEASE);
		if (committed)
			unit_release(h, o->run, o->idx);
		return 1;
	}
	return 0;
}

/* An extent's allocation or free ends (h->lock held). */
static void ext_end(struct pm_heap *h, const struct pm_hop *o, int committed)
{
	if (o->kind == OP_ALLOC_EXT && committed) {
		__atomic_fetch_or(&h->vpage[o->page], PM_HX_COMMITTED,
				  __ATOMIC_RELEASE);
	} else if (o->kind == OP_FREE_EXT && !committed) {
		__atomic_fetch_and(&h->vpage[o->page],
				   ~(uintptr_t)PM_HX_PENDING, __ATOMIC_RELEASE);
	} else { /* an allocation undone, a free done */
		pm_heap_pages_give(h, o->page, h->vpage[o->page] >> 8);
		__atomic_store_n(&h->vpage[o->page], 0, __ATOMIC_RELEASE);
	}
}

/* The runs a transaction made: public once it committed, else gone
 * (h->lock held). */
static void fresh_end(struct pm_heap *h, struct pm_htx *t, int outcome)
{
	struct pm_hrun *r, *next;

	for (r = t->fresh; r; r = next) {
		next = r->next;
		if (outcome == PM_TX_END_COMMITTED) {
			__atomic_store_n(&r->state, PM_HR_NONE,
					 __ATOMIC_SEQ_CST);
			pm_heap_run_list(h, r);
		} else if (outcome == PM_TX_END_ABORTED) {
			pm_heap_pages_give(h, r->page,
					   pm_heap_classes()[r->cls].pages);
			pm_heap_run_drop(h, r);
		} else { /* its header may never land: never used again */
			__atomic_store_n(&r->state, PM_HR_DEAD,
					 __ATOMIC_SEQ_CST);
		}
	}
	t->fresh = NULL;
}

/* The pages a claim took around its block: free once the transaction
 * committed (their headers are zero), stale runs again if it aborted
 * (h->lock held). */
static void claim_end(struct pm_heap *h, struct pm_htx *t, int committed)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct pm_hop *o = &t->ops[i];
		struct pm_hpages pg = { o->page, o->n, o->lo, o->hi, 1 };

		if (o->kind != OP_CLAIM)
			continue;
		if (!committed) {
			pm_heap_claim_undo(h, &pg);
			continue;
		}
		pm_heap_pages_give(h, pg.lo, pg.p - pg.lo);
		pm_heap_pages_give(h, pg.p + pg.n, pg.hi - pg.p - pg.n);
	}
}

/* pool->heap_end: the volatile state follows the transaction's outcome.
 * An unknown one (a crash may still replay it) keeps everything it
 * touched out of use: nothing is reused twice, at the cost of a leak.
 * Pages change hands under one hold of h->lock, so no other transaction
 * takes an aborted block's pages before its claimed stale runs are
 * marked again. */
static void heap_end(struct pm_tx *tx, int outcome)
{
	struct pm_heap *h = tx->pool->heap;
	struct pm_htx *t = htx_of(h, tx);
	int known = outcome != PM_TX_END_UNKNOWN;
	int committed = outcome == PM_TX_END_COMMITTED, pages = !!t->fresh;

	for (size_t i = 0; i < t->n && known; i++)
		if (!unit_end(h, &t->ops[i], committed) &&
		    t->ops[i].kind != OP_CLAIM)
			pages = 1;
	if (pages || (known && t->nclaims)) {
		pthread_mutex_lock(&h->lock);
		for (size_t i = 0; i < t->n && known; i++)
			if (t->ops[i].kind == OP_ALLOC_EXT ||
			    t->ops[i].kind == OP_FREE_EXT)
				ext_end(h, &t->ops[i], committed);
		fresh_end(h, t, outcome);
		if (known && t->nclaims)
			claim_end(h, t, committed);
		pthread_mutex_unlock(&h->lock);
	}
	t->n = 0;
	t->nclaims = 0;
}

int pm_halloc_boot(struct pm_pool *pool)
{
	int ret = pm_heap_boot(pool);

	if (!ret)
		pool->heap_end = heap_end;
	return ret;
}

/* ---- the root object ----------------------------------------------------- */

static uint64_t root_field(const struct pm_heap *h, int size)
{
	return pm_le64(size ? h->hh->root_size : h->hh->root_off);
}

/* In one transaction: a new zeroed root of @size, the old one's @rsize
 * bytes copied into it and the old one freed; or, if the old one is big
 * enough, its bytes from @rsize on zeroed. */
static int root_tx(struct pm_heap *h, uint64_t roff, uint64_t rsize,
		   uint64_t size, uint64_t *offp)
{
	struct pm_pool *pool = h->pool;
	uint64_t f[2], noff = roff;
	struct pm_tx *tx;
	int ret = pm_tx_begin(pool, rsize + 2 * PM_TX_HEAP_RESERVE + 64, &tx);

	if (ret)
		return ret;
	if (roff && pm_usable_size(pool, roff) >= size) {
		if (pm_tx_room(tx, PM_TX_REC_BYTES(0)) == 0)
			put_zero(h, tx, roff + rsize, size - rsize);
	} else {
		ret = pm_tx_alloc(tx, size, PM_ALLOC_ZERO | PM_ALLOC_LONG,
				  &noff);
		if (!ret && roff)
			ret = pm_tx_write(tx, pool->base + noff,
					  pool->base + roff, rsize);
		if (!ret)
			ret = pm_tx_free(tx, roff);
	}
	f[0] = pm_le64(noff);
	f[1] = pm_le64(size);
	if (!ret)
		ret = pm_tx_write(tx, &h->hh->root_off, f, sizeof(f));
	if (ret) {
		pm_tx_abort(tx);
		return ret;
	}
	ret = pm_tx_commit(tx);
	if (!ret)
		*offp = noff;
	return ret;
}

/**
 * pm_pool_root - the root object of a heap pool
 * @pool: a heap pool (PM_POOL_HEAP)
 * @size: bytes the root must have; 0 to get the root as it is
 * @offp: receives the root's offset
 *
 * The first call allocates the root, zeroed and durable.  Later calls
 * return the same offset, unless @size exceeds the root's size: the root
 * then grows in one transaction (one fence), moving to a new offset if
 * its object is too small, its contents kept and the new bytes zeroed.
 * Runs a transaction of its own: the calling thread must not have one
 * open.  Calls are serialised.
 *
 * Return: 0; -EINVAL; -ENOENT (@size 0 and no root yet); -ENOMEM or
 * -EFBIG (no room); PM_E_CORRUPT if the root recorded is not an
 * allocated object; or an error of pm_tx_begin() or pm_tx_commit().
 */
PM_EXPORT int pm_pool_root(struct pm_pool *pool, size_t size, uint64_t *offp)
{
	struct pm_heap *h = pool ? pool->heap : NULL;
	uint64_t roff, rsize;
	int ret = 0;

	if (!h || !offp)
		return pm_err(-EINVAL, "pm_pool_root: %s",
			      pool ? "not a heap pool" : "NULL argument");
	pthread_mutex_lock(&h->root_lock);
	roff = root_field(h, 0);
	rsize = root_field(h, 1);
	if (roff && pm_usable_size(pool, roff) < rsize)
		ret = pm_err(PM_E_CORRUPT,
			     "%s: the root object (offset %#llx, %llu bytes) "
			     "is not an allocated object; run pmck",
			     pool->path, (unsigned long long)roff,
			     (unsigned long long)rsize);
	else if (!size && !roff)
		ret = -ENOENT;
	else if (size <= rsize)
		*offp = roff;
	else
		ret = root_tx(h, roff, rsize, size, offp);
	pthread_mutex_unlock(&h->root_lock);
	return ret;
}
