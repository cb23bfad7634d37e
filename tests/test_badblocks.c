/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_badblocks.c - bad-block lists from a fake sysfs tree
 * (PM_SYSFS_ROOT) translated through the real FIEMAP of a file on the
 * test's file system, and clearing.
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
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "badblocks.h"
#include "libpm.h"
#include "fakesys.h"
#include "sysfs.h"
#include "tmpdir.h"

#define NBLK 200 /* file blocks; even ones written, odd ones holes */

static char dir[128], root[256], file[256];
static uint64_t bsize;
static struct fiemap_extent ext[NBLK];
static unsigned next;

#define DISK                                                                   \
	"/sys/devices/platform/e820_pmem/ndbus0/region0/namespace0.0"          \
	"/block/pmem0"

static dev_t file_dev(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_dev;
}

static void fiemap_file(void)
{
	size_t sz = sizeof(struct fiemap) + NBLK * sizeof(ext[0]);
	struct fiemap *fm = calloc(1, sz);
	int fd = open(file, O_RDONLY);

	assert_true(fd >= 0);
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = NBLK;
	assert_int_equal(ioctl(fd, FS_IOC_FIEMAP, fm), 0);
	next = fm->fm_mapped_extents;
	memcpy(ext, fm->fm_extents, next * sizeof(ext[0]));
	close(fd);
	free(fm);
}

/* Write the even blocks of a fresh file, leaving the odd ones holes, so
 * that the file has NBLK / 2 extents. */
static void make_file(void)
{
	char *buf = malloc(bsize);
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	for (unsigned b = 0; b < NBLK; b += 2) {
		memset(buf, 'a' + b % 26, bsize);
		assert_int_equal(pwrite(fd, buf, bsize, (off_t)(b * bsize)),
				 (ssize_t)bsize);
	}
	assert_int_equal(ftruncate(fd, (off_t)(NBLK * bsize)), 0);
	assert_int_equal(fsync(fd), 0);
	close(fd);
	free(buf);
	fiemap_file();
}

static int group_setup(void **state)
{
	struct statfs sf;

	snprintf(dir, sizeof(dir), "%s/test_badblocks.%d", test_tmpdir("/tmp"),
		 getpid());
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	fakesys_mkdirs(root, "");
	if (statfs(dir, &sf))
		return -1;
	bsize = (uint64_t)sf.f_bsize;
	make_file();
	if (next < NBLK / 2) {
		fprintf(stderr, "FIEMAP gave %u extents (no holes?)\n", next);
		return -1;
	}
	setenv("PM_SYSFS_ROOT", root, 1);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

/* A fresh fake tree: the file's device is pmem0, whose list is @bb. */
static int setup(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/sys", root);
	assert_int_equal(system(cmd), 0);
	fakesys_disk(root, DISK, file_dev(file));
	fakesys_put(root, DISK "/badblocks", "");
	return 0;
}

/* The device sector of byte @off of extent @e. */
static uint64_t sector_of(unsigned e, uint64_t off)
{
	return (ext[e].fe_physical + off) / PM_SECTOR;
}

static void set_bb(uint64_t base, unsigned e, uint64_t off, unsigned n)
{
	char line[64];

	snprintf(line, sizeof(line), "%llu %u\n",
		 (unsigned long long)(base + sector_of(e, off)), n);
	fakesys_put(root, DISK "/badblocks", line);
}

static void expect(const struct pm_badblock *want, size_t n)
{
	struct pm_badblock *bbs = NULL;
	size_t nbbs = 99;

	assert_int_equal(pm_badblocks_list(file, &bbs, &nbbs), 0);
	assert_int_equal(nbbs, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(bbs[i].offset, want[i].offset);
		assert_int_equal(bbs[i].length, want[i].length);
	}
	pm_badblocks_free(bbs);
}

static void test_pm_badblocks_list_none(void **state)
{
	expect(NULL, 0);
}

static void test_pm_badblocks_list_one_sector(void **state)
{
	struct pm_badblock want = { ext[3].fe_logical, bsize };

	set_bb(0, 3, 3 * PM_SECTOR, 1);
	expect(&want, 1);
}

/* The last sector of one extent and the first of another, listed out of
 * order, give two ranges at their own file offsets. */
static void test_pm_badblocks_list_exact_offsets(void **state)
{
	struct pm_badblock want[2] = {
		{ ext[10].fe_logical, bsize },
		{ ext[90].fe_logical, bsize },
	};
	char text[128];

	snprintf(text, sizeof(text), "%llu 1\n%llu 1\n",
		 (unsigned long long)sector_of(90, 0),
		 (unsigned long long)sector_of(10, bsize - PM_SECTOR));
	fakesys_put(root, DISK "/badblocks", text);
	expect(want, 2);
	assert_int_equal(want[0].offset, 20 * bsize);
	assert_int_equal(want[1].offset, 180 * bsize);
}

static void test_pm_badblocks_list_outside_file(void **state)
{
	/* Sector 0 holds the boot block / superblock, never file data. */
	fakesys_put(root, DISK "/badblocks", "0 1\n");
	expect(NULL, 0);
}

/* Two sectors inside one block give one block; a range spanning the
 * last sector of the file is rounded out, not in. */
static void test_pm_badblocks_list_rounding(void **state)
{
	struct pm_badblock want = { ext[0].fe_logical, bsize };
	char text[128];

	snprintf(text, sizeof(text), "%llu 1\n%llu 1\n",
		 (unsigned long long)sector_of(0, PM_SECTOR),
		 (unsigned long long)sector_of(0, bsize - PM_SECTOR));
	fakesys_put(root, DISK "/badblocks", text);
	expect(&want, 1);
}

static void test_pm_badblocks_list_partition(void **state)
{
	struct pm_badblock want = { ext[50].fe_logical, bsize };
	char text[128];
	uint64_t start = 2048;

	fakesys_disk(root, DISK "/pmem0p1", file_dev(file));
	fakesys_put(root, DISK "/pmem0p1/partition", "1\n");
	fakesys_put(root, DISK "/pmem0p1/start", "2048\n");
	fakesys_put(root, DISK "/pmem0p1/size", "999999999999\n");
	/* Sector 7 is before the partition: not the file's. */
	snprintf(text, sizeof(text), "7 1\n%llu 1\n",
		 (unsigned long long)(start + sector_of(50, 0)));
	fakesys_put(root, DISK "/badblocks", text);
	expect(&want, 1);
	/* Without the partition's start, the same sector is elsewhere. */
	set_bb(0, 50, 0, 1);
	expect(NULL, 0);
}

static void test_pm_badblocks_list_past_partition_end(void **state)
{
	fakesys_disk(root, DISK "/pmem0p1", file_dev(file));
	fakesys_put(root, DISK "/pmem0p1/partition", "1\n");
	fakesys_put(root, DISK "/pmem0p1/start", "100\n");
	fakesys_put(root, DISK "/pmem0p1/size", "1\n");
	set_bb(100, 50, 0, 1);
	expect(NULL, 0);
}

static void test_pm_badblocks_list_unsupported(void **state)
{
	struct pm_badblock *bbs = (void *)1;
	size_t n = 5;
	char p[PATH_MAX];

	/* A disk without a badblocks attribute cannot tell. */
	snprintf(p, sizeof(p), "%s%s/badblocks", root, DISK);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(pm_badblocks_list(file, &bbs, &n), -ENOTSUP);
	assert_null(bbs);
	assert_int_equal(n, 0);
	/* Nor a device sysfs does not know. */
	snprintf(p, sizeof(p), "%s/sys/dev/block/%u:%u", root,
		 major(file_dev(file)), minor(file_dev(file)));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(pm_badblocks_list(file, &bbs, &n), -ENOTSUP);
}

/* tmpfs has no FIEMAP: a device list cannot be mapped to the file. */
static void test_pm_badblocks_list_no_fiemap(void **state)
{
	struct pm_badblock *bbs;
	char shm[64];
	size_t n;
	int fd;

	snprintf(shm, sizeof(shm), "/dev/shm/test_badblocks.%d", getpid());
	fd = open(shm, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		skip();
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	fakesys_disk(root, DISK, file_dev(shm));
	fakesys_put(root, DISK "/badblocks", "8 8\n");
	assert_int_equal(pm_badblocks_list(shm, &bbs, &n), -ENOTSUP);
	/* An empty list needs no FIEMAP. */
	fakesys_put(root, DISK "/badblocks", "");
	assert_int_equal(pm_badblocks_list(shm, &bbs, &n), 0);
	assert_int_equal(n, 0);
	pm_badblocks_free(bbs);
	unlink(shm);
}

static void test_pm_badblocks_list_malformed(void **state)
{
	struct pm_badblock *bbs;
	size_t n;

	fakesys_put(root, DISK "/badblocks", "8 8\nbogus\n");
	assert_int_equal(pm_badblocks_list(file, &bbs, &n), -EBADMSG);
	fakesys_put(root, DISK "/badblocks", "8 0\n");
	assert_int_equal(pm_badblocks_list(file, &bbs, &n), -EBADMSG);
	assert_int_equal(pm_badblocks_list(NULL, &bbs, &n), -EINVAL);
}

static void test_pm_bb_parse_clip(void **state)
{
	struct pm_bb_list l = { 0 };

	/* base 100, 50 sectors: [90, 110) -> [100, 110); [140, 160) ->
	 * [140, 150); [200, 210) dropped; a huge count does not wrap. */
	assert_int_equal(pm_bb_parse("90 20\n140 20\n200 10\n"
				     "120 18446744073709551615\n",
				     100, 50, &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].offset, 0);
	assert_int_equal(l.v[0].length, 10 * PM_SECTOR);
	assert_int_equal(l.v[1].offset, 40 * PM_SECTOR);
	assert_int_equal(l.v[1].length, 10 * PM_SECTOR);
	assert_int_equal(l.v[2].offset, 20 * PM_SECTOR);
	assert_int_equal(l.v[2].length, 30 * PM_SECTOR);
	pm_bb_merge(&l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].offset, 0);
	assert_int_equal(l.v[0].length, 10 * PM_SECTOR);
	assert_int_equal(l.v[1].offset, 20 * PM_SECTOR);
	assert_int_equal(l.v[1].length, 30 * PM_SECTOR);
	pm_bb_list_free(&l);
}

static void test_pm_sysfs_region_path(void **state)
{
	unsigned id = 99;
	size_t len = 0;

	assert_int_equal(pm_sysfs_region(DISK, &id, NULL), 0);
	assert_int_equal(id, 0);
	assert_int_equal(pm_sysfs_region("/sys/devices/x/region12/dax12.1/"
					 "dax12.0",
					 &id, &len),
			 0);
	assert_int_equal(id, 12);
	assert_int_equal(len, strlen("/sys/devices/x/region12"));
	assert_int_equal(pm_sysfs_region("/sys/devices/regionx/pmem0", &id,
					 &len),
			 -ENOENT);
	assert_int_equal(pm_sysfs_region("/sys/devices/region3x/pmem0", &id,
					 &len),
			 -ENOENT);
}

static void read_file(uint64_t off, size_t len, char *buf)
{
	int fd = open(file, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void test_pm_badblocks_clear_zeroes_blocks(void **state)
{
	struct pm_badblock bb = { 4 * bsize + 100, 10 };
	char *buf = malloc(3 * bsize), *zero = calloc(1, bsize);
	struct pm_badblock *bbs;
	struct stat st;
	size_t n;

	set_bb(0, 2, 200, 1); /* the block at file offset 4 * bsize */
	assert_int_equal(pm_badblocks_list(file, &bbs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bbs[0].offset, 4 * bsize);
	pm_badblocks_free(bbs);

	assert_int_equal(pm_badblocks_clear(file, &bb), 0);
	read_file(2 * bsize, 3 * bsize, buf);
	assert_int_equal(buf[0], 'a' + 2);
	assert_memory_equal(buf + bsize, zero, bsize);
	assert_memory_equal(buf + 2 * bsize, zero, bsize); /* a hole */
	read_file(6 * bsize, bsize, buf);
	assert_int_equal(buf[bsize - 1], 'a' + 6);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_size, NBLK * bsize);
	free(buf);
	free(zero);
	make_file();
}

static void test_pm_badblocks_clear_busy(void **state)
{
	struct pm_badblock bb = { 0, bsize };
	int fd = open(file, O_RDONLY);

	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(pm_badblocks_clear(file, &bb), -EBUSY);
	close(fd);
	bb.offset = NBLK * bsize;
	assert_int_equal(pm_badblocks_clear(file, &bb), -EINVAL);
	bb.offset = 0;
	bb.length = 0;
	assert_int_equal(pm_badblocks_clear(file, &bb), -EINVAL);
}

/* A FIFO without a writer would block a plain open for reading (the
 * alarm fails that): refused at once, as a socket or directory is. */
static void test_pm_badblocks_list_not_regular(void **state)
{
	struct pm_badblock bb = { 0, 4096 }, *bbs;
	char fifo[300];
	size_t n;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	alarm(10);
	assert_int_equal(pm_badblocks_list(fifo, &bbs, &n), -EINVAL);
	assert_int_equal(pm_badblocks_clear(fifo, &bb), -EINVAL);
	assert_int_equal(pm_badblocks_list(dir, &bbs, &n), -EINVAL);
	alarm(0);
	unlink(fifo);
}

#define REGION "/sys/devices/platform/e820_pmem/ndbus0/region0"

/* A device carved out of a region (device-dax) at byte 1 MiB, 2 MiB long:
 * the region's list (sectors from the region's start) clipped to it and
 * shifted to its offsets. */
static void test_pm_bb_region_devdax_offsets(void **state)
{
	struct pm_bb_list l = { 0 };

	(void)state;
	fakesys_put(root, REGION "/badblocks",
		    "8 8\n"	  /* before the device: dropped */
		    "2040 16\n"	  /* 8 sectors before, 8 inside */
		    "2100 1\n"	  /* inside */
		    "6136 16\n"	  /* 8 inside, 8 past the end */
		    "10000 8\n"); /* past the end: dropped */
	assert_int_equal(pm_bb_region(REGION, 1 << 20, 2 << 20, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].offset, 0);
	assert_int_equal(l.v[0].length, 8 * 512);
	assert_int_equal(l.v[1].offset, (2100 - 2048) * 512);
	assert_int_equal(l.v[1].length, 512);
	assert_int_equal(l.v[2].offset, (6136 - 2048) * 512);
	assert_int_equal(l.v[2].length, 8 * 512);
	pm_bb_list_free(&l);
	assert_int_equal(pm_bb_region(REGION, 1 << 20, 1000, &l), -EINVAL);
	assert_int_equal(pm_bb_region(REGION "x", 0, 4096, &l), -ENOTSUP);
	pm_bb_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_pm_badblocks_list_none, setup),
		cmocka_unit_test_setup(test_pm_badblocks_list_one_sector,
				       setup),
		cmocka_unit_test_setup(test_pm_badblocks_list_exact_offsets,
				       setup),
		cmocka_unit_test_setup(test_pm_badblocks_list_outside_file,
				       setup),
		cmocka_unit_test_setup(test_pm_badblocks_list_rounding, setup),
		cmocka_unit_test_setup(test_pm_badblocks_list_partition, setup),
		cmocka_unit_test_setup(
			test_pm_badblocks_list_past_partition_end, setup),
		cmocka_unit_test_setup(test_pm_badblocks_list_unsupported,
				       setup),
		cmocka_unit_test_setup(test_pm_badblocks_list_no_fiemap, setup),
		cmocka_unit_test_setup(test_pm_badblocks_list_malformed, setup),
		cmocka_unit_test(test_pm_badblocks_list_not_regular),
		cmocka_unit_test(test_pm_bb_parse_clip),
		cmocka_unit_test_setup(test_pm_bb_region_devdax_offsets, setup),
		cmocka_unit_test(test_pm_sysfs_region_path),
		cmocka_unit_test_setup(test_pm_badblocks_clear_zeroes_blocks,
				       setup),
		cmocka_unit_test_setup(test_pm_badblocks_clear_busy, setup),
	};

	if (!getenv("PM_LOG"))
		pm_set_log_level(0); /* the error cases are expected */
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
