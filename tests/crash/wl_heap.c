/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wl_heap.c - the heap ("heap"): a root object holding a table of slots,
 * each slot the offset of an object.  A transaction allocates an object
 * (16 B .. 6 KiB, now and then an extent of 40 KiB; some zeroed, some
 * short-lived), writes it, links it into a slot and frees the object the
 * slot held; some only unlink and free, some abort, and every 25th
 * operation grows the root (it moves, its slots copied).  Invariant: the
 * pool opens; the root and every slot are those of the operations that
 * returned (all or nothing of the one in flight), each linked object
 * holds its data and is allocated; the heap walk is exactly the root and
 * the linked objects (nothing leaked, nothing both free and reachable),
 * and no two objects overlap.
 *
 * --break heap-bits: allocations set their bitmap bit in place, outside
 * the redo entry (pm_test_break; pmcrash-test).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"

#define POOL_SIZE (3 << 19) /* 1.5 MiB */
#define LANE_SIZE (64 << 10)
#define NSLOTS 16
#define ROOT_SLOTS_OFF 8 /* the root: a word, then the slots */
#define DATA_MAX 1024	 /* bytes written (and checked) per object */

/* The model after an operation: what each slot links. */
struct heap_snap {
	uint64_t root_size;
	uint64_t id[NSLOTS]; /* data id, 0: empty slot */
	uint32_t size[NSLOTS];
};

struct heap_state {
	struct heap_snap *snap; /* snap[k]: after k operations */
	unsigned n;
	uint64_t rng;
	struct pm_pool *pool;
};

static uint64_t rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t *slots(struct pm_pool *pool, uint64_t root)
{
	return (uint64_t *)((uint8_t *)pm_pool_ptr(pool, root) +
			    ROOT_SLOTS_OFF);
}

/* ---- the recorded run ------------------------------------------------------ */

/* Link a new object of @size into slot @i (or just unlink if @size is 0),
 * freeing the old one; @abort: abort instead of committing. */
static int relink(struct heap_state *st, struct crash_ctx *c, unsigned i,
		  uint32_t size, uint64_t id, unsigned flags, int abort)
{
	uint8_t buf[DATA_MAX];
	uint64_t root, obj = 0, old;
	struct pm_tx *tx;
	int ret = pm_pool_root(st->pool, 0, &root);

	if (!ret)
		ret = pm_tx_begin(st->pool,
				  DATA_MAX + 8 + 3 * PM_TX_HEAP_RESERVE, &tx);
	if (ret)
		return ret;
	old = slots(st->pool, root)[i];
	if (size) {
		size_t n = size < DATA_MAX ? size : DATA_MAX;

		crash_fill(buf, n, c->seed, id);
		ret = pm_tx_alloc(tx, size, flags, &obj);
		if (!ret)
			ret = pm_tx_write(tx, pm_pool_ptr(st->pool, obj), buf,
					  n);
	}
	if (!ret)
		ret = pm_tx_write(tx, &slots(st->pool, root)[i], &obj, 8);
	if (!ret)
		ret = pm_tx_free(tx, old);
	if (ret || abort) {
		pm_tx_abort(tx);
		return ret;
	}
	return pm_tx_commit(tx);
}

/* Operation @k: decide it, run it, and record the model after it. */
static int heap_op(struct heap_state *st, struct crash_ctx *c, unsigned k)
{
	struct heap_snap *s = &st->snap[k + 1];
	uint64_t r = rnd(&st->rng), root;
	unsigned i = (unsigned)(r % NSLOTS), flags = 0;
	uint32_t size = 16 + (uint32_t)(rnd(&st->rng) % 6000);
	int abort = r / NSLOTS % 10 == 0, ret;

	*s = st->snap[k];
	if (k == 0 || k % 25 == 24) {
		s->root_size = k ? s->root_size + 3000 : 8 + 8 * NSLOTS;
		return pm_pool_root(st->pool, s->root_size, &root);
	}
	if (r / NSLOTS % 7 == 3)
		size = 0; /* unlink only */
	else if (r / NSLOTS % 13 == 5)
		size = 40000;
	flags |= r / NSLOTS % 3 == 1 ? PM_ALLOC_ZERO : 0;
	flags |= r / NSLOTS % 5 == 2 ? PM_ALLOC_SHORT : 0;
	ret = relink(st, c, i, size, k + 1, flags, abort);
	if (!ret && !abort) {
		s->id[i] = size ? k + 1 : 0;
		s->size[i] = size;
	}
	return ret;
}

static int heap_run(struct crash_ctx *c)
{
	struct heap_state *st = c->priv;
	int ret;

	if (crash_is_broken(c, "heap-bits"))
		crash_lib_break(PM_BREAK_HEAP_BITS);
	ret = pm_pool_open(c->file, 0, &st->pool);
	for (unsigned k = 0; !ret && k < st->n; k++) {
		unsigned op = crash_op_begin(c, 0);

		ret = heap_op(st, c, k);
		crash_op_end(c, 0, op);
	}
	pm_pool_close(st->pool);
	st->pool = NULL;
	crash_lib_break(0);
	return ret;
}

/* ---- preparing and checking ------------------------------------------------ */

static int heap_prepare(struct crash_ctx *c)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 2,
				  .lane_size = LANE_SIZE,
				  .flags = PM_POOL_HEAP };
	struct heap_state *st = calloc(1, sizeof(*st));
	struct pm_pool *pool;
	int ret;

	if (!st)
		return -ENOMEM;
	c->priv = st;
	if (!c->ops)
		c->ops = c->deep ? 200 : 80;
	st->n = c->ops;
	st->rng = c->seed ^ 0x4ea9ULL;
	st->snap = calloc(c->ops + 1, sizeof(*st->snap));
	if (!st->snap)
		return -ENOMEM;
	ret = pm_pool_create(c->file, POOL_SIZE, &o, &pool);
	pm_pool_close(pool);
	return ret;
}

struct walk {
	uint64_t off[NSLOTS + 1];
	unsigned n, found;
	uint64_t end; /* of the last object seen */
	int overlap;
};

static int walk_cb(uint64_t off, size_t size, void *arg)
{
	struct walk *w = arg;

	w->overlap |= off < w->end;
	w->end = off + size;
	for (unsigned i = 0; i < w->n; i++)
		if (w->off[i] == off) {
			w->found++;
			return 0;
		}
	return 1; /* allocated, not reachable */
}

/* Does the pool hold the model @s?  0, or 1 with c->msg saying why not. */
static int snap_check(struct crash_ctx *c, struct pm_pool *pool,
		      const struct heap_snap *s)
{
	struct walk w = { .n = 0 };
	uint64_t root = 0, *sl;
	int ret = pm_pool_root(pool, 0, &root);

	if (!s->root_size)
		return ret == -ENOENT ? 0 : crash_fail(c, "root exists");
	if (ret || pm_usable_size(pool, root) < s->root_size)
		return crash_fail(c, "root: %s", pm_strerror(ret));
	w.off[w.n++] = root;
	sl = slots(pool, root);
	for (unsigned i = 0; i < NSLOTS; i++) {
		size_t n = s->size[i] < DATA_MAX ? s->size[i] : DATA_MAX;

		if (!s->id[i] != !sl[i])
			return crash_fail(c, "slot %u: %s", i,
					  sl[i] ? "linked" : "empty");
		if (!s->id[i])
			continue;
		if (pm_usable_size(pool, sl[i]) < s->size[i])
			return crash_fail(c, "slot %u: object not allocated",
					  i);
		if (crash_cmp(pm_pool_ptr(pool, sl[i]), n, c->seed, s->id[i]) >=
		    0)
			return crash_fail(c, "slot %u: data differ", i);
		w.off[w.n++] = sl[i];
	}
	if (pm_heap_walk(pool, walk_cb, &w))
		return crash_fail(c, "an allocated object is not reachable");
	if (w.found != w.n || w.overlap)
		return crash_fail(c, "heap walk: %u of %u objects%s", w.found,
				  w.n, w.overlap ? ", overlapping" : "");
	return 0;
}

static int heap_check(struct crash_ctx *c, const struct pm_sim_image *img)
{
	struct heap_state *st = c->priv;
	struct crash_at at = crash_at(c, 0, img->point);
	struct pm_pool *pool;
	int ret = pm_pool_open(c->image, 0, &pool);

	if (ret)
		return crash_fail(c, "pool open (recovery): %s",
				  pm_strerror(ret));
	ret = snap_check(c, pool, &st->snap[at.done]);
	if (ret && at.inflight && at.done < st->n)
		ret = snap_check(c, pool, &st->snap[at.done + 1]);
	pm_pool_close(pool);
	return ret;
}

static void heap_cleanup(struct crash_ctx *c)
{
	struct heap_state *st = c->priv;

	if (st)
		free(st->snap);
	free(st);
	c->priv = NULL;
}

const struct crash_workload crash_wl_heap = {
	.name = "heap",
	.desc = "heap allocations linked into a root and freed, root growth, "
		"aborts",
	.breaks = CRASH_LIB_BREAK("heap-bits"),
	.prepare = heap_prepare,
	.run = heap_run,
	.check = heap_check,
	.cleanup = heap_cleanup,
};
