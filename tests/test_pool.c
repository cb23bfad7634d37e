/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool.c - pool create/open/close, header copies and their checks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "crc.h"
#include "fakesys.h"
#include "layout.h"
#include "libpm.h"
#include "tmpdir.h"

#define POOL_SIZE (8UL << 20)

static char path[256];

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "%s/test_pool.%d", test_tmpdir("/dev/shm"),
		 getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	pm_set_log_level(0); /* the tests provoke errors on purpose */
	return 0;
}

static int each(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void make_pool(const char *layout)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .layout = layout };
	struct pm_pool *p;

	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &p), 0);
	pm_pool_close(p);
}

static void hdr_read(uint64_t off, struct pm_hdr *h)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, h, sizeof(*h), (off_t)off), sizeof(*h));
	close(fd);
}

static void hdr_write(uint64_t off, const struct pm_hdr *h, int reseal)
{
	struct pm_hdr c = *h;
	int fd = open(path, O_WRONLY);

	if (reseal)
		c.crc = pm_crc32c(&c, offsetof(struct pm_hdr, crc));
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &c, sizeof(c), (off_t)off), sizeof(c));
	close(fd);
}

/* Apply the same change to both copies, resealed or not. */
static void hdr_both(void (*fn)(struct pm_hdr *), int reseal)
{
	struct pm_hdr h;

	hdr_read(PM_HDR_A_OFF, &h);
	fn(&h);
	hdr_write(PM_HDR_A_OFF, &h, reseal);
	hdr_write(PM_HDR_B_OFF, &h, reseal);
}

static int open_err(void)
{
	struct pm_pool *p = NULL;
	int ret = pm_pool_open(path, 0, &p);

	if (ret == 0)
		pm_pool_close(p);
	return ret;
}

static void test_pool_create_round_trip(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .layout = "bank" };
	struct pm_pool_info i1, i2;
	struct pm_pool *p;
	size_t dsz;
	char *d;

	(void)state;
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &p), 0);
	assert_int_equal(pm_pool_info(p, &i1), 0);
	d = pm_pool_data(p, &dsz);
	assert_non_null(d);
	assert_int_equal(dsz, i1.data_size);
	assert_int_equal(i1.pool_size, POOL_SIZE);
	assert_int_equal(i1.data_offset + i1.data_size, POOL_SIZE);
	assert_int_equal(i1.data_offset % 4096, 0);
	assert_true(i1.nlanes >= 4);
	assert_true(i1.lanes_offset + i1.nlanes * i1.lane_size <=
		    i1.data_offset);
	assert_string_equal(i1.layout, "bank");
	assert_int_equal(i1.header_repaired, 0);
	assert_int_equal(i1.shutdown, PM_SHUTDOWN_UNSUPPORTED);
	assert_int_equal(i1.badblocks_status, -ENOTSUP);
	memset(d, 0x5a, 4096);
	assert_int_equal(pm_persist(pm_pool_map(p), d, 4096), 0);
	pm_pool_close(p);

	assert_int_equal(pm_pool_open_layout(path, "bank", 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &i2), 0);
	assert_memory_equal(i1.uuid, i2.uuid, 16);
	assert_int_equal(i2.data_size, i1.data_size);
	assert_int_equal(i2.nlanes, i1.nlanes);
	assert_int_equal(i2.create_time, i1.create_time);
	assert_int_equal(i2.header_repaired, 0);
	d = pm_pool_data(p, NULL);
	assert_int_equal(d[0], 0x5a);
	assert_int_equal(d[4095], 0x5a);
	pm_pool_close(p);
}

static void test_pool_create_exists(void **state)
{
	struct pm_pool *p;

	(void)state;
	make_pool(NULL);
	assert_int_equal(pm_pool_create(path, POOL_SIZE, NULL, &p), -EEXIST);
	assert_int_equal(open_err(), 0); /* the old pool is untouched */
}

static void test_pool_create_bad_opts(void **state)
{
	struct {
		struct pm_pool_opts o;
		uint64_t future;
	} big = { .o = { .sz = sizeof(big) } };
	struct pm_pool_opts o = { .sz = sizeof(o) };
	char longname[PM_LAYOUT_MAX + 1];
	struct pm_pool *p;

	(void)state;
	o.sz = 4;
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &p), -EINVAL);
	o.sz = sizeof(o);
	o.flags = 1U << 20;
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &p), -EINVAL);
	o.flags = 0;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	o.layout = longname;
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &p), -EINVAL);
	o.layout = NULL;
	o.lane_size = 1000; /* not a multiple of 64 */
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &p), -EINVAL);
	o.lane_size = 0;
	o.nlanes = PM_LANES_MAX + 1;
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &p), -EINVAL);
	o.nlanes = 0;
	assert_int_equal(pm_pool_create(path, 64 << 10, &o, &p), -EINVAL);
	big.future = 1; /* a field this version does not know */
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &big.o, &p), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	big.future = 0; /* zero bytes past the known fields are fine */
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &big.o, &p), 0);
	pm_pool_close(p);
}

static void test_pool_create_geometry(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 3,
				  .lane_size = 8192 };
	struct pm_pool_info info;
	struct pm_pool *p;

	(void)state;
	assert_int_equal(pm_pool_create(path, 1 << 20, &o, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.nlanes, 3);
	assert_int_equal(info.lane_size, 8192);
	assert_int_equal(info.data_offset, PM_LANES_OFF + 3 * 8192);
	pm_pool_close(p);
}

/* The default lanes, as pm_pool_create(3) documents them: size/8192 from
 * 32 KiB to 4 MiB, as many as fit in 1/32 of the pool, 4 to 64. */
static void test_pool_create_default_geometry(void **state)
{
	static const struct {
		uint64_t size;
		unsigned nlanes;
		uint64_t lane_size;
	} g[] = {
		/* clang-format off */
		{ 1ULL << 20, 4, 32 << 10 },
		{ 8ULL << 20, 8, 32 << 10 },
		{ 64ULL << 20, 64, 32 << 10 },
		{ 256ULL << 20, 64, 32 << 10 },
		{ 1ULL << 30, 64, 128 << 10 },
		/* clang-format on */
	};
	struct pm_pool_info info;
	struct pm_pool *p;

	(void)state;
	for (unsigned i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		struct statvfs vfs;
		uint64_t avail;

		unlink(path);
		/* A small DAX file system cannot hold the biggest pools: the
		 * geometry does not depend on the file system, skip them. */
		assert_int_equal(statvfs(test_tmpdir("/dev/shm"), &vfs), 0);
		avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		if (avail < g[i].size + (16ULL << 20)) {
			printf("    %llu MiB: skipped, %llu MiB free\n",
			       (unsigned long long)(g[i].size >> 20),
			       (unsigned long long)(avail >> 20));
			continue;
		}
		assert_int_equal(pm_pool_create(path, g[i].size, NULL, &p), 0);
		assert_int_equal(pm_pool_info(p, &info), 0);
		assert_int_equal(info.nlanes, g[i].nlanes);
		assert_int_equal(info.lane_size, g[i].lane_size);
		assert_true(g[i].size < (16ULL << 20) ||
			    info.nlanes * info.lane_size <= g[i].size / 32);
		pm_pool_close(p);
	}
	unlink(path);
}

static void damage_a(void)
{
	struct pm_hdr h;

	hdr_read(PM_HDR_A_OFF, &h);
	h.pool_size ^= 1; /* checksum no longer matches */
	hdr_write(PM_HDR_A_OFF, &h, 0);
}

static void check_repaired(void)
{
	struct pm_hdr a, b;
	struct pm_pool_info info;
	struct pm_pool *p;

	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.header_repaired, 1);
	assert_int_equal(info.pool_size, POOL_SIZE);
	pm_pool_close(p);
	hdr_read(PM_HDR_A_OFF, &a);
	hdr_read(PM_HDR_B_OFF, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.header_repaired, 0);
	pm_pool_close(p);
}

static void test_pool_open_repairs_copy_a(void **state)
{
	(void)state;
	make_pool(NULL);
	damage_a();
	check_repaired();
}

static void test_pool_open_repairs_copy_b(void **state)
{
	struct pm_hdr h;

	(void)state;
	make_pool(NULL);
	memset(&h, 0, sizeof(h)); /* B torn away entirely */
	hdr_write(PM_HDR_B_OFF, &h, 0);
	check_repaired();
}

static void test_pool_open_newer_copy_wins(void **state)
{
	struct pm_hdr h;

	(void)state;
	make_pool("old");
	/* An update that reached B but not A: B has the higher gen. */
	hdr_read(PM_HDR_B_OFF, &h);
	h.gen += 1;
	strcpy(h.layout, "new");
	hdr_write(PM_HDR_B_OFF, &h, 1);
	check_repaired();
	hdr_read(PM_HDR_A_OFF, &h);
	assert_string_equal(h.layout, "new");
}

static void set_version(struct pm_hdr *h)
{
	h->version = PM_POOL_VERSION + 1;
}

static void set_nlanes(struct pm_hdr *h)
{
	h->nlanes = 0;
}

static void set_data_off(struct pm_hdr *h)
{
	h->data_off += 1;
}

static void flip_size(struct pm_hdr *h)
{
	h->pool_size ^= 1;
}

static void set_hdr_size(struct pm_hdr *h)
{
	h->hdr_size = 256;
}

static void test_pool_open_bad_version(void **state)
{
	(void)state;
	make_pool(NULL);
	hdr_both(set_version, 1);
	assert_int_equal(open_err(), PM_E_VERSION);
}

static void set_version_zero(struct pm_hdr *h)
{
	h->version = 0;
}

/* A copy torn during create has the magic but not yet the version. */
static void test_pool_open_torn_version(void **state)
{
	(void)state;
	make_pool(NULL);
	hdr_both(set_version_zero, 1);
	assert_int_equal(open_err(), PM_E_CORRUPT);
}

static void test_pool_open_bad_checksum(void **state)
{
	(void)state;
	make_pool(NULL);
	hdr_both(flip_size, 0);
	assert_int_equal(open_err(), PM_E_CORRUPT);
}

static void test_pool_open_bad_geometry(void **state)
{
	(void)state;
	make_pool(NULL);
	hdr_both(set_nlanes, 1);
	assert_int_equal(open_err(), PM_E_CORRUPT);
	unlink(path);
	make_pool(NULL);
	hdr_both(set_data_off, 1);
	assert_int_equal(open_err(), PM_E_CORRUPT);
	unlink(path);
	make_pool(NULL);
	hdr_both(set_hdr_size, 1);
	assert_int_equal(open_err(), PM_E_CORRUPT);
}

static void test_pool_open_not_pool(void **state)
{
	char junk[16384];
	int fd;

	(void)state;
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_err(), PM_E_NOT_POOL); /* empty */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	fd = open(path, O_WRONLY);
	assert_int_equal(write(fd, junk, 100), 100);
	close(fd);
	assert_int_equal(open_err(), PM_E_NOT_POOL); /* tiny */
	fd = open(path, O_WRONLY);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	assert_int_equal(open_err(), PM_E_NOT_POOL); /* junk */
	unlink(path);
	make_pool(NULL);
	/* Create cut short before header B was written: both copies zero. */
	memset(junk, 0, sizeof(junk));
	fd = open(path, O_WRONLY);
	assert_int_equal(pwrite(fd, junk, 8192, 0), 8192);
	close(fd);
	assert_int_equal(open_err(), PM_E_NOT_POOL);
}

static void test_pool_open_truncated(void **state)
{
	(void)state;
	make_pool(NULL);
	assert_int_equal(truncate(path, POOL_SIZE - 4096), 0);
	assert_int_equal(open_err(), PM_E_TRUNCATED);
	assert_int_equal(truncate(path, 6000), 0); /* copy B cut off too */
	assert_int_equal(open_err(), PM_E_TRUNCATED);
	assert_int_equal(truncate(path, 100), 0); /* magic, no header */
	assert_int_equal(open_err(), PM_E_TRUNCATED);
}

static void test_pool_open_layout_mismatch(void **state)
{
	struct pm_pool *p;

	(void)state;
	make_pool("kvstore");
	assert_int_equal(pm_pool_open_layout(path, "bank", 0, &p), PM_E_LAYOUT);
	assert_int_equal(pm_pool_open_layout(path, "kvstore", 0, &p), 0);
	pm_pool_close(p);
}

static void test_pool_open_busy(void **state)
{
	struct pm_pool *p, *q;

	(void)state;
	make_pool(NULL);
	assert_int_equal(pm_pool_open(path, 0, &p), 0);
	assert_int_equal(pm_pool_open(path, 0, &q), -EBUSY);
	pm_pool_close(p);
	assert_int_equal(pm_pool_open(path, 0, &q), 0);
	pm_pool_close(q);
}

static void test_pool_open_bad_args(void **state)
{
	struct pm_pool *p;

	(void)state;
	make_pool(NULL);
	assert_int_equal(pm_pool_open(path, 1U << 30, &p), -EINVAL);
	assert_int_equal(pm_pool_open(NULL, 0, &p), -EINVAL);
	assert_int_equal(pm_pool_open(path, 0, NULL), -EINVAL);
	unlink(path);
	assert_int_equal(pm_pool_open(path, 0, &p), -ENOENT);
	pm_pool_close(NULL);
	assert_null(pm_pool_data(NULL, NULL));
}

/* Paths that are not regular files are refused at once; a FIFO without
 * a writer would block a plain open for reading (the alarm fails that). */
static void test_pool_open_not_regular(void **state)
{
	struct pm_pool *p = NULL;

	(void)state;
	assert_int_equal(mkfifo(path, 0644), 0);
	alarm(10);
	assert_int_equal(pm_pool_open(path, 0, &p), -EINVAL);
	assert_int_equal(pm_pool_check(path, 0, NULL, NULL), -EINVAL);
	assert_int_equal(pm_pool_check(path, PM_CHECK_REPAIR, NULL, NULL),
			 -EINVAL);
	assert_int_equal(pm_pool_open("/dev/null", 0, &p), -EINVAL);
	assert_int_equal(pm_pool_check("/dev/null", 0, NULL, NULL), -EINVAL);
	alarm(0);
	assert_null(p);
}

struct progress {
	uint64_t done, total;
	unsigned calls, backwards, no_total;
};

static void on_progress(uint64_t done, uint64_t total, void *arg)
{
	struct progress *pr = arg;

	pr->backwards += done < pr->done;
	pr->no_total += !total;
	pr->done = done;
	pr->total = total;
	pr->calls++;
}

static int count_finding(const struct pm_check_finding *f, void *arg)
{
	(void)f;
	++*(unsigned *)arg;
	return 0;
}

/* The options form reports progress out of the pool's size, takes an
 * older (shorter) struct, and refuses bytes it does not know. */
static void test_pool_check_opts(void **state)
{
	struct progress pr = { 0 };
	unsigned found = 0;
	struct pm_check_opts o = {
		.sz = sizeof(o),
		.flags = PM_CHECK_VERBOSE,
		.cb = count_finding,
		.cb_arg = &found,
		.progress = on_progress,
		.progress_arg = &pr,
	};
	struct {
		struct pm_check_opts o;
		uint64_t next;
	} big = { .o = o, .next = 1 };

	(void)state;
	make_pool("opts");
	assert_int_equal(pm_pool_check_opts(path, &o), 0);
	assert_true(pr.calls > 1);
	assert_int_equal(pr.backwards, 0);
	assert_int_equal(pr.no_total,
			 0); /* the file's size before a header's */
	assert_int_equal(pr.total, POOL_SIZE);
	assert_true(pr.done > POOL_SIZE / 2 && pr.done <= POOL_SIZE);
	assert_true(found > 0); /* verbose: each sound structure */
	/* a caller that knows only sz and flags */
	o.sz = offsetof(struct pm_check_opts, flags) + sizeof(o.flags);
	pr.calls = found = 0;
	assert_int_equal(pm_pool_check_opts(path, &o), 0);
	assert_int_equal(pr.calls, 0);
	assert_int_equal(found, 0);
	o.sz = sizeof(o.sz);
	assert_int_equal(pm_pool_check_opts(path, &o), -EINVAL);
	big.o.sz = sizeof(big);
	assert_int_equal(pm_pool_check_opts(path, &big.o), -EINVAL);
	big.next = 0;
	assert_int_equal(pm_pool_check_opts(path, &big.o), 0);
	assert_int_equal(pm_pool_check_opts(path, NULL), -EINVAL);
	o.sz = sizeof(o);
	o.flags = PM_CHECK_DISCARD_DAMAGED;
	assert_int_equal(pm_pool_check_opts(path, &o), -EINVAL);
}

/* A check reads holes as zero without filling them: a sparse pool on
 * tmpfs stays sparse. */
static void test_pool_check_sparse(void **state)
{
	struct stat before, after;
	int fd, ret;

	(void)state;
	make_pool(NULL);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			POOL_SIZE / 2, POOL_SIZE / 2);
	close(fd);
	if (ret)
		skip(); /* no holes on this file system */
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(pm_pool_check(path, 0, NULL, NULL), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_blocks, before.st_blocks);
}

/* Size 0 creates a pool over all of the device, rounded down to its
 * alignment; a regular file still needs a size. */
static void test_pool_create_devdax_whole(void **state)
{
	struct pm_pool_info pi;
	struct pm_pool *p;
	char root[300];

	(void)state;
	snprintf(root, sizeof(root), "%s.sys", path);
	fakesys_devdax(root, "9437184\n"); /* 9 MiB */
	assert_int_equal(pm_pool_create("/dev/zero", 0, NULL, &p), 0);
	assert_int_equal(pm_pool_info(p, &pi), 0);
	assert_int_equal(pi.pool_size, 8UL << 20);
	assert_int_equal(pi.data_offset + pi.data_size, 8UL << 20);
	pm_pool_close(p);
	assert_int_equal(pm_pool_create("/dev/zero", 4UL << 20, NULL, &p), 0);
	assert_int_equal(pm_pool_info(p, &pi), 0);
	assert_int_equal(pi.pool_size, 4UL << 20);
	pm_pool_close(p);
	assert_int_equal(pm_pool_create("/dev/zero", 3UL << 20, NULL, &p),
			 -EINVAL);
	assert_int_equal(pm_pool_create("/dev/zero", 10UL << 20, NULL, &p),
			 -ENOSPC);
	fakesys_devdax_done(root);
	assert_int_equal(pm_pool_create(path, 0, NULL, &p), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, each)
	const struct CMUnitTest tests[] = {
		T(test_pool_create_round_trip),
		T(test_pool_create_exists),
		T(test_pool_create_bad_opts),
		T(test_pool_create_geometry),
		T(test_pool_create_default_geometry),
		T(test_pool_create_devdax_whole),
		T(test_pool_open_repairs_copy_a),
		T(test_pool_open_repairs_copy_b),
		T(test_pool_open_newer_copy_wins),
		T(test_pool_open_bad_version),
		T(test_pool_open_torn_version),
		T(test_pool_open_bad_checksum),
		T(test_pool_open_bad_geometry),
		T(test_pool_open_not_pool),
		T(test_pool_open_truncated),
		T(test_pool_open_layout_mismatch),
		T(test_pool_open_busy),
		T(test_pool_open_bad_args),
		T(test_pool_open_not_regular),
		T(test_pool_check_opts),
		T(test_pool_check_sparse),
	};

	return cmocka_run_group_tests(tests, setup, each);
}
