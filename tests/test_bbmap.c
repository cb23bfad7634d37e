/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_bbmap.c - bad blocks of a real pool file (on the test's file
 * system, through its real FIEMAP) named by a fake sysfs tree: which
 * structure they hit, the open policy, and what a clear rebuilds.
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakesys.h"
#include "layout.h"
#include "libpm.h"
#include "pool.h"
#include "testhook.h"

#define POOL_SIZE (4UL << 20)
#define DISK "/sys/devices/ndbus0/region0/namespace0.0/block/pmem0"

static char dir[128], root[256], path[256], logbuf[2048];
static struct pm_pool_info geo;

static void on_log(int level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(logbuf + strlen(logbuf), sizeof(logbuf) - strlen(logbuf),
		 "%s\n", msg);
}

static void sh(const char *cmd, const char *a, const char *b)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s %s %s", cmd, a, b);
	assert_int_equal(system(buf), 0);
}

/* The device sector holding byte @off of the pool file. */
static uint64_t sector_at(uint64_t off)
{
	size_t sz = sizeof(struct fiemap) + 64 * sizeof(struct fiemap_extent);
	struct fiemap *fm = calloc(1, sz);
	int fd = open(path, O_RDONLY);
	uint64_t s = UINT64_MAX;

	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 64;
	assert_int_equal(ioctl(fd, FS_IOC_FIEMAP, fm), 0);
	for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
		struct fiemap_extent *e = &fm->fm_extents[i];

		if (off >= e->fe_logical && off < e->fe_logical + e->fe_length)
			s = (e->fe_physical + off - e->fe_logical) / 512;
	}
	close(fd);
	free(fm);
	assert_true(s != UINT64_MAX);
	return s;
}

/* Mark the sectors holding file offsets @offs (ended by UINT64_MAX). */
static void bad_at(const uint64_t *offs)
{
	char p[512], line[64];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s/badblocks", root, DISK);
	f = fopen(p, "w");
	assert_non_null(f);
	for (; *offs != UINT64_MAX; offs++) {
		snprintf(line, sizeof(line), "%llu 1\n",
			 (unsigned long long)sector_at(*offs));
		fputs(line, f);
	}
	fclose(f);
}

static int group_setup(void **state)
{
	struct pm_pool *p;
	struct stat st;

	snprintf(dir, sizeof(dir), "/tmp/test_bbmap.%d", getpid());
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(path, sizeof(path), "%s/pool", dir);
	fakesys_mkdirs(root, "");
	if (stat(dir, &st))
		return -1;
	fakesys_disk(root, DISK, st.st_dev);
	setenv("PM_SYSFS_ROOT", root, 1);
	if (pm_pool_create(path, POOL_SIZE, NULL, &p))
		return -1;
	pm_pool_info(p, &geo);
	pm_pool_close(p);
	pm_set_log_fn(on_log, NULL);
	pm_set_log_level(PM_LOG_WARN);
	return 0;
}

static int group_teardown(void **state)
{
	sh("rm -rf", dir, "");
	return 0;
}

static int setup(void **state)
{
	static const uint64_t none[] = { UINT64_MAX };

	bad_at(none);
	logbuf[0] = '\0';
	return 0;
}

static void test_pm_pool_open_data_warns(void **state)
{
	const uint64_t at[] = { geo.data_offset + 3 * 4096 + 512, UINT64_MAX };
	struct pm_pool_info info;
	struct pm_pool *p;

	bad_at(at);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.badblocks_status, 0);
	assert_int_equal(info.nbadblocks, 1);
	assert_int_equal(info.badblocks[0].area, PM_AREA_DATA);
	assert_int_equal(info.badblocks[0].offset, geo.data_offset + 3 * 4096);
	assert_int_equal(info.badblocks[0].length, 4096);
	pm_pool_close(p);
	assert_non_null(strstr(logbuf, "bad blocks in user data"));
}

static void test_pm_pool_open_one_header_stands_in(void **state)
{
	const uint64_t at[] = { 100, UINT64_MAX };
	struct pm_pool_info info;
	struct pm_pool *p;

	char before[2 * PM_HDR_SIZE], after[2 * PM_HDR_SIZE];
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, before, sizeof(before), 0), sizeof(before));
	bad_at(at);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.nbadblocks, 1);
	assert_int_equal(info.badblocks[0].area, PM_AREA_HEADER_A);
	/* A store to the bad copy would fault: no header write at all. */
	assert_int_equal(pm_pool_hdr_write(p), PM_E_BADBLOCKS);
	pm_pool_close(p);
	assert_int_equal(pread(fd, after, sizeof(after), 0), sizeof(after));
	close(fd);
	assert_memory_equal(before, after, sizeof(before));
	assert_non_null(strstr(logbuf, "header B stands in"));
	assert_non_null(strstr(logbuf, "header A is on a bad block: the "
				       "header is not rewritten"));
}

static void test_pm_pool_open_metadata_refused(void **state)
{
	const uint64_t both[] = { 0, PM_HDR_B_OFF + 600, UINT64_MAX };
	const uint64_t lane[] = { geo.lanes_offset + geo.lane_size + 64,
				  UINT64_MAX };
	struct pm_pool_info info;
	struct pm_pool *p;

	bad_at(both);
	assert_int_equal(pm_pool_open(path, 0, &p), PM_E_BADBLOCKS);
	assert_non_null(strstr(logbuf, "header A [0, +0x1000), header B "
				       "[0x1000, +0x1000)"));
	assert_int_equal(pm_pool_open(path, PM_POOL_IGNORE_BADBLOCKS, &p), 0);
	pm_pool_close(p);

	bad_at(lane);
	logbuf[0] = '\0';
	assert_int_equal(pm_pool_open(path, 0, &p), PM_E_BADBLOCKS);
	assert_non_null(strstr(logbuf, "lanes 1 ["));
	assert_int_equal(pm_pool_open(path, PM_POOL_IGNORE_BADBLOCKS, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.badblocks[0].area, PM_AREA_LANES);
	assert_int_equal(info.badblocks[0].lane, 1);
	pm_pool_close(p);
}

/* A committed transaction not yet applied whose home is on a bad block:
 * replaying it would store there, so open refuses until it is cleared,
 * then replays it. */
static void test_pm_pool_open_replay_onto_bad_block(void **state)
{
	const uint64_t at[] = { geo.data_offset + 5 * 4096, UINT64_MAX };
	const uint64_t v = 0x1122334455667788ULL;
	struct pm_pool_info info;
	struct pm_pool *p;
	struct pm_tx *tx;
	char img[300];
	uint64_t got;
	int fd;

	snprintf(img, sizeof(img), "%s.crash", path);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	pm_tx_test_skip_apply = 1;
	assert_int_equal(pm_tx_begin(p, 0, &tx), 0);
	assert_int_equal(pm_tx_write(tx,
				     (char *)pm_pool_data(p, NULL) + 5 * 4096 +
					     8,
				     &v, sizeof(v)),
			 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	pm_tx_test_skip_apply = 0;
	sh("cp", path, img); /* the image a crash right here leaves */
	pm_pool_close(p);
	sh("cp", img, path);
	unlink(img);

	bad_at(at);
	assert_int_equal(pm_pool_open(path, 0, &p), PM_E_BADBLOCKS);
	assert_non_null(strstr(logbuf, "writes to user data on a bad block"));
	/* the code's text fits: this is user data, not metadata */
	assert_string_equal(pm_strerror(PM_E_BADBLOCKS),
			    "bad blocks where the pool must be read or written");
	/* the flag is about metadata: a replay onto a bad block is refused */
	assert_int_equal(pm_pool_open(path, PM_POOL_IGNORE_BADBLOCKS, &p),
			 PM_E_BADBLOCKS);
	bad_at((const uint64_t[]){ UINT64_MAX });
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.tx_replayed, 1);
	pm_pool_close(p);
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, &got, sizeof(got),
			       (off_t)(geo.data_offset + 5 * 4096 + 8)),
			 sizeof(got));
	close(fd);
	assert_true(got == v);
}

static void test_pm_pool_open_unsupported_device(void **state)
{
	struct pm_pool_info info;
	struct pm_pool *p;
	char bb[512];

	snprintf(bb, sizeof(bb), "%s%s/badblocks", root, DISK);
	unlink(bb);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.badblocks_status, -ENOTSUP);
	assert_int_equal(info.nbadblocks, 0);
	pm_pool_close(p);
}

/* A range over the end of header B and lane 0 is split at the border. */
static void test_pm_pool_badblocks_list_split(void **state)
{
	char p[512], text[64];
	struct pm_pool_badblock *bbs;
	size_t n;
	FILE *f;

	snprintf(p, sizeof(p), "%s%s/badblocks", root, DISK);
	f = fopen(p, "w");
	snprintf(text, sizeof(text), "%llu 16\n",
		 (unsigned long long)sector_at(PM_HDR_B_OFF));
	fputs(text, f);
	fclose(f);
	/* Only if header B and lane 0 are contiguous on the device. */
	if (sector_at(PM_LANES_OFF) != sector_at(PM_HDR_B_OFF) + 8)
		skip();
	assert_int_equal(pm_pool_badblocks_list(path, &bbs, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bbs[0].area, PM_AREA_HEADER_B);
	assert_int_equal(bbs[0].offset, PM_HDR_B_OFF);
	assert_int_equal(bbs[1].area, PM_AREA_LANES);
	assert_int_equal(bbs[1].lane, 0);
	assert_int_equal(bbs[1].offset, PM_LANES_OFF);
	assert_int_equal(bbs[1].length, 4096);
	pm_pool_badblocks_free(bbs);
	assert_int_equal(pm_pool_badblocks_list(dir, &bbs, &n), -EINVAL);
}

static void test_pm_badblocks_clear_rebuilds_header(void **state)
{
	struct pm_badblock bb = { 10, 20 };
	struct pm_pool *p;
	struct pm_hdr a, b;
	int fd = open(path, O_RDWR);

	/* Header A damaged: the clear rebuilds it from B. */
	assert_int_equal(pwrite(fd, "junk", 4, 0), 4);
	assert_int_equal(pm_badblocks_clear(path, &bb), 0);
	assert_int_equal(pread(fd, &a, sizeof(a), PM_HDR_A_OFF), sizeof(a));
	assert_int_equal(pread(fd, &b, sizeof(b), PM_HDR_B_OFF), sizeof(b));
	assert_memory_equal(&a, &b, sizeof(a));
	assert_non_null(strstr(logbuf, "header A rebuilt from header B"));
	/* A lane's contents are lost, and said so. */
	bb.offset = geo.lanes_offset + 2 * geo.lane_size;
	logbuf[0] = '\0';
	assert_int_equal(pm_badblocks_clear(path, &bb), 0);
	assert_non_null(strstr(logbuf, "lost (now zero): lanes 2"));
	/* ...and with it the lane's record of what is applied: open
	 * refuses until the lane's transactions are dropped on purpose. */
	assert_non_null(strstr(logbuf, "lane 2's header is lost"));
	assert_int_equal(pm_pool_open(path, 0, &p), PM_E_CORRUPT);
	assert_int_equal(pm_pool_check(path, PM_CHECK_DISCARD_DAMAGED, NULL,
				       NULL),
			 -EINVAL);
	assert_int_equal(pm_pool_check(path,
				       PM_CHECK_REPAIR |
					       PM_CHECK_DISCARD_DAMAGED,
				       NULL, NULL),
			 0);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	pm_pool_close(p);
	close(fd);
}

static void test_pm_badblocks_clear_both_headers_lost(void **state)
{
	struct pm_badblock bb = { 0, 2 * 4096 };
	char p2[300];
	struct pm_pool *p;

	snprintf(p2, sizeof(p2), "%s.copy", path);
	sh("cp", path, p2);
	assert_int_equal(pm_badblocks_clear(p2, &bb), PM_E_CORRUPT);
	assert_int_equal(pm_pool_open(p2, 0, &p), PM_E_NOT_POOL);
	unlink(p2);
}

/* Both header copies on bad blocks (they read as zeros here; a real
 * device fails the read): still a pool, whose headers are lost. */
static void test_pm_pool_badblocks_list_headers_lost(void **state)
{
	const uint64_t at[] = { 100, PM_HDR_B_OFF + 100, UINT64_MAX };
	static char saved[2 * PM_HDR_SIZE], zero[2 * PM_HDR_SIZE];
	struct pm_badblock bb = { PM_HDR_A_OFF, PM_HDR_SIZE };
	struct pm_pool_badblock *bbs;
	struct pm_pool *p;
	size_t n;
	int fd = open(path, O_RDWR);

	assert_int_equal(pread(fd, saved, sizeof(saved), 0), sizeof(saved));
	assert_int_equal(pwrite(fd, zero, sizeof(zero), 0), sizeof(zero));
	bad_at(at);
	assert_int_equal(pm_pool_badblocks_list(path, &bbs, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bbs[0].area, PM_AREA_HEADER_A);
	assert_int_equal(bbs[1].area, PM_AREA_HEADER_B);
	assert_int_equal(bbs[1].offset, PM_HDR_B_OFF);
	pm_pool_badblocks_free(bbs);
	assert_non_null(strstr(logbuf, "both pool header copies are on bad "
				       "blocks: the pool cannot be opened"));
	/* clearing one says the pool is lost, not "cleared" */
	assert_int_equal(pm_badblocks_clear(path, &bb), PM_E_CORRUPT);
	assert_non_null(strstr(logbuf, "the pool's headers are lost"));
	assert_non_null(strstr(logbuf, "no longer a libpm pool"));
	assert_int_equal(pm_pool_open(path, 0, &p), PM_E_NOT_POOL);
	/* one unreadable copy and one that reads without the magic: not a
	 * pool (the list alone does not make one) */
	bad_at(at + 1);
	assert_int_equal(pm_pool_badblocks_list(path, &bbs, &n), PM_E_NOT_POOL);
	assert_int_equal(pwrite(fd, saved, sizeof(saved), 0), sizeof(saved));
	close(fd);
}

/* A FIFO would block a plain open for reading (the alarm fails that). */
static void test_pm_pool_badblocks_list_fifo(void **state)
{
	struct pm_pool_badblock *bbs;
	char fifo[300];
	size_t n;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	alarm(10);
	assert_int_equal(pm_pool_badblocks_list(fifo, &bbs, &n), -EINVAL);
	alarm(0);
	assert_non_null(strstr(logbuf, "a FIFO, not a regular file"));
	unlink(fifo);
}

/* One name per area, the same everywhere; a value outside the enum gets a
 * fixed string, never a read past the table. */
static void test_pm_area_name(void **state)
{
	(void)state;
	assert_string_equal(pm_area_name(PM_AREA_HEADER_A), "header A");
	assert_string_equal(pm_area_name(PM_AREA_HEADER_B), "header B");
	assert_string_equal(pm_area_name(PM_AREA_LANES), "lanes");
	assert_string_equal(pm_area_name(PM_AREA_LOG), "log");
	assert_string_equal(pm_area_name(PM_AREA_DATA), "data");
	assert_string_equal(pm_area_name(PM_AREA_NONE), "none");
	assert_string_equal(pm_area_name((enum pm_area)(PM_AREA_NONE + 1)),
			    "unknown");
	assert_string_equal(pm_area_name((enum pm_area) - 1), "unknown");
}

/* A heap pool in place of the test pool: the heap's header and page
 * headers on a bad block refuse open; a run's bitmap on one takes the
 * run out of use (a free there says so) and pmck calls it damage.  The
 * test pool is made again afterwards. */
static void test_heap_metadata_on_bad_block(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .flags = PM_POOL_HEAP };
	const uint64_t none[] = { UINT64_MAX };
	uint64_t at[2] = { 0, UINT64_MAX }, obj;
	struct pm_pool *p;
	struct pm_tx *tx;

	(void)state;
	unlink(path);
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &p), 0);
	assert_int_equal(pm_tx_begin(p, PM_TX_HEAP_RESERVE, &tx), 0);
	assert_int_equal(pm_tx_alloc(tx, 64, 0, &obj), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	pm_pool_close(p);
	at[0] = geo.data_offset + 100; /* the heap header */
	bad_at(at);
	assert_int_equal(pm_pool_open(path, 0, &p), PM_E_BADBLOCKS);
	at[0] = geo.data_offset + PM_HEAP_PAGE + 8; /* page headers */
	bad_at(at);
	assert_int_equal(pm_pool_open(path, 0, &p), PM_E_BADBLOCKS);
	at[0] = obj / PM_HEAP_PAGE * PM_HEAP_PAGE + 8; /* the run's bitmap */
	bad_at(at);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_usable_size(p, obj), 0);
	assert_int_equal(pm_tx_begin(p, PM_TX_HEAP_RESERVE, &tx), 0);
	assert_int_equal(pm_tx_free(tx, obj), PM_E_BADBLOCKS);
	pm_tx_abort(tx);
	pm_pool_close(p);
	assert_int_equal(pm_pool_check(path, 0, NULL, NULL), PM_E_CORRUPT);
	bad_at(none);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_usable_size(p, obj), 64);
	pm_pool_close(p);
	unlink(path);
	assert_int_equal(pm_pool_create(path, POOL_SIZE, NULL, &p), 0);
	pm_pool_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pm_area_name),
		cmocka_unit_test_setup(test_pm_pool_open_data_warns, setup),
		cmocka_unit_test_setup(test_pm_pool_open_one_header_stands_in,
				       setup),
		cmocka_unit_test_setup(test_pm_pool_open_metadata_refused,
				       setup),
		cmocka_unit_test_setup(test_pm_pool_open_replay_onto_bad_block,
				       setup),
		cmocka_unit_test_setup(test_pm_pool_open_unsupported_device,
				       setup),
		cmocka_unit_test_setup(test_pm_pool_badblocks_list_split,
				       setup),
		cmocka_unit_test_setup(test_pm_pool_badblocks_list_fifo, setup),
		cmocka_unit_test_setup(test_pm_pool_badblocks_list_headers_lost,
				       setup),
		cmocka_unit_test_setup(test_pm_badblocks_clear_rebuilds_header,
				       setup),
		cmocka_unit_test_setup(
			test_pm_badblocks_clear_both_headers_lost, setup),
		cmocka_unit_test_setup(test_heap_metadata_on_bad_block, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
