/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fault.c - every public operation under every single resource
 * failure.  For N = 1, 2, ... the Nth injectable call (allocation, open,
 * mmap, ftruncate, fallocate, msync, flock, sigaction, thread creation)
 * fails, until the operation runs without reaching a fault.  For every N
 * the operation must return a negative errno with a logged message (or 0
 * when the failure was one it may survive), leak no memory, descriptor or
 * mapping, and leave the file in the state before the operation (or after
 * it, once the operation's durability point has passed).
 *
 * Linked with libpm-fault.la, the library built with PM_FAULT_INJECTION.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "libpm.h"

#define MAX_N 10000 /* more injectable calls than any operation makes */
#define MAP_SIZE (256 * 1024)

static char dir[64];
static char path[128];
static unsigned errors_logged;
static unsigned long runs; /* operation x N runs, all tests */
static unsigned long faults;
static int verbose;

/* One public operation under test. */
struct op {
	const char *name;
	/* Build the starting state (no faults armed). */
	void (*before)(void);
	/* The operation; its return value is checked. */
	int (*run)(void);
	/* Release whatever run() (and before()) left open. */
	void (*release)(int ret);
	/* Check the file: @done says whether the operation took effect. */
	void (*check)(int done);
	/* 1 if a fault may be absorbed (best-effort step): ret 0 on a hit. */
	int may_absorb;
};

static void log_fn(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level == PM_LOG_ERR)
		errors_logged++;
	if (verbose)
		fprintf(stderr, "  log %d: %s\n", level, msg);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Mappings of any file under the test directory. */
static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, dir) != NULL;
	fclose(f);
	return n;
}

static void run_op(const struct op *op)
{
	unsigned long n;
	int fds, maps, ret, hit;
	long allocs;

	for (n = 1; n <= MAX_N; n++) {
		fds = count_fds();
		maps = count_maps();
		allocs = pm_fault_live_allocs();
		if (op->before)
			op->before();
		errors_logged = 0;
		assert_int_equal(pm_fault_arm(NULL, n), 0);
		ret = op->run();
		hit = pm_fault_hits() != 0;
		pm_fault_disarm();
		runs++;
		faults += (unsigned long)hit;
		if (verbose)
			fprintf(stderr, "%s N=%lu: %s -> %d (%s)\n", op->name,
				n, hit ? pm_fault_last() : "no fault", ret,
				pm_strerror(ret));
		if (!hit) {
			assert_int_equal(ret, 0);
		} else if (ret == 0) {
			if (!op->may_absorb)
				fail_msg("%s: fault %lu (%s) absorbed, ret 0",
					 op->name, n, pm_fault_last());
		} else {
			if (ret > 0)
				fail_msg("%s: fault %lu (%s) gave %d", op->name,
					 n, pm_fault_last(), ret);
			if (!errors_logged)
				fail_msg("%s: fault %lu (%s) gave %d (%s) "
					 "without a logged message",
					 op->name, n, pm_fault_last(), ret,
					 pm_strerror(ret));
		}
		if (op->release)
			op->release(ret);
		if (allocs != pm_fault_live_allocs())
			fail_msg("%s: fault %lu (%s): %ld allocations leaked",
				 op->name, n, pm_fault_last(),
				 pm_fault_live_allocs() - allocs);
		if (fds != count_fds())
			fail_msg("%s: fault %lu (%s): %d descriptors leaked",
				 op->name, n, pm_fault_last(),
				 count_fds() - fds);
		if (maps != count_maps())
			fail_msg("%s: fault %lu (%s): %d mappings leaked",
				 op->name, n, pm_fault_last(),
				 count_maps() - maps);
		if (op->check)
			op->check(ret == 0);
		if (!hit)
			return;
	}
	fail_msg("%s: still hitting faults after %d calls", op->name, MAX_N);
}

/* ---- file helpers ------------------------------------------------------ */

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 131 + seed * 7 + (i >> 12)) & 0xff);
}

static void write_file(size_t size, unsigned seed)
{
	unsigned char *buf = malloc(size);
	int fd;

	assert_non_null(buf);
	for (size_t i = 0; i < size; i++)
		buf[i] = pattern(i, seed);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

/* The file holds @seed's pattern over [0, len) and is @size long. */
static void assert_file(size_t size, size_t len, unsigned seed)
{
	unsigned char *buf = malloc(len);
	struct stat st;
	int fd;

	assert_non_null(buf);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)size);
	assert_int_equal(pread(fd, buf, len, 0), (ssize_t)len);
	close(fd);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(i, seed))
			fail_msg("byte %zu is 0x%02x, not 0x%02x", i, buf[i],
				 pattern(i, seed));
	free(buf);
}

static void assert_no_file(void)
{
	struct stat st;

	if (stat(path, &st) == 0)
		fail_msg("%s exists (%lld bytes) after a failed create", path,
			 (long long)st.st_size);
	assert_int_equal(errno, ENOENT);
}

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
	unlink(path);
}

static int map_create_run(void)
{
	return pm_map_file(path, MAP_SIZE, PM_MAP_CREATE | PM_MAP_EXCL, &map);
}

static void map_create_check(int done)
{
	if (done)
		assert_file(MAP_SIZE, 0, 0);
	else
		assert_no_file();
}

static void map_open_before(void)
{
	write_file(MAP_SIZE, 1);
}

static int map_open_run(void)
{
	return pm_map_file(path, 0, 0, &map);
}

static void map_open_check(int done)
{
	(void)done;
	assert_file(MAP_SIZE, MAP_SIZE, 1);
}

static void map_grow_before(void)
{
	write_file(MAP_SIZE / 4, 2);
}

static int map_grow_run(void)
{
	return pm_map_file(path, MAP_SIZE, 0, &map);
}

static void map_grow_check(int done)
{
	/* Growing is not undone when a later step fails: the old bytes
	 * stay, the new ones are zeros. */
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	if (done || st.st_size == MAP_SIZE)
		assert_file(MAP_SIZE, MAP_SIZE / 4, 2);
	else
		assert_file(MAP_SIZE / 4, MAP_SIZE / 4, 2);
}

static void test_fault_map_file(void **state)
{
	static const struct op ops[] = {
		{ "pm_map_file create", map_create_before, map_create_run,
		  unmap_release, map_create_check, 0 },
		{ "pm_map_file open", map_open_before, map_open_run,
		  unmap_release, map_open_check, 0 },
		{ "pm_map_file grow", map_grow_before, map_grow_run,
		  unmap_release, map_grow_check, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		run_op(&ops[i]);
}

/* ---- persistence at PAGE granularity (msync) --------------------------- */

static unsigned char src[3 * 4096 + 100];

static void page_map_before(void)
{
	write_file(MAP_SIZE, 3);
	setenv("PM_FORCE_GRANULARITY", "page", 1);
	assert_int_equal(pm_map_file(path, 0, 0, &map), 0);
	unsetenv("PM_FORCE_GRANULARITY");
	assert_int_equal(pm_map_granularity(map), PM_GRANULARITY_PAGE);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = pattern(i + 5000, 4);
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
	int fd = open(path, O_RDONLY);

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
	static const struct op ops[] = {
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
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		run_op(&ops[i]);
}

/* ---- the engine itself --------------------------------------------------- */

static void test_fault_arm_by_name(void **state)
{
	(void)state;
	assert_int_equal(pm_fault_arm("no-such-kind", 1), -EINVAL);
	write_file(MAP_SIZE, 5);
	/* The first mmap fails: open works, mapping does not. */
	assert_int_equal(pm_fault_arm("mmap", 1), 0);
	assert_int_equal(pm_map_file(path, 0, 0, &map),
			 pm_fault_errno("mmap"));
	assert_int_equal(pm_fault_hits(), 1);
	assert_string_equal(pm_fault_last(), "mmap");
	assert_int_equal(pm_fault_calls("open"), 1);
	/* One shot: the next attempt succeeds. */
	assert_int_equal(pm_map_file(path, 0, 0, &map), 0);
	assert_int_equal(pm_fault_hits(), 1);
	pm_fault_disarm();
	pm_unmap(map);
	map = NULL;
}

static int setup(void **state)
{
	(void)state;
	verbose = getenv("TEST_FAULT_VERBOSE") != NULL;
	snprintf(dir, sizeof(dir), "/dev/shm/test_fault.%d", getpid());
	if (mkdir(dir, 0700))
		return -1;
	snprintf(path, sizeof(path), "%s/pool", dir);
	pm_set_log_fn(log_fn, NULL);
	pm_set_log_level(verbose ? PM_LOG_DEBUG : PM_LOG_ERR);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	printf("# fault injection: %lu operation runs, %lu with a fault\n",
	       runs, faults);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_arm_by_name),
		cmocka_unit_test(test_fault_map_file),
		cmocka_unit_test(test_fault_persist_page),
	};

	alarm(120); /* a loop instead of an error fails the test */
	return cmocka_run_group_tests(tests, setup, teardown);
}
