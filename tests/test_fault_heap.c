/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fault_heap.c - the heap under every single resource failure (the
 * loop is in fault_driver.c): create a heap pool, open one that holds
 * objects (the heap's volatile state is built then), a transaction of
 * allocations and frees up to its commit, and the root object's first
 * allocation and growth.  After each run the pool is reopened: it must
 * open and hold exactly the objects of the state before the failed call
 * or, for a commit that failed after its durability point, after it.
 * Linked with libpm-fault.la, the library built with PM_FAULT_INJECTION.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "fault_driver.h"
#include "libpm.h"

#define POOL_SIZE (4UL << 20)
#define NOBJ 40 /* objects in the golden pool */

static char golden[160];
static struct pm_pool *pool;
static uint64_t objs[NOBJ];

static size_t obj_size(unsigned i)
{
	return i % 8 == 7 ? 40000 : 16 + 97 * (size_t)i;
}

static int count_cb(uint64_t off, size_t size, void *arg)
{
	(void)off;
	(void)size;
	(*(unsigned *)arg)++;
	return 0;
}

/* Reopen: the heap holds @lo or @hi objects (root included). */
static void assert_objects(unsigned lo, unsigned hi)
{
	struct pm_pool *p;
	unsigned n = 0;

	assert_int_equal(pm_pool_open(fault_path, 0, &p), 0);
	assert_int_equal(pm_heap_walk(p, count_cb, &n), 0);
	pm_pool_close(p);
	if (n != lo && n != hi)
		fail_msg("%u objects, neither %u nor %u", n, lo, hi);
}

static void make_golden(void)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 2,
				  .flags = PM_POOL_HEAP };
	struct pm_pool *p;
	struct pm_tx *tx;

	snprintf(golden, sizeof(golden), "%s/golden-heap", fault_dir);
	unlink(golden);
	assert_int_equal(pm_pool_create(golden, POOL_SIZE, &o, &p), 0);
	assert_int_equal(pm_tx_begin(p, NOBJ * PM_TX_HEAP_RESERVE, &tx), 0);
	for (unsigned i = 0; i < NOBJ; i++)
		assert_int_equal(pm_tx_alloc(tx, obj_size(i), 0, &objs[i]), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	pm_pool_close(p);
}

/* ---- create ---- */

static void create_before(void)
{
	unlink(fault_path);
}

static int create_run(void)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .flags = PM_POOL_HEAP };

	return pm_pool_create(fault_path, POOL_SIZE, &o, &pool);
}

static void create_release(int ret)
{
	if (!ret)
		pm_pool_close(pool);
	pool = NULL;
}

/* Created whole or not at all (no file, or one that is not a pool). */
static void create_check(int done)
{
	struct pm_pool *p;
	int ret = pm_pool_open(fault_path, 0, &p);

	if (done)
		assert_int_equal(ret, 0);
	if (!ret) {
		assert_null(pm_pool_data(p, NULL));
		pm_pool_close(p);
	}
}

/* ---- open ---- */

static void open_before(void)
{
	fault_copy_file(golden, fault_path);
}

static int open_run(void)
{
	return pm_pool_open(fault_path, 0, &pool);
}

static void open_release(int ret)
{
	unsigned n = 0;

	if (!ret) {
		assert_int_equal(pm_heap_walk(pool, count_cb, &n), 0);
		assert_int_equal(n, NOBJ);
		pm_pool_close(pool);
	}
	pool = NULL;
}

static void same_check(int done)
{
	(void)done;
	assert_objects(NOBJ, NOBJ);
}

/* ---- a transaction of allocations and frees ---- */

static void opened_before(void)
{
	open_before();
	assert_int_equal(pm_pool_open(fault_path, 0, &pool), 0);
}

/* Ten allocations (new runs, an extent) and five frees, committed. */
static int tx_run(void)
{
	struct pm_tx *tx = NULL; /* a failed begin leaves it as it was */
	uint64_t off;
	int ret = pm_tx_begin(pool, 16 * PM_TX_HEAP_RESERVE, &tx);

	for (unsigned i = 0; !ret && i < 10; i++)
		ret = pm_tx_alloc(tx, i == 9 ? 100000 : 5000 + 700 * i,
				  PM_ALLOC_ZERO, &off);
	for (unsigned i = 0; !ret && i < 5; i++)
		ret = pm_tx_free(tx, objs[i * 3]);
	if (ret) {
		if (tx)
			pm_tx_abort(tx);
		return ret;
	}
	return pm_tx_commit(tx);
}

static void tx_release(int ret)
{
	(void)ret;
	pm_pool_close(pool);
	pool = NULL;
}

static void tx_check(int done)
{
	if (done)
		assert_objects(NOBJ + 5, NOBJ + 5);
	else
		assert_objects(NOBJ, NOBJ + 5);
}

/* ---- the root ---- */

static int root_run(void)
{
	uint64_t off;
	int ret = pm_pool_root(pool, 100, &off);

	return ret ? ret : pm_pool_root(pool, 50000, &off);
}

static void root_check(int done)
{
	if (done)
		assert_objects(NOBJ + 1, NOBJ + 1);
	else
		assert_objects(NOBJ, NOBJ + 1);
}

static void test_fault_heap_ops(void **state)
{
	const struct fault_op ops[] = {
		{ "create", create_before, create_run, create_release,
		  create_check, 0 },
		{ "open", open_before, open_run, open_release, same_check, 0 },
		{ "tx", opened_before, tx_run, tx_release, tx_check, 0 },
		{ "root", opened_before, root_run, tx_release, root_check, 0 },
	};

	(void)state;
	make_golden();
	fault_run_all(ops, sizeof(ops) / sizeof(ops[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_heap_ops),
	};

	alarm(300); /* a loop instead of an error fails the test */
	return cmocka_run_group_tests(tests, fault_setup, fault_teardown);
}
