/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fault_bb.c - bad-block listing and clearing under every single
 * resource failure (the loop is in fault_driver.c).  The device list comes
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

#include "fault_driver.h"
#include "libpm.h"

#define NBLK 16
#define SEED 11
#define DISK                                                                  \
	"/sys/devices/platform/e820_pmem/ndbus0/region0/namespace0.0"         \
	"/block/pmem0"

static char dir[128], root[256], file[300];
static uint64_t bsize;
static struct pm_badblock want[2]; /* what the list must say */
static struct pm_badblock *bbs;
static size_t nbbs;

static void xmkdirs(const char *path)
{
	char p[PATH_MAX], *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

/* Device byte offset of file offset @off (the file is fully allocated). */
static int dev_offset(uint64_t off, uint64_t *dev)
{
	size_t sz = sizeof(struct fiemap) + sizeof(struct fiemap_extent);
	struct fiemap *fm = calloc(1, sz);
	int fd = open(file, O_RDONLY), ret = -1;

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

/* Blocks 3 and 9 of the file are bad (one sector of each). */
static int write_tree(void)
{
	char p[PATH_MAX + 64], to[PATH_MAX];
	struct stat st;
	uint64_t d3, d9;
	FILE *f;

	if (dev_offset(3 * bsize + 512, &d3) || dev_offset(9 * bsize, &d9))
		return -1;
	snprintf(p, sizeof(p), "%s%s", root, DISK);
	xmkdirs(p);
	snprintf(p, sizeof(p), "%s/sys/dev/block", root);
	xmkdirs(p);
	assert_int_equal(stat(file, &st), 0);
	snprintf(p, sizeof(p), "%s/sys/dev/block/%u:%u", root,
		 major(st.st_dev), minor(st.st_dev));
	snprintf(to, sizeof(to), "../../..%s", DISK);
	unlink(p);
	assert_int_equal(symlink(to, p), 0);
	snprintf(p, sizeof(p), "%s%s/badblocks", root, DISK);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%llu 1\n%llu 1\n", (unsigned long long)(d9 / 512),
		(unsigned long long)(d3 / 512));
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
	xmkdirs(root);
	if (statfs(dir, &sf))
		return -1;
	bsize = (uint64_t)sf.f_bsize;
	fault_write_file(file, NBLK * bsize, SEED);
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
		"pm_badblocks_clear", clear_before, clear_run, NULL,
		clear_check, 0,
	};

	(void)state;
	if (!bsize)
		skip();
	fault_run(&op);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_badblocks_list),
		cmocka_unit_test(test_fault_badblocks_clear),
	};

	alarm(120); /* a loop instead of an error fails the test */
	return cmocka_run_group_tests(tests, setup, teardown);
}
