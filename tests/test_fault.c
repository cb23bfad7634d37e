/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fault.c - the fault-injection engine, and mapping and persistence
 * under every single resource failure (the loop is in fault_driver.c).
 * Linked with libpm-fault.la, the library built with PM_FAULT_INJECTION.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "fault_driver.h"
#include "internal.h"
#include "libpm.h"

#define MAP_SIZE (256 * 1024)

/* ---- mapping ------------------------------------------------------------ */

static struct pm_map *map;

static void unmap_release(int ret)
{
	(void)ret;
	pm_unmap(map);
	map = NULL;
}

static void map_create_before(void)
{
	unlink(fault_path);
}

static int map_create_run(void)
{
	return pm_map_file(fault_path, MAP_SIZE, PM_MAP_CREATE | PM_MAP_EXCL,
			   &map);
}

static void map_create_check(int done)
{
	if (done)
		fault_assert_file(fault_path, MAP_SIZE, 0, 0);
	else
		fault_assert_no_file(fault_path);
}

static void map_open_before(void)
{
	fault_write_file(fault_path, MAP_SIZE, 1);
}

static int map_open_run(void)
{
	return pm_map_file(fault_path, 0, 0, &map);
}

static void map_open_check(int done)
{
	(void)done;
	fault_assert_file(fault_path, MAP_SIZE, MAP_SIZE, 1);
}

static void map_grow_before(void)
{
	fault_write_file(fault_path, MAP_SIZE / 4, 2);
}

static int map_grow_run(void)
{
	return pm_map_file(fault_path, MAP_SIZE, 0, &map);
}

static void map_grow_check(int done)
{
	/* Growing is not undone when a later step fails: the old bytes
	 * stay, the new ones are zeros. */
	struct stat st;

	assert_int_equal(stat(fault_path, &st), 0);
	if (done || st.st_size == MAP_SIZE)
		fault_assert_file(fault_path, MAP_SIZE, MAP_SIZE / 4, 2);
	else
		fault_assert_file(fault_path, MAP_SIZE / 4, MAP_SIZE / 4, 2);
}

static void test_fault_map_file(void **state)
{
	static const struct fault_op ops[] = {
		{ "pm_map_file create", map_create_before, map_create_run,
		  unmap_release, map_create_check, 0 },
		{ "pm_map_file open", map_open_before, map_open_run,
		  unmap_release, map_open_check, 0 },
		{ "pm_map_file grow", map_grow_before, map_grow_run,
		  unmap_release, map_grow_check, 0 },
	};

	(void)state;
	fault_run_all(ops, sizeof(ops) / sizeof(ops[0]));
}

/* ---- persistence at PAGE granularity (msync) --------------------------- */

static unsigned char src[3 * 4096 + 100];

static void page_map_before(void)
{
	fault_write_file(fault_path, MAP_SIZE, 3);
	setenv("PM_FORCE_GRANULARITY", "page", 1);
	assert_int_equal(pm_map_file(fault_path, 0, 0, &map), 0);
	unsetenv("PM_FORCE_GRANULARITY");
	assert_int_equal(pm_map_granularity(map), PM_GRANULARITY_PAGE);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = fault_pattern(i + 5000, 4);
}

/* A failed msync must not stick: the next persist of the same range
 * succeeds and the bytes reach the file. */
static void page_release(int ret)
{
	unsigned char *p = pm_map_addr(map);

	(void)ret;
	assert_int_equal(pm_persist(map, p, MAP_SIZE), 0);
	assert_int_equal(pm_drain(map), 0);
	unmap_release(0);
}

static void page_check(int done)
{
	unsigned char buf[sizeof(src)];
	int fd = open(fault_path, O_RDONLY);

	(void)done;
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 1000),
			 (ssize_t)sizeof(buf));
	close(fd);
	assert_memory_equal(buf, src, sizeof(src));
}

static int persist_run(void)
{
	unsigned char *p = pm_map_addr(map);

	memcpy(p + 1000, src, sizeof(src));
	return pm_persist(map, p + 1000, sizeof(src));
}

static int memcpy_run(void)
{
	unsigned char *p = pm_map_addr(map);

	return pm_memcpy(map, p + 1000, src, sizeof(src), 0);
}

static int memset_run(void)
{
	unsigned char *p = pm_map_addr(map);
	int ret;

	ret = pm_memset(map, p + 1000, 0x5a, sizeof(src), 0);
	/* Leave the pattern page_check() expects; release persists it. */
	memcpy(p + 1000, src, sizeof(src));
	return ret;
}

/* Two flushes, then one drain: either failing must show at the drain. */
static int flush_drain_run(void)
{
	unsigned char *p = pm_map_addr(map);

	memcpy(p + 1000, src, sizeof(src));
	pm_flush(map, p + 1000, 100);
	pm_flush(map, p + 1100, sizeof(src) - 100);
	return pm_drain(map);
}

static void test_fault_persist_page(void **state)
{
	static const struct fault_op ops[] = {
		{ "pm_persist (page)", page_map_before, persist_run,
		  page_release, page_check, 0 },
		{ "pm_memcpy (page)", page_map_before, memcpy_run, page_release,
		  page_check, 0 },
		{ "pm_memset (page)", page_map_before, memset_run, page_release,
		  page_check, 0 },
		{ "pm_flush+pm_drain (page)", page_map_before, flush_drain_run,
		  page_release, page_check, 0 },
	};

	(void)state;
	fault_run_all(ops, sizeof(ops) / sizeof(ops[0]));
}

/* ---- SIGBUS-safe reads (the handler is installed on first use) -------- */

static void safe_before(void)
{
	fault_write_file(fault_path, MAP_SIZE, 8);
	assert_int_equal(pm_map_file(fault_path, 0, PM_MAP_READONLY, &map), 0);
}

static int safe_run(void)
{
	unsigned char *p = pm_map_addr(map);

	memset(src, 0, sizeof(src));
	return pm_read_safe(map, src, p + 4000, sizeof(src));
}

static void safe_release(int ret)
{
	for (size_t i = 0; !ret && i < sizeof(src); i++)
		assert_int_equal(src[i], fault_pattern(i + 4000, 8));
	unmap_release(ret);
}

static void test_fault_read_safe(void **state)
{
	static const struct fault_op op = {
		"pm_read_safe", safe_before, safe_run, safe_release, NULL, 0,
	};

	(void)state;
	fault_run(&op);
}

/* ---- the engine itself --------------------------------------------------- */

static void test_fault_arm_by_name(void **state)
{
	(void)state;
	assert_int_equal(pm_fault_arm("no-such-kind", 1, 0), -EINVAL);
	fault_write_file(fault_path, MAP_SIZE, 5);
	/* The first mmap fails: open works, mapping does not. */
	assert_int_equal(pm_fault_arm("mmap", 1, 0), 0);
	assert_int_equal(pm_map_file(fault_path, 0, 0, &map),
			 pm_fault_errno("mmap"));
	assert_int_equal(pm_fault_hits(), 1);
	assert_string_equal(pm_fault_last(), "mmap");
	assert_int_equal(pm_fault_calls("open"), 1);
	/* One shot: the next attempt succeeds. */
	assert_int_equal(pm_map_file(fault_path, 0, 0, &map), 0);
	assert_int_equal(pm_fault_hits(), 1);
	pm_fault_disarm();
	pm_unmap(map);
	map = NULL;
}

static void test_fault_sticky_fails_every_later_call(void **state)
{
	(void)state;
	assert_int_equal(pm_fault_arm("malloc", 1, 4), -EINVAL);
	fault_write_file(fault_path, MAP_SIZE, 6);
	assert_int_equal(pm_fault_arm("open", 1, PM_FAULT_STICKY), 0);
	assert_int_equal(pm_map_file(fault_path, 0, 0, &map), -EMFILE);
	assert_int_equal(pm_map_file(fault_path, 0, 0, &map), -EMFILE);
	assert_int_equal(pm_fault_hits(), 2);
	assert_int_equal(pm_fault_calls("malloc"), 4);
	pm_fault_disarm();
	assert_int_equal(pm_map_file(fault_path, 0, 0, &map), 0);
	pm_unmap(map);
	map = NULL;
}

#define THREADS 4
#define ALLOCS 500

static void *alloc_loop(void *arg)
{
	unsigned long *failed = arg;

	for (int i = 0; i < ALLOCS; i++) {
		void *p = pm_malloc(16);

		if (p)
			pm_free(p);
		else
			(*failed)++;
	}
	return NULL;
}

/* Counting is exact and exactly one call fails with four threads in. */
static void test_fault_threads_count_exactly(void **state)
{
	pthread_t t[THREADS];
	unsigned long failed[THREADS] = { 0 }, sum = 0;
	long live = pm_fault_live_allocs();

	(void)state;
	assert_int_equal(pm_fault_arm("malloc", THREADS * ALLOCS / 2, 0), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, alloc_loop,
						&failed[i]),
				 0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		sum += failed[i];
	}
	assert_int_equal(pm_fault_calls("malloc"), THREADS * ALLOCS);
	assert_int_equal(pm_fault_hits(), 1);
	assert_int_equal(sum, 1);
	assert_int_equal(pm_fault_live_allocs(), live);
	pm_fault_disarm();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_arm_by_name),
		cmocka_unit_test(test_fault_map_file),
		cmocka_unit_test(test_fault_persist_page),
		cmocka_unit_test(test_fault_read_safe),
		cmocka_unit_test(test_fault_sticky_fails_every_later_call),
		cmocka_unit_test(test_fault_threads_count_exactly),
	};

	alarm(120); /* a loop instead of an error fails the test */
	return cmocka_run_group_tests(tests, fault_setup, fault_teardown);
}
