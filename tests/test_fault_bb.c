/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fault_bb.c - bad-block listing and clearing, of a plain file and of
 * a pool (whose header copy must be rebuilt), under every single resource
 * failure (the loop is in fault_driver.c).  The device list comes
 * from a fake sysfs tree (PM_SYSFS_ROOT) naming sectors of a real file,
 * found through FIEMAP, so the file must live on a file system that has
 * FIEMAP (not tmpfs: the test skips there).
 * Linked with libpm-fault.la, the library built with PM_FAULT_INJECTION.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakesys.h"
#include "fault.h"
#include "fault_driver.h"
#include "libpm.h"

#define NBLK 16
#define SEED 11
#define DISK                                                                   \
	"/sys/devices/platform/e820_pmem/ndbus0/region0/namespace0.0"          \
	"/block/pmem0"

static char dir[128], root[256], file[300], pfile[300], pgold[300];
static uint64_t bsize;
static struct pm_badblock want[2]; /* what the list must say */
static struct pm_badblock *bbs;
static size_t nbbs;

/* Device byte offset of offset @off of @path (fully allocated). */
static int dev_offset(const char *path, uint64_t off, uint64_t *dev)
{
	size_t sz = sizeof(struct fiemap) + sizeof(struct fiemap_extent);
	struct fiemap *fm = calloc(1, sz);
	int fd = open(path, O_RDONLY), ret = -1;

	assert_non_null(fm);
	assert_true(fd >= 0);
	fm->fm_start = off;
	fm->fm_length = 1;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 1;
	if (!ioctl(fd, FS_IOC_FIEMAP, fm) && fm->fm_mapped_extents == 1) {
		struct fiemap_extent *e = &fm->fm_extents[0];

		*dev = e->fe_physical + (off - e->fe_logical);
		ret = 0;
	}
	close(fd);
	free(fm);
	return ret;
}

#define POOL_SIZE (1UL << 20)
#define PSEED 12

/* A pool on the test file system, fully written so FIEMAP maps it all. */
static void make_pool(void)
{
	struct pm_pool *p;
	unsigned char *d;
	size_t size;

	assert_int_equal(pm_pool_create(pfile, POOL_SIZE, NULL, &p), 0);
	d = pm_pool_data(p, &size);
	for (size_t i = 0; i < size; i++)
		d[i] = fault_pattern(i, PSEED);
	assert_int_equal(pm_persist(pm_pool_map(p), d, size), 0);
	pm_pool_close(p);
	fault_copy_file(pfile, pgold);
	fault_copy_file(pgold, pfile);
}

/* Blocks 3 and 9 of the file are bad (one sector of each), and of the
 * pool header B and the last block. */
static int write_tree(void)
{
	char p[PATH_MAX + 64];
	struct stat st;
	uint64_t d3, d9, hb, last;
	FILE *f;

	if (dev_offset(file, 3 * bsize + 512, &d3) ||
	    dev_offset(file, 9 * bsize, &d9) || dev_offset(pfile, 4096, &hb) ||
	    dev_offset(pfile, POOL_SIZE - 512, &last))
		return -1;
	assert_int_equal(stat(file, &st), 0);
	fakesys_disk(root, DISK, st.st_dev);
	snprintf(p, sizeof(p), "%s%s/badblocks", root, DISK);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%llu 1\n%llu 1\n%llu 1\n%llu 1\n",
		(unsigned long long)(d9 / 512), (unsigned long long)(d3 / 512),
		(unsigned long long)(hb / 512),
		(unsigned long long)(last / 512));
	fclose(f);
	want[0] = (struct pm_badblock){ 3 * bsize, bsize };
	want[1] = (struct pm_badblock){ 9 * bsize, bsize };
	return 0;
}

static int setup(void **state)
{
	struct statfs sf;

	if (fault_setup(state))
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/test_fault_bb.%d", getpid());
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(pfile, sizeof(pfile), "%s/pool", dir);
	snprintf(pgold, sizeof(pgold), "%s/pool.golden", dir);
	fakesys_mkdirs(root, "");
	if (statfs(dir, &sf))
		return -1;
	bsize = (uint64_t)sf.f_bsize;
	fault_write_file(file, NBLK * bsize, SEED);
	make_pool();
	if (write_tree()) {
		fprintf(stderr, "# no FIEMAP on %s: bad-block faults skipped\n",
			dir);
		bsize = 0;
	}
	setenv("PM_SYSFS_ROOT", root, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return -1;
	return fault_teardown(state);
}

/* ---- list -------------------------------------------------------------- */

static int list_run(void)
{
	bbs = (void *)1; /* must be reset, even on failure */
	nbbs = 99;
	return pm_badblocks_list(file, &bbs, &nbbs);
}

static void list_release(int ret)
{
	if (ret) {
		assert_null(bbs);
		assert_int_equal(nbbs, 0);
		return;
	}
	assert_int_equal(nbbs, 2);
	assert_memory_equal(bbs, want, sizeof(want));
	pm_badblocks_free(bbs);
	bbs = NULL;
}

static void test_fault_badblocks_list(void **state)
{
	static const struct fault_op op = {
		"pm_badblocks_list", NULL, list_run, list_release, NULL, 0,
	};

	(void)state;
	if (!bsize)
		skip();
	fault_run(&op);
}

/* ---- clear ------------------------------------------------------------- */

static void clear_before(void)
{
	int fd = open(file, O_RDWR);
	unsigned char *buf = malloc(bsize);

	/* Rewrite block 3 in place (a rewrite keeps its blocks). */
	assert_non_null(buf);
	assert_true(fd >= 0);
	for (size_t i = 0; i < bsize; i++)
		buf[i] = fault_pattern(3 * bsize + i, SEED);
	assert_int_equal(pwrite(fd, buf, bsize, (off_t)(3 * bsize)),
			 (ssize_t)bsize);
	close(fd);
	free(buf);
}

static int clear_run(void)
{
	return pm_badblocks_clear(file, &want[0]);
}

/* Outside block 3 nothing changed; block 3 is as before or all zero
 * (its contents are given up once the hole is punched). */
static void clear_check(int done)
{
	size_t size = NBLK * bsize;
	unsigned char *buf = malloc(size);
	int fd = open(file, O_RDONLY), zero = 1, old = 1;

	assert_non_null(buf);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, size, 0), (ssize_t)size);
	close(fd);
	for (size_t i = 0; i < size; i++) {
		int in = i >= 3 * bsize && i < 4 * bsize;

		if (!in && buf[i] != fault_pattern(i, SEED))
			fail_msg("byte %zu outside the cleared block changed",
				 i);
		if (in) {
			zero &= buf[i] == 0;
			old &= buf[i] == fault_pattern(i, SEED);
		}
	}
	free(buf);
	if (done && !zero)
		fail_msg("cleared block is not zero");
	if (!zero && !old)
		fail_msg("block 3 is half cleared");
}

static void test_fault_badblocks_clear(void **state)
{
	static const struct fault_op op = {
		"pm_badblocks_clear",
		clear_before,
		clear_run,
		NULL,
		clear_check,
		0,
	};

	(void)state;
	if (!bsize)
		skip();
	fault_run(&op);
}

/* ---- a pool file: list with structures, clear a header copy ------------ */

static struct pm_pool_badblock *pbbs;

static int pool_list_run(void)
{
	pbbs = (void *)1;
	nbbs = 99;
	return pm_pool_badblocks_list(pfile, &pbbs, &nbbs);
}

static void pool_list_release(int ret)
{
	if (ret) {
		assert_null(pbbs);
		assert_int_equal(nbbs, 0);
		return;
	}
	assert_int_equal(nbbs, 2);
	assert_int_equal(pbbs[0].area, PM_AREA_HEADER_B);
	assert_int_equal(pbbs[1].area, PM_AREA_DATA);
	pm_pool_badblocks_free(pbbs);
	pbbs = NULL;
}

static void test_fault_pool_badblocks_list(void **state)
{
	static const struct fault_op op = {
		"pm_pool_badblocks_list", NULL, pool_list_run,
		pool_list_release,	  NULL, 0,
	};

	(void)state;
	if (!bsize)
		skip();
	fault_run(&op);
}

static void pool_clear_before(void)
{
	/* A rewrite in place keeps the blocks FIEMAP found. */
	int fd = open(pfile, O_RDWR);
	unsigned char *buf = malloc(POOL_SIZE);
	int gd = open(pgold, O_RDONLY);

	assert_non_null(buf);
	assert_true(fd >= 0 && gd >= 0);
	assert_int_equal(pread(gd, buf, POOL_SIZE, 0), (ssize_t)POOL_SIZE);
	assert_int_equal(pwrite(fd, buf, POOL_SIZE, 0), (ssize_t)POOL_SIZE);
	close(gd);
	close(fd);
	free(buf);
}

static int pool_clear_run(void)
{
	struct pm_badblock bb = { 4096, 512 };

	return pm_badblocks_clear(pfile, &bb);
}

/* Whatever failed, the pool opens (one header copy is enough) with its
 * data intact. */
static void pool_clear_check(int done)
{
	struct pm_pool_info info;
	struct pm_pool *p;
	unsigned char *d;
	size_t size;

	assert_int_equal(pm_pool_open(pfile, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	if (done && info.header_repaired)
		fail_msg("clear returned 0 but header B was not rebuilt");
	d = pm_pool_data(p, &size);
	for (size_t i = 0; i < size; i++)
		if (d[i] != fault_pattern(i, PSEED))
			fail_msg("pool data byte %zu changed", i);
	pm_pool_close(p);
}

static void test_fault_pool_badblocks_clear(void **state)
{
	static const struct fault_op op = {
		"pm_badblocks_clear (pool header B)",
		pool_clear_before,
		pool_clear_run,
		NULL,
		pool_clear_check,
		0,
	};

	(void)state;
	if (!bsize)
		skip();
	fault_run(&op);
}

/* Out of memory, a clear fails before it changes anything: never after
 * the blocks were cleared and a header copy rebuilt. */
static void test_badblocks_clear_pool_without_memory(void **state)
{
	struct pm_badblock bb = { 4096, 512 };
	int ret;

	(void)state;
	if (!bsize)
		skip();
	for (unsigned long n = 1;; n++) {
		pool_clear_before();
		assert_int_equal(pm_fault_arm("malloc", n, PM_FAULT_STICKY), 0);
		ret = pm_badblocks_clear(pfile, &bb);
		if (ret == -ENOMEM &&
		    (pm_fault_calls("write") || pm_fault_calls("fallocate") ||
		     pm_fault_calls("fsync")))
			fail_msg("clear returned -ENOMEM after clearing "
				 "(malloc %lu failed)",
				 n);
		if (!pm_fault_hits()) {
			pm_fault_disarm();
			assert_int_equal(ret, 0);
			break;
		}
		pm_fault_disarm();
		assert_int_equal(ret, -ENOMEM);
	}
	pool_clear_check(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_badblocks_list),
		cmocka_unit_test(test_fault_badblocks_clear),
		cmocka_unit_test(test_fault_pool_badblocks_list),
		cmocka_unit_test(test_fault_pool_badblocks_clear),
		cmocka_unit_test(test_badblocks_clear_pool_without_memory),
	};

	alarm(120); /* a loop instead of an error fails the test */
	return cmocka_run_group_tests(tests, setup, teardown);
}
