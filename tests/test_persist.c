/* SPDX-License-Identifier: BSD-3-Clause */
/* test_persist.c - flush, fence and copy paths and their counters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch.h"
#include "libpm.h"

static char path[64];

static int setup(void **state)
{
	struct pm_map *m;

	snprintf(path, sizeof(path), "/dev/shm/test_persist.%d", getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	assert_int_equal(pm_map_file(path, 1 << 20, PM_MAP_CREATE, &m), 0);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	pm_unmap(*state);
	unlink(path);
	return 0;
}

static void test_persist_one_fence(void **state)
{
	struct pm_map *m = *state;
	char *p = pm_map_addr(m);
	struct pm_stats st;

	assert_int_equal(pm_map_granularity(m), PM_GRANULARITY_CACHELINE);
	pm_stats_reset();
	memset(p + 10, 0xab, 100);
	assert_int_equal(pm_persist(m, p + 10, 100), 0);
	pm_stats_get(&st);
	assert_int_equal(st.fences, 1);
	assert_int_equal(st.flushes, 2);
}

static void test_persist_outside_map(void **state)
{
	struct pm_map *m = *state;
	char *p = pm_map_addr(m);

	assert_int_equal(pm_persist(m, p + (1 << 20) - 8, 16), -EINVAL);
	assert_int_equal(pm_persist(m, p - 1, 1), -EINVAL);
	assert_int_equal(pm_persist(NULL, p, 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_persist_one_fence),
		cmocka_unit_test(test_persist_outside_map),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
