/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fault_pool.c - pool create, open, close and check under every single
 * resource failure (the loop is in fault_driver.c).  The pool lives on
 * /dev/shm unless TMPDIR says otherwise, so it is mapped at PAGE
 * granularity and every persist is an msync that can fail too.  After each run the pool must open cleanly
 * (no header copy left to repair) and hold the data it held before.
 * Linked with libpm-fault.la, the library built with PM_FAULT_INJECTION.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault_driver.h"
#include "layout.h"
#include "libpm.h"

#define POOL_SIZE (4UL << 20)
#define LAYOUT "fault"
#define SEED 7

static char golden[160];
static struct pm_pool *pool;

/* Fill the data area with pattern @seed and make it durable. */
static void fill_data(struct pm_pool *p, unsigned seed)
{
	size_t size;
	unsigned char *d = pm_pool_data(p, &size);

	for (size_t i = 0; i < size; i++)
		d[i] = fault_pattern(i, seed);
	assert_int_equal(pm_persist(pm_pool_map(p), d, size), 0);
}

/* The pool at @path opens without repair and holds pattern @seed. */
static void assert_pool(const char *path, unsigned seed)
{
	struct pm_pool_info info;
	struct pm_pool *p;
	unsigned char *d;
	size_t size;

	assert_int_equal(pm_pool_open_layout(path, LAYOUT, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	if (info.header_repaired)
		fail_msg("%s: a header copy was damaged", path);
	d = pm_pool_data(p, &size);
	for (size_t i = 0; i < size; i++)
		if (d[i] != fault_pattern(i, seed))
			fail_msg("%s: data byte %zu is 0x%02x, not 0x%02x",
				 path, i, d[i], fault_pattern(i, seed));
	pm_pool_close(p);
}

static void make_golden(void)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .layout = LAYOUT };
	struct pm_pool *p;

	snprintf(golden, sizeof(golden), "%s/golden", fault_dir);
	unlink(golden);
	assert_int_equal(pm_pool_create(golden, POOL_SIZE, &o, &p), 0);
	fill_data(p, SEED);
	pm_pool_close(p);
}

static void close_release(int ret)
{
	(void)ret;
	pm_pool_close(pool);
	pool = NULL;
}

/* ---- create ------------------------------------------------------------ */

static void create_before(void)
{
	unlink(fault_path);
}

static int create_run(void)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .layout = LAYOUT };

	return pm_pool_create(fault_path, POOL_SIZE, &o, &pool);
}

static void create_check(int done)
{
	struct pm_pool *p;

	if (!done) {
		fault_assert_no_file(fault_path);
		return;
	}
	assert_int_equal(pm_pool_open_layout(fault_path, LAYOUT, 0, &p), 0);
	pm_pool_close(p);
}

/* ---- open and close ---------------------------------------------------- */

static void golden_before(void)
{
	fault_copy_file(golden, fault_path);
}

static int open_run(void)
{
	return pm_pool_open_layout(fault_path, LAYOUT, 0, &pool);
}

static void golden_check(int done)
{
	(void)done;
	assert_pool(fault_path, SEED);
}

/* Header B torn: open rewrites it from A, and may fail doing so. */
static void damaged_before(void)
{
	static const char junk[64] = "torn";
	int fd;

	golden_before();
	fd = open(fault_path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), PM_HDR_B_OFF + 100),
			 (ssize_t)sizeof(junk));
	close(fd);
}

static void damaged_check(int done)
{
	struct pm_pool *p;

	if (done) {
		assert_pool(fault_path, SEED);
		return;
	}
	/* Not repaired yet: a later open still finds A and repairs. */
	assert_int_equal(pm_pool_open_layout(fault_path, LAYOUT, 0, &p), 0);
	pm_pool_close(p);
	assert_pool(fault_path, SEED);
}

static void open_before(void)
{
	golden_before();
	assert_int_equal(pm_pool_open_layout(fault_path, LAYOUT, 0, &pool), 0);
}

static int close_run(void)
{
	pm_pool_close(pool);
	pool = NULL;
	return 0;
}

/* ---- check ----------------------------------------------------------------- */

static int check_cb(const struct pm_check_finding *f, void *arg)
{
	(void)f;
	(*(unsigned *)arg)++;
	return 0;
}

static unsigned nfindings;

static int check_run(void)
{
	nfindings = 0;
	return pm_pool_check(fault_path, PM_CHECK_VERBOSE, check_cb,
			     &nfindings);
}

/* Without PM_CHECK_REPAIR the file is not written, whatever fails. */
static void check_check(int done)
{
	if (!fault_files_equal(fault_path, golden))
		fail_msg("pm_pool_check without REPAIR changed the file");
	if (done && !nfindings)
		fail_msg("verbose check reported nothing");
	assert_pool(fault_path, SEED);
}

static int repair_run(void)
{
	nfindings = 0;
	return pm_pool_check(fault_path, PM_CHECK_REPAIR, check_cb, &nfindings);
}

static void test_fault_pool_check(void **state)
{
	static const struct fault_op ops[] = {
		{ "pm_pool_check", golden_before, check_run, NULL, check_check,
		  0 },
		/* The repair closes the pool it opened, and close absorbs
		 * a failure to retire lanes (the next open replays). */
		{ "pm_pool_check REPAIR (header B torn)", damaged_before,
		  repair_run, NULL, damaged_check, 1 },
	};

	(void)state;
	make_golden();
	fault_run_all(ops, sizeof(ops) / sizeof(ops[0]));
}

static void test_fault_pool_create(void **state)
{
	static const struct fault_op op = {
		"pm_pool_create", create_before, create_run,
		close_release,	  create_check,	 0,
	};

	(void)state;
	fault_run(&op);
}

static void test_fault_pool_open(void **state)
{
	static const struct fault_op ops[] = {
		{ "pm_pool_open", golden_before, open_run, close_release,
		  golden_check, 0 },
		{ "pm_pool_open (header B torn)", damaged_before, open_run,
		  close_release, damaged_check, 0 },
	};

	(void)state;
	make_golden();
	fault_run_all(ops, sizeof(ops) / sizeof(ops[0]));
}

static void test_fault_pool_close(void **state)
{
	/* Close returns nothing: a failure inside it is absorbed, and the
	 * pool must still open as it was. */
	static const struct fault_op op = {
		"pm_pool_close", open_before, close_run, NULL, golden_check, 1,
	};

	(void)state;
	make_golden();
	fault_run(&op);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_pool_create),
		cmocka_unit_test(test_fault_pool_open),
		cmocka_unit_test(test_fault_pool_close),
		cmocka_unit_test(test_fault_pool_check),
	};

	alarm(300); /* a loop instead of an error fails the test */
	return cmocka_run_group_tests(tests, fault_setup, fault_teardown);
}
