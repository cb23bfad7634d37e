/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_heap_kill.c - a child replaces objects linked from a root table
 * (allocate 16 B .. 48 KiB, write it, link it, free the old one, bump a
 * counter: one transaction each) and reports each committed count
 * through a pipe; the parent kills it with SIGKILL at a random moment,
 * reopens the pool and checks it against a model that ran exactly the
 * committed steps (every reported one, at most one more): each slot links
 * the object its last step wrote, and the heap holds exactly the root
 * and the linked objects.  HEAP_KILL_SEED and HEAP_KILL_ITERS reproduce
 * or extend a run.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libpm.h"
#include "killafter.h"
#include "tmpdir.h"

#define NSLOT 32

struct root {
	uint64_t done;
	uint64_t slot[NSLOT];
};

static char path[256];

static uint64_t mix(uint64_t k)
{
	k *= 0x9e3779b97f4a7c15ULL;
	return k ^ (k >> 29);
}

/* Step k (from 1): which slot, how big (0: unlink only). */
static void plan(uint64_t k, unsigned *slot, size_t *size)
{
	uint64_t h = mix(k);

	*slot = h % NSLOT;
	*size = (h >> 8) % 9 == 0   ? 0 :
		(h >> 16) % 17 == 0 ? 20000 + (h >> 24) % 30000 :
				      16 + (h >> 24) % 3000;
}

static int step(struct pm_pool *pool, struct root *r, uint64_t k)
{
	uint64_t obj = 0, old;
	unsigned s;
	size_t size;
	struct pm_tx *tx;
	int ret;

	plan(k, &s, &size);
	old = r->slot[s];
	ret = pm_tx_begin(pool, 64 + 2 * PM_TX_HEAP_RESERVE, &tx);
	if (ret)
		return ret;
	if (size) {
		ret = pm_tx_alloc(tx, size, k % 3 ? 0 : PM_ALLOC_SHORT, &obj);
		ret = ret ? ret :
			    pm_tx_write(tx, pm_pool_ptr(pool, obj), &k, 8);
	}
	ret = ret ? ret : pm_tx_write(tx, &r->slot[s], &obj, 8);
	ret = ret ? ret : pm_tx_free(tx, old);
	ret = ret ? ret : pm_tx_write(tx, &r->done, &k, 8);
	if (ret) {
		pm_tx_abort(tx);
		return ret;
	}
	return pm_tx_commit(tx);
}

static void child(int fd)
{
	struct pm_pool *pool;
	struct root *r;
	uint64_t off;

	if (pm_pool_open(path, 0, &pool) ||
	    pm_pool_root(pool, sizeof(*r), &off))
		_exit(2);
	r = pm_pool_ptr(pool, off);
	for (uint64_t k = r->done + 1;; k++) {
		if (step(pool, r, k))
			_exit(3);
		if (write(fd, &k, sizeof(k)) != sizeof(k))
			_exit(4);
	}
}

struct expect {
	struct pm_pool *pool;
	uint64_t root;
	const struct root *r;
	unsigned seen;
};

static int walk_cb(uint64_t off, size_t size, void *arg)
{
	struct expect *e = arg;

	(void)size;
	if (off == e->root)
		return e->seen++, 0;
	for (unsigned i = 0; i < NSLOT; i++)
		if (e->r->slot[i] == off)
			return e->seen++, 0;
	return 1; /* allocated but not linked: leaked */
}

/* The pool after @done steps: every slot links its last step's object. */
static void check(struct pm_pool *pool, const struct root *r, uint64_t root)
{
	uint64_t last[NSLOT] = { 0 };
	size_t lsize[NSLOT] = { 0 };
	struct expect e = { pool, root, r, 0 };
	unsigned linked = 0;

	for (uint64_t k = 1; k <= r->done; k++) {
		unsigned s;
		size_t size;

		plan(k, &s, &size);
		last[s] = size ? k : 0;
		lsize[s] = size;
	}
	for (unsigned s = 0; s < NSLOT; s++) {
		assert_int_equal(!last[s], !r->slot[s]);
		if (!last[s])
			continue;
		linked++;
		assert_true(pm_usable_size(pool, r->slot[s]) >= lsize[s]);
		assert_int_equal(*(uint64_t *)pm_pool_ptr(pool, r->slot[s]),
				 last[s]);
	}
	assert_int_equal(pm_heap_walk(pool, walk_cb, &e), 0);
	assert_int_equal(e.seen, linked + 1);
}

static void test_heap_survives_sigkill(void **state)
{
	const char *e = getenv("HEAP_KILL_SEED");
	unsigned seed = e ? (unsigned)atoi(e) : (unsigned)time(NULL);
	int iters = getenv("HEAP_KILL_ITERS") ?
			    atoi(getenv("HEAP_KILL_ITERS")) :
			    60;
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 4,
				  .lane_size = 32768,
				  .flags = PM_POOL_HEAP };
	struct pm_pool *pool;
	uint64_t reported = 0, off;
	struct root *r;

	(void)state;
	print_message("HEAP_KILL_SEED=%u HEAP_KILL_ITERS=%d\n", seed, iters);
	srand(seed);
	assert_int_equal(pm_pool_create(path, 8 << 20, &o, &pool), 0);
	pm_pool_close(pool);
	for (int i = 0; i < iters; i++) {
		reported = kill_after(child, 200 + rand() % 20000, reported);
		after_kill(path);
		assert_int_equal(pm_pool_open(path, 0, &pool), 0);
		if (pm_pool_root(pool, 0, &off) == 0) {
			r = pm_pool_ptr(pool, off);
			assert_true(r->done >= reported);
			assert_true(r->done <= reported + 1);
			check(pool, r, off);
			reported = r->done;
		} else {
			assert_int_equal(reported, 0);
		}
		pm_pool_close(pool);
	}
	print_message("%llu steps over %d kills\n",
		      (unsigned long long)reported, iters);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_survives_sigkill),
	};
	int ret;

	snprintf(path, sizeof(path), "%s/test_heap_kill.%d",
		 test_tmpdir("/dev/shm"), getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	unlink(path);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return ret;
}
