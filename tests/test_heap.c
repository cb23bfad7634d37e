/* SPDX-License-Identifier: BSD-3-Clause */
/* test_heap.c - the heap: allocation and freeing in transactions, root,
 * stats, walk, bad input, fences, threads. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fences.h"
#include "heap.h"
#include "libpm.h"
#include "pool.h"
#include "testhook.h"
#include "tmpdir.h"

#define POOL_SIZE (32UL << 20)

static char path[256];
static struct pm_pool *pool;

static void make(size_t size, unsigned nlanes)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = nlanes,
				  .flags = PM_POOL_HEAP };

	unlink(path);
	assert_int_equal(pm_pool_create(path, size, &o, &pool), 0);
}

static void reopen(void)
{
	pm_pool_close(pool);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "%s/test_heap.%d", test_tmpdir("/dev/shm"),
		 getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	pm_set_log_level(getenv("PM_LOG") ? 4 : 0);
	return 0;
}

static int each_setup(void **state)
{
	(void)state;
	make(POOL_SIZE, 0);
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	pm_pool_close(pool);
	pool = NULL;
	unlink(path);
	return 0;
}

/* One transaction: allocate @size with @flags, write @fill over its
 * first and last (up to) 1 KiB. */
static uint64_t alloc1(size_t size, unsigned flags, int fill)
{
	struct pm_tx *tx;
	uint64_t off = 0;
	char buf[1024];
	size_t n = size < sizeof(buf) ? size : sizeof(buf);

	memset(buf, fill, sizeof(buf));
	assert_int_equal(pm_tx_begin(pool, 2 * n + PM_TX_HEAP_RESERVE, &tx), 0);
	assert_int_equal(pm_tx_alloc(tx, size, flags, &off), 0);
	assert_int_equal(pm_tx_write(tx, pm_pool_ptr(pool, off), buf, n), 0);
	assert_int_equal(pm_tx_write(tx, pm_pool_ptr(pool, off + size - n), buf,
				     n),
			 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	return off;
}

static void free1(uint64_t off)
{
	struct pm_tx *tx;

	assert_int_equal(pm_tx_begin(pool, PM_TX_HEAP_RESERVE, &tx), 0);
	assert_int_equal(pm_tx_free(tx, off), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
}

struct seen {
	uint64_t n, bytes, last;
	int sorted;
};

static int count_cb(uint64_t off, size_t size, void *arg)
{
	struct seen *s = arg;

	s->sorted &= off > s->last;
	s->last = off;
	s->n++;
	s->bytes += size;
	return 0;
}

static struct seen walk(void)
{
	struct seen s = { 0, 0, 0, 1 };

	assert_int_equal(pm_heap_walk(pool, count_cb, &s), 0);
	assert_true(s.sorted);
	return s;
}

/* ---- basics ---- */

static void test_heap_pool(void **state)
{
	size_t sz = 1;
	struct pm_heap_stats st;

	(void)state;
	assert_null(pm_pool_data(pool, &sz));
	assert_int_equal(sz, 0);
	assert_int_equal(pm_heap_stats(pool, &st), 0);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.allocated, 0);
	assert_true(st.total > POOL_SIZE / 2 && st.total < POOL_SIZE);
	assert_int_equal(st.free, st.total);
	assert_int_equal(st.largest_free, st.total);
	assert_true(st.fragmentation == 0);
	assert_int_equal(walk().n, 0);
}

static void test_heap_alloc_persists(void **state)
{
	uint64_t small, mid, big;

	(void)state;
	small = alloc1(40, 0, 'a');
	mid = alloc1(5000, PM_ALLOC_SHORT, 'b');
	big = alloc1(100000, 0, 'c');
	assert_true(small && mid && big);
	assert_int_equal(small % 16, 0);
	assert_int_equal(pm_usable_size(pool, small), 48);
	assert_true(pm_usable_size(pool, mid) >= 5000);
	assert_int_equal(pm_usable_size(pool, big), 102400);
	assert_int_equal(pm_pool_off(pool, pm_pool_ptr(pool, big)), big);
	reopen();
	assert_int_equal(*(char *)pm_pool_ptr(pool, small), 'a');
	assert_int_equal(((char *)pm_pool_ptr(pool, mid))[4999], 'b');
	assert_int_equal(((char *)pm_pool_ptr(pool, big))[99999], 'c');
	assert_int_equal(pm_usable_size(pool, small), 48);
	assert_int_equal(walk().n, 3);
	free1(small);
	free1(big);
	assert_int_equal(pm_usable_size(pool, small), 0);
	reopen();
	assert_int_equal(pm_usable_size(pool, small), 0);
	assert_int_equal(pm_usable_size(pool, big), 0);
	assert_int_equal(walk().n, 1);
}

/* An object whose class is no smaller than its whole pages is an extent
 * (no run pinned by it), whatever its size; smaller classes are runs. */
static void test_heap_extent_or_run(void **state)
{
	static const size_t ext[] = { 3841, 4096, 20000, 32767, 32768, 40000 };
	static const size_t run[] = { 3840, 3000, 9000, 17000, 26000 };
	struct pm_heap_stats st;
	uint64_t off;

	(void)state;
	for (unsigned i = 0; i < PM_ARRAY_SIZE(ext); i++) {
		off = alloc1(ext[i], 0, 'e');
		assert_int_equal(off % 4096, 0);
		assert_int_equal(pm_usable_size(pool, off),
				 (ext[i] + 4095) / 4096 * 4096);
	}
	assert_int_equal(pm_heap_stats(pool, &st), 0);
	assert_int_equal(st.extents, PM_ARRAY_SIZE(ext));
	assert_int_equal(st.runs, 0);
	for (unsigned i = 0; i < PM_ARRAY_SIZE(run); i++) {
		off = alloc1(run[i], 0, 'r');
		assert_int_not_equal(off % 4096, 0);
		assert_in_range(pm_usable_size(pool, off), run[i],
				(run[i] + 4095) / 4096 * 4096 - 1);
	}
	assert_int_equal(pm_heap_stats(pool, &st), 0);
	assert_int_equal(st.extents, PM_ARRAY_SIZE(ext));
	assert_true(st.runs > 0);
	reopen();
	assert_int_equal(walk().n, PM_ARRAY_SIZE(ext) + PM_ARRAY_SIZE(run));
}

static void test_heap_zero(void **state)
{
	uint64_t a, b;
	struct pm_tx *tx;
	char z[200] = { 0 }, rd[200];

	(void)state;
	a = alloc1(200, 0, 0x5a);
	b = alloc1(70000, 0, 0x5a);
	free1(a);
	free1(b);
	assert_int_equal(pm_tx_begin(pool, 1024, &tx), 0);
	assert_int_equal(pm_tx_alloc(tx, 200, PM_ALLOC_ZERO, &a), 0);
	/* the transaction sees its zeroed object before commit */
	assert_int_equal(pm_tx_read(tx, rd, pm_pool_ptr(pool, a), 200), 0);
	assert_memory_equal(rd, z, 200);
	assert_int_equal(pm_tx_alloc(tx, 70000, PM_ALLOC_ZERO, &b), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	assert_memory_equal(pm_pool_ptr(pool, a), z, 200);
	for (int i = 0; i < 70000; i += 1000)
		assert_int_equal(((char *)pm_pool_ptr(pool, b))[i], 0);
}

/* Aborted allocations and frees leave nothing behind. */
static void test_heap_abort(void **state)
{
	struct pm_heap_stats before, after;
	struct pm_tx *tx;
	uint64_t keep, off[100];

	(void)state;
	keep = alloc1(64, 0, 1);
	assert_int_equal(pm_heap_stats(pool, &before), 0);
	assert_int_equal(pm_tx_begin(pool, 100 * PM_TX_HEAP_RESERVE, &tx), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(pm_tx_alloc(tx, 16 + 997 * (size_t)i,
					     i % 2 ? PM_ALLOC_SHORT : 0,
					     &off[i]),
				 0);
	assert_int_equal(pm_tx_free(tx, keep), 0);
	/* not yet: the free waits for commit */
	assert_int_equal(pm_usable_size(pool, keep), 64);
	assert_int_equal(walk().n, 1);
	pm_tx_abort(tx);
	assert_int_equal(pm_heap_stats(pool, &after), 0);
	assert_int_equal(after.objects, before.objects);
	assert_int_equal(after.allocated, before.allocated);
	assert_int_equal(after.free, before.free);
	assert_int_equal(pm_usable_size(pool, keep), 64);
	for (int i = 0; i < 100; i++)
		assert_int_equal(pm_usable_size(pool, off[i]), 0);
	reopen();
	assert_int_equal(walk().n, 1);
	free1(keep);
	assert_int_equal(walk().n, 0);
}

static void test_heap_root(void **state)
{
	uint64_t r, r2, r3;
	char z[100] = { 0 };
	struct pm_tx *tx;

	(void)state;
	assert_int_equal(pm_pool_root(pool, 0, &r), -ENOENT);
	assert_int_equal(pm_pool_root(pool, 100, &r), 0);
	assert_memory_equal(pm_pool_ptr(pool, r), z, 100);
	assert_int_equal(pm_pool_root(pool, 50, &r2), 0);
	assert_int_equal(r2, r);
	assert_int_equal(pm_tx_begin(pool, 64, &tx), 0);
	assert_int_equal(pm_tx_write(tx, pm_pool_ptr(pool, r), "root", 5), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	reopen();
	assert_int_equal(pm_pool_root(pool, 0, &r2), 0);
	assert_int_equal(r2, r);
	/* grows in place while its unit holds it, then moves */
	assert_int_equal(pm_pool_root(pool, 112, &r2), 0);
	assert_int_equal(r2, r);
	assert_int_equal(pm_pool_root(pool, 10000, &r3), 0);
	assert_int_not_equal(r3, r);
	assert_string_equal(pm_pool_ptr(pool, r3), "root");
	assert_int_equal(((char *)pm_pool_ptr(pool, r3))[9999], 0);
	assert_int_equal(pm_usable_size(pool, r), 0);
	reopen();
	assert_int_equal(pm_pool_root(pool, 0, &r2), 0);
	assert_int_equal(r2, r3);
	assert_string_equal(pm_pool_ptr(pool, r2), "root");
	assert_int_equal(walk().n, 1);
}

static void test_heap_stats_walk(void **state)
{
	struct pm_heap_stats st;
	uint64_t off[64];
	struct seen s;

	(void)state;
	for (int i = 0; i < 63; i++)
		off[i] = alloc1(64, 0, i);
	off[63] = alloc1(1 << 20, 0, 1);
	free1(off[0]);
	s = walk();
	assert_int_equal(s.n, 63);
	assert_int_equal(s.bytes, 62 * 64 + (1 << 20));
	assert_int_equal(pm_heap_stats(pool, &st), 0);
	assert_int_equal(st.objects, 63);
	assert_int_equal(st.allocated, s.bytes);
	assert_int_equal(st.extents, 1);
	assert_true(st.runs >= 1);
	assert_true(st.free + st.allocated <= st.total);
	assert_true(st.largest_free <= st.free);
	assert_true(st.fragmentation >= 0 && st.fragmentation < 1);
}

/* Runs of 64 B objects spend at most 10 % on metadata. */
static void test_heap_overhead(void **state)
{
	const struct pm_heap_class *c = &pm_heap_classes()[3];
	uint64_t bytes = (uint64_t)c->pages * PM_HEAP_PAGE + 8 * c->pages;

	(void)state;
	assert_int_equal(c->size, 64);
	assert_true(c->nunits * 64ULL * 100 >= bytes * 90);
	for (unsigned i = 0; i < PM_HEAP_NCLASS; i++) {
		c = &pm_heap_classes()[i];
		assert_true(c->nunits >= 1 && c->nunits <= 1024);
		assert_true(c->hdr + (uint64_t)c->nunits * c->size <=
			    (uint64_t)c->pages * PM_HEAP_PAGE);
		assert_int_equal(pm_heap_class_of(c->size), i);
		assert_int_equal(pm_heap_class_of(c->size - 15), i);
	}
	/* every size gets the smallest class that holds it */
	for (uint64_t size = 1; size <= PM_HEAP_SMALL_MAX; size++) {
		unsigned i = pm_heap_class_of(size);

		assert_true(i < PM_HEAP_NCLASS);
		assert_true(pm_heap_classes()[i].size >= size);
		assert_true(!i || pm_heap_classes()[i - 1].size < size);
	}
}

/* ---- bad input ---- */

static void test_heap_bad_free(void **state)
{
	struct pm_tx *tx;
	uint64_t a, b, big, x;

	(void)state;
	a = alloc1(64, 0, 1);
	big = alloc1(50000, 0, 1);
	assert_int_equal(pm_tx_begin(pool, 4096, &tx), 0);
	assert_int_equal(pm_tx_free(tx, 0), 0);
	assert_int_equal(pm_tx_free(tx, a + 8), -EINVAL);
	assert_int_equal(pm_tx_free(tx, a + 64), -EINVAL);
	assert_int_equal(pm_tx_free(tx, big + 4096), -EINVAL);
	assert_int_equal(pm_tx_free(tx, 12345), -EINVAL);
	assert_int_equal(pm_tx_free(tx, 1ULL << 62), -EINVAL);
	assert_int_equal(pm_tx_free(tx, a), 0);
	assert_int_equal(pm_tx_free(tx, a), -EINVAL); /* twice in one tx */
	assert_int_equal(pm_tx_free(tx, big), 0);
	assert_int_equal(pm_tx_free(tx, big), -EINVAL);
	/* an object this transaction allocated is not yet freeable */
	assert_int_equal(pm_tx_alloc(tx, 64, 0, &b), 0);
	assert_int_equal(pm_tx_free(tx, b), -EINVAL);
	assert_int_equal(pm_tx_alloc(tx, 0, 0, &x), -EINVAL);
	assert_int_equal(pm_tx_alloc(tx, 8, 1U << 20, &x), -EINVAL);
	assert_int_equal(pm_tx_alloc(tx, 8, PM_ALLOC_SHORT | PM_ALLOC_LONG, &x),
			 -EINVAL);
	assert_int_equal(pm_tx_alloc(tx, 8, 0, NULL), -EINVAL);
	assert_int_equal(pm_tx_alloc(tx, POOL_SIZE, 0, &x), -EFBIG);
	assert_int_equal(pm_tx_commit(tx), 0);
	assert_int_equal(pm_usable_size(pool, a), 0);
	assert_int_equal(pm_usable_size(pool, big), 0);
	assert_int_equal(pm_usable_size(pool, b), 64);
	assert_int_equal(walk().n, 1);
	free1(b);
}

/* Exhaustion is -ENOMEM at pm_tx_alloc(); the transaction goes on. */
static void test_heap_enomem(void **state)
{
	struct pm_tx *tx;
	uint64_t off, last = 0, keep;
	int ret;
	unsigned n = 0;

	(void)state;
	pm_pool_close(pool);
	make(4UL << 20, 4);
	keep = alloc1(16, 0, 7);
	assert_int_equal(pm_tx_begin(pool, 64, &tx), 0);
	while ((ret = pm_tx_alloc(tx, 40000, 0, &off)) == 0) {
		last = off;
		n++;
	}
	assert_int_equal(ret, -ENOMEM);
	assert_true(n > 10 && last);
	assert_int_equal(pm_tx_write(tx, pm_pool_ptr(pool, last), "x", 2), 0);
	assert_int_equal(pm_tx_free(tx, keep), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	assert_string_equal(pm_pool_ptr(pool, last), "x");
	assert_int_equal(walk().n, n);
	reopen();
	assert_int_equal(walk().n, n);
}

/* Random extents of 1 page to 8 MiB, long- and short-lived, freed at
 * random over a 64 MiB heap (several words of the free-page summaries):
 * no two live objects overlap, none is overwritten, -ENOMEM only when no
 * free stretch is big enough, and the heap reopened holds just them. */
static void test_heap_extents_random(void **state)
{
	enum { MAX = 512 };
	struct {
		uint64_t off, size;
	} live[MAX];
	struct pm_heap_stats st;
	unsigned n = 0, enomem = 0;
	struct pm_tx *tx;

	(void)state;
	pm_pool_close(pool);
	make(64UL << 20, 4);
	srand(14);
	for (int step = 0; step < 6000; step++) {
		uint64_t size, off;
		int ret;

		if (step == 3000)
			reopen();
		if (n == MAX || (n && rand() % 3 == 0)) {
			unsigned k = (unsigned)rand() % n;

			assert_int_equal(*(uint64_t *)pm_pool_ptr(pool,
								  live[k].off),
					 live[k].off);
			free1(live[k].off);
			live[k] = live[--n];
			continue;
		}
		size = rand() % 50 ? (uint64_t)(1 + rand() % 64) << 12 :
				     (uint64_t)(1 + rand() % 2048) << 12;
		assert_int_equal(pm_tx_begin(pool, 64, &tx), 0);
		ret = pm_tx_alloc(tx, size, rand() % 2 ? PM_ALLOC_SHORT : 0,
				  &off);
		if (ret) {
			assert_int_equal(ret, -ENOMEM);
			pm_tx_abort(tx);
			assert_int_equal(pm_heap_stats(pool, &st), 0);
			assert_true(st.largest_free < size);
			enomem++;
			continue;
		}
		assert_int_equal(pm_tx_write(tx, pm_pool_ptr(pool, off), &off,
					     sizeof(off)),
				 0);
		assert_int_equal(pm_tx_commit(tx), 0);
		assert_int_equal(off % 4096, 0);
		for (unsigned k = 0; k < n; k++)
			assert_true(off + size <= live[k].off ||
				    live[k].off + live[k].size <= off);
		live[n].off = off;
		live[n++].size = size;
	}
	assert_true(enomem > 0);
	reopen();
	assert_int_equal(walk().n, n);
	for (unsigned k = 0; k < n; k++)
		assert_int_equal(*(uint64_t *)pm_pool_ptr(pool, live[k].off),
				 live[k].off);
}

/* A heap pool may have an append log too: each keeps to its area. */
static void test_heap_with_log(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .log_size = 64 << 10,
				  .flags = PM_POOL_HEAP };
	struct pm_log *log;
	uint64_t a, seq;

	(void)state;
	pm_pool_close(pool);
	unlink(path);
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &pool), 0);
	a = alloc1(5000, 0, 'h');
	assert_int_equal(pm_pool_log(pool, &log), 0);
	assert_int_equal(pm_log_append(log, "record", 7, &seq), 0);
	reopen();
	assert_int_equal(((char *)pm_pool_ptr(pool, a))[4999], 'h');
	assert_int_equal(walk().n, 1);
	assert_int_equal(pm_pool_log(pool, &log), 0);
	free1(a);
	assert_int_equal(walk().n, 0);
}

/* A raw pool has no heap; a heap pool has no data area. */
static void test_heap_raw_pool(void **state)
{
	struct pm_tx *tx;
	uint64_t off;
	struct pm_heap_stats st;

	(void)state;
	pm_pool_close(pool);
	unlink(path);
	assert_int_equal(pm_pool_create(path, POOL_SIZE, NULL, &pool), 0);
	assert_int_equal(pm_tx_begin(pool, 256, &tx), 0);
	assert_int_equal(pm_tx_alloc(tx, 8, 0, &off), -EINVAL);
	assert_int_equal(pm_tx_free(tx, 4096), -EINVAL);
	pm_tx_abort(tx);
	assert_int_equal(pm_pool_root(pool, 8, &off), -EINVAL);
	assert_int_equal(pm_heap_stats(pool, &st), -EINVAL);
	assert_int_equal(pm_heap_walk(pool, count_cb, NULL), -EINVAL);
	assert_int_equal(pm_usable_size(pool, 4096), 0);
	assert_null(pm_pool_ptr(pool, 0));
	assert_null(pm_pool_ptr(pool, POOL_SIZE));
	assert_int_equal(pm_pool_off(pool, &off), 0);
}

/* The log space of allocations counts against the lane: past it the
 * transaction fails cleanly and aborts whole. */
static void test_heap_log_full(void **state)
{
	struct pm_tx *tx;
	uint64_t off;
	int ret, n = 0;

	(void)state;
	pm_pool_close(pool);
	make(POOL_SIZE, 2);
	assert_int_equal(pm_tx_begin(pool, 0, &tx), 0);
	while ((ret = pm_tx_alloc(tx, 64, 0, &off)) == 0)
		n++;
	assert_int_equal(ret, -ENOSPC);
	assert_true(n > 10);
	assert_int_equal(pm_tx_alloc(tx, 64, 0, &off), PM_E_TX_FAILED);
	assert_int_equal(pm_tx_commit(tx), PM_E_TX_FAILED);
	assert_int_equal(walk().n, 0);
	off = alloc1(64, 0, 1);
	assert_int_equal(walk().n, 1);
}

/* Fill the heap with objects of @sz, 200 per transaction, until -ENOMEM;
 * their offsets go to @off (up to @max).  Returns how many. */
static unsigned fill(size_t sz, uint64_t *off, unsigned max)
{
	struct pm_tx *tx;
	unsigned n = 0;
	int ret = 0;

	while (!ret && n < max) {
		assert_int_equal(pm_tx_begin(pool, 200 * PM_TX_HEAP_RESERVE,
					     &tx),
				 0);
		for (unsigned k = 0; k < 200 && n < max; k++, n++) {
			ret = pm_tx_alloc(tx, sz, 0, &off[n]);
			if (ret)
				break;
		}
		assert_int_equal(ret, ret ? -ENOMEM : 0);
		assert_int_equal(pm_tx_commit(tx), 0);
	}
	return n;
}

static void free_all(const uint64_t *off, unsigned n)
{
	struct pm_tx *tx;

	for (unsigned i = 0; i < n; i += 200) {
		assert_int_equal(pm_tx_begin(pool, 200 * PM_TX_HEAP_RESERVE,
					     &tx),
				 0);
		for (unsigned k = i; k < n && k < i + 200; k++)
			assert_int_equal(pm_tx_free(tx, off[k]), 0);
		assert_int_equal(pm_tx_commit(tx), 0);
	}
}

/* Empty runs go back to free pages when pages run out; a transaction
 * that took their pages and aborted gives them back as they were. */
static void test_heap_reclaim(void **state)
{
	static uint64_t off[40000];
	struct pm_tx *tx;
	uint64_t big;
	unsigned n;

	(void)state;
	pm_pool_close(pool);
	make(4UL << 20, 2);
	for (int round = 0; round < 3; round++) {
		n = fill(round == 1 ? 3000 : 100, off, 40000);
		assert_true(n > 500 && n < 40000);
		free_all(off, n);
		if (round == 2)
			reopen(); /* the runs come back from media */
		/* an extent needs the runs' pages: taken, then aborted */
		assert_int_equal(pm_tx_begin(pool, 256, &tx), 0);
		assert_int_equal(pm_tx_alloc(tx, 2 << 20, 0, &big), 0);
		pm_tx_abort(tx);
		reopen();
		big = alloc1(2 << 20, 0, 9);
		reopen();
		assert_int_equal(pm_usable_size(pool, big), 2 << 20);
		assert_int_equal(walk().n, 1);
		free1(big);
	}
}

/* The object whose first word is a heap offset. */
static int pick_cb(uint64_t off, size_t size, void *arg)
{
	(void)size;
	if (*(uint64_t *)pm_pool_ptr(pool, off))
		*(uint64_t *)arg = off;
	return 0;
}

/* Transactions committed one after the other change bits of one bitmap
 * word, and none is applied before a crash: replay (in seq order) must
 * give every bit its last value.  Whole-word records would not: each
 * carries the word as its transaction saw it, without the unapplied
 * bits of the ones before. */
static void test_heap_shared_word_replay(void **state)
{
	uint64_t a, b, c, d;
	struct pm_tx *tx;
	int st;
	pid_t pid;

	(void)state;
	a = alloc1(64, 0, 1);
	b = alloc1(64, 0, 2);
	pm_pool_close(pool);
	pid = fork();
	if (pid == 0) { /* commits durable, never applied, then dies */
		if (pm_pool_open(path, 0, &pool))
			_exit(1);
		pm_tx_test_skip_apply = 1;
		if (pm_tx_begin(pool, 512, &tx) || pm_tx_alloc(tx, 64, 0, &c) ||
		    pm_tx_free(tx, a) || pm_tx_commit(tx) ||
		    pm_tx_begin(pool, 512, &tx) || pm_tx_alloc(tx, 64, 0, &d) ||
		    pm_tx_write(tx, pm_pool_ptr(pool, d), &c, 8) ||
		    pm_tx_free(tx, b) || pm_tx_commit(tx))
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	/* two objects: c, and d (maybe in a's unit, freed before) naming c */
	assert_int_equal(walk().n, 2);
	assert_int_equal(pm_heap_walk(pool, pick_cb, &d), 0);
	c = *(uint64_t *)pm_pool_ptr(pool, d);
	assert_int_equal(pm_usable_size(pool, c), 64);
	assert_int_equal(pm_usable_size(pool, d), 64);
	assert_int_not_equal(c, b);
	assert_int_not_equal(d, b);
	assert_int_equal(pm_usable_size(pool, b), 0);
	/* one bitmap word: a, b, c, d among the run's first 64 units */
	assert_true(c / 4096 == a / 4096 && d / 4096 == a / 4096);
	assert_true(b - a == 64 && (c - a) / 64 < 64 && (d - a) / 64 < 64);
}

/* ---- fences ---- */

static void test_heap_one_fence(void **state)
{
	struct pm_stats st;
	struct pm_tx *tx;
	uint64_t prev[4] = { 0 }, off, owed = 0, nt = 0;

	(void)state;
	for (int i = 0; i < 500; i++)
		alloc1(64, 0, 1); /* rings lapped */
	/* The first 100 grow the lane's reach to this shape (two fences
	 * per doubling, see layout.h); the next 1000 are counted. */
	for (int i = -100; i < 1000; i++) {
		if (i == 0) {
			pm_stats_reset();
			owed = nt = 0;
		}
		assert_int_equal(pm_tx_begin(pool, 10 * PM_TX_HEAP_RESERVE,
					     &tx),
				 0);
		for (int k = 0; k < 4; k++) {
			size_t sz = (size_t)(k == 3 ? 40000 : 24 << k * 3);

			assert_int_equal(pm_tx_alloc(tx, sz, PM_ALLOC_ZERO,
						     &off),
					 0);
			assert_int_equal(pm_tx_write(tx, pm_pool_ptr(pool, off),
						     &i, sizeof(i)),
					 0);
			assert_int_equal(pm_tx_free(tx, prev[k]), 0);
			prev[k] = off;
		}
		assert_int_equal(pm_tx_commit(tx), 0);
		pm_stats_get(&st);
		owed += fences_owed(st.bytes_nt - nt);
		nt = st.bytes_nt;
	}
	print_message("fences: %.2f per tx of 4 allocs, 4 frees, 4 writes\n",
		      st.fences / 1000.0);
	assert_int_equal(st.fences, owed);
	assert_int_equal(walk().n, 504);
}

/* ---- threads ---- */

#define NTHREADS 64
#define PER_THREAD 200

static void *churn(void *arg)
{
	uint64_t mine[8] = { 0 }, off;
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct pm_tx *tx;

	for (int i = 0; i < PER_THREAD; i++) {
		int k = i % 8;
		size_t sz = 16 + (size_t)(rand_r(&seed) % 2000);

		if (i % 50 == 49)
			sz = 40000;
		if (pm_tx_begin(pool, 512, &tx))
			return (void *)1;
		if (pm_tx_alloc(tx, sz, k % 2 ? PM_ALLOC_SHORT : 0, &off) ||
		    pm_tx_write(tx, pm_pool_ptr(pool, off), &off, 8) ||
		    pm_tx_free(tx, mine[k])) {
			pm_tx_abort(tx);
			return (void *)2;
		}
		if (i % 7 == 3) {
			pm_tx_abort(tx);
			continue;
		}
		if (pm_tx_commit(tx))
			return (void *)3;
		mine[k] = off;
	}
	return NULL;
}

static int stop_walking;

static int count_only(uint64_t off, size_t size, void *arg)
{
	(void)off;
	(void)size;
	(*(uint64_t *)arg)++;
	return 0;
}

/* Walks and stats while the others allocate and free. */
static void *walker(void *arg)
{
	struct pm_heap_stats st;
	uint64_t n = 0;

	(void)arg;
	while (!__atomic_load_n(&stop_walking, __ATOMIC_ACQUIRE)) {
		if (pm_heap_walk(pool, count_only, &n) ||
		    pm_heap_stats(pool, &st))
			return (void *)1;
	}
	return NULL;
}

static int check_self(uint64_t off, size_t size, void *arg)
{
	(void)size;
	(*(uint64_t *)arg)++;
	return *(uint64_t *)pm_pool_ptr(pool, off) != off;
}

static void test_heap_threads(void **state)
{
	pthread_t t[NTHREADS], w;
	struct pm_heap_stats st;
	uint64_t n = 0;
	void *res;

	(void)state;
	pm_pool_close(pool);
	make(64UL << 20, 64);
	stop_walking = 0;
	assert_int_equal(pthread_create(&w, NULL, walker, NULL), 0);
	for (uintptr_t i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn,
						(void *)(i + 1)),
				 0);
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_null(res);
	}
	__atomic_store_n(&stop_walking, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(w, &res), 0);
	assert_null(res);
	assert_int_equal(pm_heap_walk(pool, check_self, &n), 0);
	assert_int_equal(n, NTHREADS * 8);
	assert_int_equal(pm_heap_stats(pool, &st), 0);
	assert_int_equal(st.objects, NTHREADS * 8);
	reopen();
	n = 0;
	assert_int_equal(pm_heap_walk(pool, check_self, &n), 0);
	assert_int_equal(n, NTHREADS * 8);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, each_setup, each_teardown)
		T(test_heap_pool),
		T(test_heap_alloc_persists),
		T(test_heap_extent_or_run),
		T(test_heap_zero),
		T(test_heap_abort),
		T(test_heap_root),
		T(test_heap_stats_walk),
		T(test_heap_overhead),
		T(test_heap_bad_free),
		T(test_heap_enomem),
		T(test_heap_extents_random),
		T(test_heap_raw_pool),
		T(test_heap_log_full),
		T(test_heap_reclaim),
		T(test_heap_shared_word_replay),
		T(test_heap_with_log),
		T(test_heap_one_fence),
		T(test_heap_threads),
#undef T
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, setup, NULL);
}
