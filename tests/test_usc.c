/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_usc.c - the unsafe-shutdown record through create, open and close,
 * with the platform's counter replaced (-Wl,--wrap=pm_usc_read).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crc.h"
#include "internal.h"
#include "layout.h"
#include "libpm.h"
#include "usc.h"

static char path[64];
static int fake_ret;
static uint64_t fake_usc, fake_id = 7;

int __wrap_pm_usc_read(int fd, uint64_t *usc, uint64_t *id);
int __wrap_pm_usc_read(int fd, uint64_t *usc, uint64_t *id)
{
	(void)fd;
	*usc = fake_usc;
	*id = fake_id;
	return fake_ret;
}

static void hdr_get(struct pm_hdr *h)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, h, sizeof(*h), PM_HDR_A_OFF), sizeof(*h));
	close(fd);
}

/* What a crash leaves: the record of an open pool. */
static void crash_open(uint64_t usc)
{
	struct pm_hdr h;
	int fd = open(path, O_WRONLY);

	hdr_get(&h);
	h.dirty = pm_le32(1);
	h.usc = pm_le64(usc);
	h.crc = pm_le32(pm_crc32c(&h, offsetof(struct pm_hdr, crc)));
	assert_int_equal(pwrite(fd, &h, sizeof(h), PM_HDR_A_OFF), sizeof(h));
	assert_int_equal(pwrite(fd, &h, sizeof(h), PM_HDR_B_OFF), sizeof(h));
	close(fd);
}

static int setup(void **state)
{
	struct pm_pool *p;

	unlink(path);
	fake_ret = 0;
	fake_usc = 5;
	fake_id = 7;
	assert_int_equal(pm_pool_create(path, 4 << 20, NULL, &p), 0);
	pm_pool_close(p);
	return 0;
}

static enum pm_shutdown_state open_state(unsigned flags, int want)
{
	struct pm_pool_info info;
	struct pm_pool *p;

	assert_int_equal(pm_pool_open(path, flags, &p), want);
	if (want)
		return PM_SHUTDOWN_ERROR + 1;
	assert_int_equal(pm_pool_info(p, &info), 0);
	pm_pool_close(p);
	return info.shutdown;
}

static void test_pm_usc_open_records_and_close_clears(void **state)
{
	struct pm_hdr h;
	struct pm_pool *p;

	hdr_get(&h);
	assert_int_equal(pm_le32(h.dirty), 0);
	assert_int_equal(pm_le64(h.usc), 5);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	hdr_get(&h);
	assert_int_equal(pm_le32(h.dirty), 1);
	assert_int_equal(pm_le64(h.dimm_id), 7);
	pm_pool_close(p);
	hdr_get(&h);
	assert_int_equal(pm_le32(h.dirty), 0);
}

static void test_pm_usc_open_count_changed_while_open(void **state)
{
	struct pm_hdr h;

	crash_open(5);
	fake_usc = 6;
	assert_int_equal(open_state(0, PM_E_UNSAFE_SHUTDOWN),
			 PM_SHUTDOWN_ERROR + 1);
	hdr_get(&h); /* a refused open changes nothing */
	assert_int_equal(pm_le32(h.dirty), 1);
	assert_int_equal(pm_le64(h.usc), 5);
	assert_int_equal(open_state(PM_POOL_IGNORE_SHUTDOWN, 0),
			 PM_SHUTDOWN_DIRTY);
	/* Accepted once, the new count is the reference. */
	assert_int_equal(open_state(0, 0), PM_SHUTDOWN_CLEAN);
}

static void test_pm_usc_open_crash_without_adr_failure(void **state)
{
	crash_open(5);
	assert_int_equal(open_state(0, 0), PM_SHUTDOWN_CLEAN);
}

static void test_pm_usc_open_count_changed_while_closed(void **state)
{
	fake_usc = 9;
	assert_int_equal(open_state(0, 0), PM_SHUTDOWN_CLEAN);
}

static void test_pm_usc_open_other_dimms(void **state)
{
	crash_open(5);
	fake_usc = 1;
	fake_id = 8;
	assert_int_equal(open_state(0, 0), PM_SHUTDOWN_CLEAN);
}

/* "Cannot tell" and "could not read" never block and write nothing. */
static void test_pm_usc_open_unsupported_or_error(void **state)
{
	struct pm_hdr before, after;

	crash_open(5);
	hdr_get(&before);
	fake_usc = 6;
	fake_ret = -ENOTSUP;
	assert_int_equal(open_state(0, 0), PM_SHUTDOWN_UNSUPPORTED);
	fake_ret = -EIO;
	assert_int_equal(open_state(0, 0), PM_SHUTDOWN_ERROR);
	hdr_get(&after);
	assert_int_equal(after.gen, before.gen);
	assert_int_equal(pm_le32(after.dirty), 1);
	/* Once readable again, the old record still catches the change. */
	fake_ret = 0;
	assert_int_equal(open_state(0, PM_E_UNSAFE_SHUTDOWN),
			 PM_SHUTDOWN_ERROR + 1);
}

static void test_pm_usc_create_unsupported(void **state)
{
	struct pm_pool_info info;
	struct pm_pool *p;
	struct pm_hdr h;

	unlink(path);
	fake_ret = -ENOTSUP;
	assert_int_equal(pm_pool_create(path, 4 << 20, NULL, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.shutdown, PM_SHUTDOWN_UNSUPPORTED);
	pm_pool_close(p);
	hdr_get(&h);
	assert_int_equal(pm_le32(h.dirty), 0);
}

static void test_pm_usc_judge_table(void **state)
{
	struct pm_hdr h = { 0 };

	h.dirty = pm_le32(1);
	h.usc = pm_le64(3);
	h.dimm_id = pm_le64(7);
	h.sds_state = pm_le32(PM_SHUTDOWN_UNSUPPORTED);
	assert_int_equal(pm_usc_judge(&h, 0, 4, 7), PM_SHUTDOWN_CLEAN);
	h.sds_state = pm_le32(PM_SHUTDOWN_CLEAN);
	assert_int_equal(pm_usc_judge(&h, 0, 4, 7), PM_SHUTDOWN_DIRTY);
	assert_int_equal(pm_usc_judge(&h, 0, 3, 7), PM_SHUTDOWN_CLEAN);
	assert_int_equal(pm_usc_judge(&h, -ENOTSUP, 4, 7),
			 PM_SHUTDOWN_UNSUPPORTED);
	assert_int_equal(pm_usc_judge(&h, -EACCES, 4, 7), PM_SHUTDOWN_ERROR);
	h.dirty = 0;
	assert_int_equal(pm_usc_judge(&h, 0, 4, 7), PM_SHUTDOWN_CLEAN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_pm_usc_open_records_and_close_clears, setup),
		cmocka_unit_test_setup(
			test_pm_usc_open_count_changed_while_open, setup),
		cmocka_unit_test_setup(
			test_pm_usc_open_crash_without_adr_failure, setup),
		cmocka_unit_test_setup(
			test_pm_usc_open_count_changed_while_closed, setup),
		cmocka_unit_test_setup(test_pm_usc_open_other_dimms, setup),
		cmocka_unit_test_setup(test_pm_usc_open_unsupported_or_error,
				       setup),
		cmocka_unit_test(test_pm_usc_create_unsupported),
		cmocka_unit_test(test_pm_usc_judge_table),
	};
	int ret;

	snprintf(path, sizeof(path), "/dev/shm/test_usc.%d", getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	if (!getenv("PM_LOG"))
		pm_set_log_level(0); /* refusals are expected */
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return ret;
}
