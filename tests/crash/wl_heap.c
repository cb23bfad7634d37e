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
 * "heapmt": the same with one thread per stream, each on slots of its
 * own, concurrently (no root growth: the root is made before); the
 * threads' transactions meet in the heap's runs and page headers.
 *
 * --break heap-bits: allocations set their bitmap bit in place, outside
 * the redo entry (pm_test_break; pmcrash-test).
 */
#include <pthread.h>
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

struct heap_stream {
	struct heap_snap *snap; /* snap[k]: after k operations */
	uint64_t rng;
	unsigned first, nslots; /* its slots */
	int ret;
};

struct heap_state {
	struct heap_stream s[CRASH_STREAMS];
	unsigned n, nstreams;
	struct pm_pool *pool;
	struct crash_ctx *c;
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

/* Operation @k of stream @si: decide it, run it, and record the model
 * after it. */
static int heap_op(struct heap_state *st, struct crash_ctx *c, unsigned si,
		   unsigned k)
{
	struct heap_stream *hs = &st->s[si];
	struct heap_snap *s = &hs->snap[k + 1];
	uint64_t r = rnd(&hs->rng), root;
	unsigned i = hs->first + (unsigned)(r % hs->nslots), flags = 0;
	uint32_t size = 16 + (uint32_t)(rnd(&hs->rng) % 6000);
	int abort = r / NSLOTS % 10 == 0, ret;

	*s = hs->snap[k];
	if (st->nstreams == 1 && (k == 0 || k % 25 == 24)) {
		s->root_size = k ? s->root_size + 3000 : 8 + 8 * NSLOTS;
		return pm_pool_root(st->pool, s->root_size, &root);
	}
	if (r / NSLOTS % 7 == 3)
		size = 0; /* unlink only */
	else if (r / NSLOTS % 13 == 5)
		size = 40000;
	flags |= r / NSLOTS % 3 == 1 ? PM_ALLOC_ZERO : 0;
	flags |= r / NSLOTS % 5 == 2 ? PM_ALLOC_SHORT : 0;
	ret = relink(st, c, i, size, ((uint64_t)si << 32) | (k + 1), flags,
		     abort);
	if (!ret && !abort) {
		s->id[i] = size ? ((uint64_t)si << 32) | (k + 1) : 0;
		s->size[i] = size;
	}
	return ret;
}

struct stream_arg {
	struct heap_state *st;
	unsigned si;
};

static void *stream_main(void *arg)
{
	struct stream_arg *a = arg;
	struct heap_state *st = a->st;
	struct heap_stream *hs = &st->s[a->si];

	for (unsigned k = 0; !hs->ret && k < st->n; k++) {
		unsigned op = crash_op_begin(st->c, a->si);

		hs->ret = heap_op(st, st->c, a->si, k);
		crash_op_end(st->c, a->si, op);
	}
	return NULL;
}

static int heap_run(struct crash_ctx *c)
{
	struct heap_state *st = c->priv;
	struct stream_arg a[CRASH_STREAMS];
	pthread_t t[CRASH_STREAMS];
	int ret;

	if (crash_is_broken(c, "heap-bits"))
		crash_lib_break(PM_BREAK_HEAP_BITS);
	ret = pm_pool_open(c->file, 0, &st->pool);
	for (unsigned i = 0; !ret && i < st->nstreams; i++) {
		a[i] = (struct stream_arg){ st, i };
		if (st->nstreams == 1)
			stream_main(&a[i]);
		else if (pthread_create(&t[i], NULL, stream_main, &a[i]))
			st->s[i].ret = -EAGAIN;
	}
	for (unsigned i = 0; !ret && st->nstreams > 1 && i < st->nstreams; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; !ret && i < st->nstreams; i++)
		ret = st->s[i].ret;
	pm_pool_close(st->pool);
	st->pool = NULL;
	crash_lib_break(0);
	return ret;
}

/* ---- preparing and checking ------------------------------------------------ */

static int heap_prepare_n(struct crash_ctx *c, unsigned nstreams)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = nstreams > 2 ? nstreams : 2,
				  .lane_size = LANE_SIZE,
				  .flags = PM_POOL_HEAP };
	struct heap_state *st = calloc(1, sizeof(*st));
	struct pm_pool *pool;
	uint64_t root;
	int ret;

	if (!st)
		return -ENOMEM;
	c->priv = st;
	st->c = c;
	st->n = c->ops;
	st->nstreams = nstreams;
	for (unsigned i = 0; i < nstreams; i++) {
		struct heap_stream *hs = &st->s[i];

		hs->rng = c->seed ^ (0x4ea9ULL * (i + 1));
		hs->nslots = NSLOTS / nstreams;
		hs->first = hs->nslots * i;
		hs->snap = calloc(c->ops + 1, sizeof(*hs->snap));
		if (!hs->snap)
			return -ENOMEM;
	}
	ret = pm_pool_create(c->file, POOL_SIZE, &o, &pool);
	if (ret)
		return ret;
	/* several streams: the root exists before the recording */
	if (nstreams > 1) {
		ret = pm_pool_root(pool, 8 + 8 * NSLOTS, &root);
		for (unsigned i = 0; i < nstreams; i++)
			st->s[i].snap[0].root_size = 8 + 8 * NSLOTS;
	}
	pm_pool_close(pool);
	return ret;
}

static int heap_prepare(struct crash_ctx *c)
{
	if (!c->ops)
		c->ops = c->deep ? 200 : 80;
	return heap_prepare_n(c, 1);
}

static int heapmt_prepare(struct crash_ctx *c)
{
	if (!c->ops)
		c->ops = c->deep ? 80 : 40;
	if (c->threads < 2)
		c->threads = c->deep ? 4 : 2;
	return heap_prepare_n(c, c->threads);
}

struct walk {
	uint64_t off[NSLOTS + 2];
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

/* Do stream @hs's slots hold the model @s?  Their objects go to @w.  0,
 * or 1 with c->msg saying why not. */
static int slots_check(struct crash_ctx *c, struct pm_pool *pool,
		       const struct heap_stream *hs, const struct heap_snap *s,
		       struct walk *w)
{
	uint64_t root = 0, *sl;
	int ret = pm_pool_root(pool, 0, &root);

	if (!s->root_size)
		return ret == -ENOENT ? 0 : crash_fail(c, "root exists");
	if (ret || pm_usable_size(pool, root) < s->root_size)
		return crash_fail(c, "root: %s", pm_strerror(ret));
	sl = slots(pool, root);
	for (unsigned i = hs->first; i < hs->first + hs->nslots; i++) {
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
		w->off[w->n++] = sl[i];
	}
	return 0;
}

static int heap_check(struct crash_ctx *c, const struct pm_sim_image *img)
{
	struct heap_state *st = c->priv;
	struct walk w = { .n = 0 };
	struct pm_pool *pool;
	uint64_t root;
	int ret = pm_pool_open(c->image, 0, &pool);

	if (ret)
		return crash_fail(c, "pool open (recovery): %s",
				  pm_strerror(ret));
	for (unsigned i = 0; !ret && i < st->nstreams; i++) {
		const struct heap_stream *hs = &st->s[i];
		struct crash_at at = crash_at(c, i, img->point);
		unsigned n0 = w.n;

		ret = slots_check(c, pool, hs, &hs->snap[at.done], &w);
		if (ret && at.inflight && at.done < st->n) {
			w.n = n0;
			ret = slots_check(c, pool, hs, &hs->snap[at.done + 1],
					  &w);
		}
	}
	if (!ret && pm_pool_root(pool, 0, &root) == 0)
		w.off[w.n++] = root;
	if (!ret && pm_heap_walk(pool, walk_cb, &w))
		ret = crash_fail(c, "an allocated object is not reachable");
	if (!ret && (w.found != w.n || w.overlap))
		ret = crash_fail(c, "heap walk: %u of %u objects%s", w.found,
				 w.n, w.overlap ? ", overlapping" : "");
	pm_pool_close(pool);
	return ret;
}

static void heap_cleanup(struct crash_ctx *c)
{
	struct heap_state *st = c->priv;

	for (unsigned i = 0; st && i < CRASH_STREAMS; i++)
		free(st->s[i].snap);
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
	.afterlife = 1,
};

const struct crash_workload crash_wl_heap_mt = {
	.name = "heapmt",
	.desc = "concurrent heap transactions, one thread per stream",
	.breaks = CRASH_LIB_BREAK("heap-bits"),
	.prepare = heapmt_prepare,
	.run = heap_run,
	.check = heap_check,
	.cleanup = heap_cleanup,
	.afterlife = 1,
};
