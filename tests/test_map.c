/* SPDX-License-Identifier: BSD-3-Clause */
/* test_map.c - pm_map_file(), granularity choice, eADR detection, sysfs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "eadr.h"
#include "fakesys.h"
#include "libpm.h"
#include "sysfs.h"

static char dir[64];
static char path[128];

/* Mappings of @p (none for NULL) in this process: a leaked one shows up
 * here, while the total count moves with the allocator's (and valgrind's)
 * own. */
static int count_maps(const char *p)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += p && strstr(line, p) != NULL;
	fclose(f);
	return n;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Expect @err from pm_map_file(), with no descriptor or mapping left. */
static void expect_fail(const char *p, size_t size, unsigned flags, int err)
{
	struct pm_map *m = (struct pm_map *)&m;
	int fds = count_fds(), maps = count_maps(p);

	assert_int_equal(pm_map_file(p, size, flags, &m), err);
	assert_ptr_equal(m, (struct pm_map *)&m);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_maps(p), maps);
}

static char last_msg[512]; /* the last message logged */

static void quiet(int level, const char *msg, void *arg)
{
	(void)level, (void)arg;
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/dev/shm/test_map.%d", getpid());
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/file", dir);
	pm_set_log_fn(quiet, NULL);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static int reset(void **state)
{
	(void)state;
	unlink(path);
	unsetenv("PM_FORCE_GRANULARITY");
	unsetenv("PM_SYSFS_ROOT");
	return 0;
}

static void test_map_file_create_tmpfs_is_page(void **state)
{
	struct pm_map *m;
	struct pm_map_info mi;

	(void)state;
	assert_int_equal(pm_map_file(path, 8192, PM_MAP_CREATE, &m), 0);
	assert_int_equal(pm_map_size(m), 8192);
	assert_int_equal(pm_map_granularity(m), PM_GRANULARITY_PAGE);
	assert_int_equal(pm_map_get_info(m, &mi), 0);
	assert_int_equal(mi.map_sync, 0);
	assert_int_equal(mi.forced, 0);
	assert_string_equal(mi.flush_method, "msync");
	assert_string_equal(mi.fs_type, "tmpfs");
	memset(pm_map_addr(m), 0x5a, 8192);
	pm_unmap(m);

	/* size 0 maps the whole existing file, contents kept */
	assert_int_equal(pm_map_file(path, 0, 0, &m), 0);
	assert_int_equal(pm_map_size(m), 8192);
	assert_int_equal(((unsigned char *)pm_map_addr(m))[8191], 0x5a);
	pm_unmap(m);
}

static void test_map_file_forced_cacheline(void **state)
{
	struct pm_map *m;
	struct pm_map_info mi;

	(void)state;
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	assert_int_equal(pm_map_file(path, 4096, PM_MAP_CREATE, &m), 0);
	assert_int_equal(pm_map_granularity(m), PM_GRANULARITY_CACHELINE);
	assert_int_equal(pm_map_get_info(m, &mi), 0);
	assert_int_equal(mi.forced, 1);
	assert_string_equal(mi.flush_method, pm_flush_method());
	pm_unmap(m);

	setenv("PM_FORCE_GRANULARITY", "byte", 1);
	assert_int_equal(pm_map_file(path, 0, 0, &m), 0);
	assert_int_equal(pm_map_granularity(m), PM_GRANULARITY_BYTE);
	pm_unmap(m);

	setenv("PM_FORCE_GRANULARITY", "bogus", 1);
	assert_int_equal(pm_map_file(path, 0, 0, &m), 0);
	assert_int_equal(pm_map_granularity(m), PM_GRANULARITY_PAGE);
	pm_unmap(m);
}

static void test_map_file_sync_required_not_dax(void **state)
{
	(void)state;
	expect_fail(path, 4096, PM_MAP_CREATE | PM_MAP_SYNC_REQUIRED,
		    PM_E_NOT_DAX);
	assert_int_equal(access(path, F_OK), -1); /* created, then removed */
}

static void test_map_file_nonexistent(void **state)
{
	(void)state;
	expect_fail(path, 0, 0, -ENOENT);
	expect_fail(path, 4096, 0, -ENOENT);
	expect_fail("/nonexistent-dir/file", 4096, PM_MAP_CREATE, -ENOENT);
}

static void test_map_file_directory(void **state)
{
	(void)state;
	expect_fail(dir, 0, 0, -EINVAL);
	expect_fail(dir, 0, PM_MAP_READONLY, -EINVAL);
	expect_fail(dir, 4096, PM_MAP_CREATE, -EINVAL);
}

/* A FIFO without a writer would block a plain open for reading: the
 * alarm turns such a hang into a failure. */
static void test_map_file_not_regular(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pm_map *m;
	char fifo[160];
	int s;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	alarm(10);
	/* once first: a sanitizer's allocator maps memory on first use,
	 * which expect_fail() would count as a mapping left behind */
	assert_int_equal(pm_map_file(fifo, 4096, PM_MAP_CREATE, &m), -EINVAL);
	assert_int_equal(pm_map_file("/dev/null", 0, PM_MAP_READONLY, &m),
			 -EINVAL);
	expect_fail(fifo, 0, PM_MAP_READONLY, -EINVAL);
	expect_fail(fifo, 0, 0, -EINVAL);
	expect_fail(fifo, 4096, PM_MAP_CREATE, -EINVAL);
	expect_fail(sa.sun_path, 0, PM_MAP_READONLY, -EINVAL);
	expect_fail(sa.sun_path, 0, 0, -EINVAL);
	expect_fail("/dev/null", 0, PM_MAP_READONLY, -EINVAL);
	alarm(0);
	close(s);
	unlink(fifo);
	unlink(sa.sun_path);
}

static void test_map_file_bad_flags(void **state)
{
	(void)state;
	expect_fail(path, 4096, 1U << 20, -EINVAL);
	expect_fail(path, 4096, PM_MAP_EXCL, -EINVAL);
	expect_fail(path, 4096, PM_MAP_READONLY | PM_MAP_CREATE, -EINVAL);
	expect_fail(NULL, 4096, 0, -EINVAL);
	assert_int_equal(pm_map_file(path, 4096, 0, NULL), -EINVAL);
}

static void test_map_file_excl_exists(void **state)
{
	struct pm_map *m;

	(void)state;
	assert_int_equal(pm_map_file(path, 4096, PM_MAP_CREATE, &m), 0);
	pm_unmap(m);
	expect_fail(path, 4096, PM_MAP_CREATE | PM_MAP_EXCL, -EEXIST);
	assert_int_equal(access(path, F_OK), 0); /* not ours to remove */
}

static void test_map_file_size_zero(void **state)
{
	int fd;

	(void)state;
	expect_fail(path, 0, PM_MAP_CREATE, -EINVAL);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	close(fd);
	expect_fail(path, 0, 0, -EINVAL);
	/* an empty file that existed before is left alone on failure */
	expect_fail(path, 0, PM_MAP_CREATE, -EINVAL);
	assert_int_equal(access(path, F_OK), 0);
}

static void test_map_file_too_large(void **state)
{
	struct pm_map *m;
	int ret;

	(void)state;
	expect_fail(path, SIZE_MAX, PM_MAP_CREATE, -EFBIG);
	assert_int_equal(access(path, F_OK), -1);
	ret = pm_map_file(path, (size_t)1 << 62, PM_MAP_CREATE, &m);
	assert_true(ret == -ENOSPC || ret == -EFBIG);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_map_file_readonly_file_write_flags(void **state)
{
	struct pm_map *m;
	int fd;

	(void)state;
	fd = open(path, O_CREAT | O_RDWR, 0444);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	/* drop root's override of file permissions for this thread */
	setfsuid(65534);
	expect_fail(path, 0, 0, -EACCES);
	expect_fail(path, 4096, PM_MAP_CREATE, -EACCES);
	assert_int_equal(pm_map_file(path, 0, PM_MAP_READONLY, &m), 0);
	setfsuid(getuid());
	assert_int_equal(pm_memset(m, pm_map_addr(m), 0, 64, 0), -EPERM);
	assert_int_equal(pm_map_size(m), 4096);
	pm_unmap(m);
	/* read-only and shorter than asked */
	expect_fail(path, 8192, PM_MAP_READONLY, -EINVAL);
}

static void test_map_getters_null(void **state)
{
	struct pm_map_info mi;

	(void)state;
	pm_unmap(NULL);
	assert_null(pm_map_addr(NULL));
	assert_int_equal(pm_map_size(NULL), 0);
	assert_int_equal(pm_map_granularity(NULL), PM_GRANULARITY_PAGE);
	assert_int_equal(pm_map_get_info(NULL, &mi), -EINVAL);
}

/* ---- sysfs and eADR, on a fake tree under PM_SYSFS_ROOT ---- */

#define NS0 "sys/devices/ndbus0/region0/namespace0.0/block/pmem0"
#define NS1 "sys/devices/ndbus0/region1/namespace1.0/block/pmem1"
#define DM "sys/devices/virtual/block/"

static int fake_tree(void **state)
{
	(void)state;
	fakesys_mkdirs(dir, NS0 "/pmem0p1");
	fakesys_mkdirs(dir, NS1);
	fakesys_mkdirs(dir, "sys/devices/pci0000:00/block/sda");
	fakesys_mkdirs(dir, DM "dm-0/slaves");
	fakesys_mkdirs(dir, DM "dm-1/slaves");
	fakesys_mkdirs(dir, "sys/dev/block");
	fakesys_put(dir, "sys/devices/ndbus0/region0/persistence_domain",
		    "cpu_cache\n");
	fakesys_put(dir, "sys/devices/ndbus0/region1/persistence_domain",
		    "memory_controller\n");
	fakesys_link(dir, "sys/dev/block/259:0",
		     "../../devices/ndbus0/region0/namespace0.0/block/pmem0");
	fakesys_link(dir, "sys/dev/block/259:1",
		     "../../devices/ndbus0/region0/namespace0.0/block/pmem0"
		     "/pmem0p1");
	fakesys_link(dir, "sys/dev/block/259:2",
		     "../../devices/ndbus0/region1/namespace1.0/block/pmem1");
	fakesys_link(dir, "sys/dev/block/8:0",
		     "../../devices/pci0000:00/block/sda");
	fakesys_link(dir, "sys/dev/block/253:0",
		     "../../devices/virtual/block/dm-0");
	fakesys_link(dir, "sys/dev/block/253:1",
		     "../../devices/virtual/block/dm-1");
	fakesys_link(dir, "sys/dev/block/7:0", "/");
	fakesys_link(dir, DM "dm-0/slaves/pmem0",
		     "../../../../ndbus0/region0/namespace0.0/block/pmem0");
	fakesys_link(dir, DM "dm-1/slaves/pmem0",
		     "../../../../ndbus0/region0/namespace0.0/block/pmem0");
	fakesys_link(dir, DM "dm-1/slaves/pmem1",
		     "../../../../ndbus0/region1/namespace1.0/block/pmem1");
	setenv("PM_SYSFS_ROOT", dir, 1);
	return 0;
}

static void test_sysfs_read_strips_newline(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(pm_sysfs_read("/sys/devices/ndbus0/region0/"
				       "persistence_domain",
				       buf, sizeof(buf)),
			 9);
	assert_string_equal(buf, "cpu_cache");
	assert_int_equal(pm_sysfs_read("/sys/devices/ndbus0/region0/"
				       "persistence_domain",
				       buf, 9),
			 -ENOBUFS);
	assert_int_equal(pm_sysfs_read("/sys/nothing", buf, sizeof(buf)),
			 -ENOENT);
}

static void test_sysfs_resolve_stays_in_root(void **state)
{
	char buf[PATH_MAX];

	(void)state;
	assert_int_equal(pm_sysfs_dev_path(makedev(259, 1), buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "/" NS0 "/pmem0p1");
	assert_int_equal(pm_sysfs_dev_path(makedev(7, 0), buf, sizeof(buf)),
			 -EXDEV);
	assert_int_equal(pm_sysfs_dev_path(makedev(9, 9), buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(pm_sysfs_dev_path(makedev(259, 1), buf, 8),
			 -ENAMETOOLONG);
}

static void test_map_eadr_cpu_cache_region(void **state)
{
	(void)state;
	assert_int_equal(pm_map_eadr(makedev(259, 0), 0), 1);
	assert_int_equal(pm_map_eadr(makedev(259, 1), 0), 1); /* partition */
	assert_int_equal(pm_map_eadr(makedev(253, 0), 0), 1); /* dm on eADR */
}

static void test_map_eadr_not_cpu_cache(void **state)
{
	(void)state;
	assert_int_equal(pm_map_eadr(makedev(259, 2), 0), 0); /* ADR region */
	assert_int_equal(pm_map_eadr(makedev(253, 1), 0), 0); /* one of two */
	assert_int_equal(pm_map_eadr(makedev(8, 0), 0), 0);   /* no region */
	assert_int_equal(pm_map_eadr(makedev(7, 0), 0), 0);   /* leaves root */
	assert_int_equal(pm_map_eadr(makedev(9, 9), 0), 0);   /* unknown */
	assert_int_equal(pm_map_eadr(makedev(0, 42), 0), 0);  /* tmpfs */
	unsetenv("PM_SYSFS_ROOT");
	assert_int_equal(pm_map_eadr(makedev(259, 0), 0) >= 0, 1);
}

/* ---- device-dax and deep flush, on the fake tree ---- */

/* /dev/zero (1:5) stands in for a device-dax device: it maps as one. */
#define DAX0 "sys/devices/ndbus0/region0/dax0.0"
#define DAX1 "sys/devices/ndbus0/region1/dax1.0"
#define MiB (1UL << 20)

/* Point /sys/dev/char/1:5 at @dax ("" for nowhere). */
static void zero_is(const char *dax)
{
	char p[PATH_MAX], to[PATH_MAX];

	fakesys_join(p, sizeof(p), dir, "sys/dev/char/1:5");
	unlink(p);
	if (!*dax)
		return;
	snprintf(to, sizeof(to), "../../../%s", dax);
	fakesys_link(dir, "sys/dev/char/1:5", to);
}

static int fake_dax(void **state)
{
	(void)state;
	fakesys_mkdirs(dir, DAX0 "/dax0.0");
	fakesys_mkdirs(dir, DAX1 "/dax1.0");
	fakesys_mkdirs(dir, DAX1 "/dax_region");
	fakesys_mkdirs(dir, "sys/dev/char");
	fakesys_put(dir, DAX0 "/dax0.0/size", "8388608\n");
	fakesys_put(dir, DAX0 "/dax0.0/align", "2097152\n");
	fakesys_put(dir, DAX1 "/dax1.0/size", "4194304\n");
	fakesys_put(dir, DAX1 "/dax_region/align", "4096\n");
	fakesys_put(dir, "sys/devices/ndbus0/region0/deep_flush", "1\n");
	fakesys_put(dir, "sys/devices/ndbus0/region1/deep_flush", "0\n");
	zero_is(DAX0 "/dax0.0");
	setenv("PM_SYSFS_ROOT", dir, 1);
	return 0;
}

static void test_devdax_map_whole(void **state)
{
	struct pm_map_info mi;
	struct pm_map *m;

	(void)state;
	assert_int_equal(pm_map_file("/dev/zero", 0, 0, &m), 0);
	assert_int_equal(pm_map_size(m), 8 * MiB); /* size from sysfs */
	assert_int_equal(pm_map_granularity(m), PM_GRANULARITY_BYTE);
	assert_int_equal(pm_map_get_info(m, &mi), 0);
	assert_string_equal(mi.fs_type, "devdax");
	assert_string_equal(mi.device, "1:5");
	assert_int_equal(mi.map_sync, 0);
	memset(pm_map_addr(m), 0xab, 8 * MiB);
	assert_int_equal(pm_persist(m, pm_map_addr(m), 8 * MiB), 0);
	pm_unmap(m);
	/* a region without cpu_cache: cache lines (the region's align) */
	zero_is(DAX1 "/dax1.0");
	assert_int_equal(pm_map_file("/dev/zero", 0, PM_MAP_READONLY, &m), 0);
	assert_int_equal(pm_map_size(m), 4 * MiB);
	assert_int_equal(pm_map_granularity(m), PM_GRANULARITY_CACHELINE);
	pm_unmap(m);
	zero_is(DAX0 "/dax0.0");
}

static void test_devdax_sizes(void **state)
{
	struct pm_map *m;

	(void)state;
	expect_fail("/dev/zero", 3 * MiB, 0, -EINVAL); /* not aligned */
	expect_fail("/dev/zero", 10 * MiB, 0, -ENOSPC);
	expect_fail("/dev/zero", 10 * MiB, PM_MAP_CREATE, -ENOSPC);
	assert_int_equal(pm_map_file("/dev/zero", 4 * MiB, 0, &m), 0);
	assert_int_equal(pm_map_size(m), 4 * MiB);
	pm_unmap(m);
	/* not a device-dax device */
	zero_is("");
	expect_fail("/dev/zero", 0, 0, -EINVAL);
	zero_is("sys/devices/ndbus0/region0");
	expect_fail("/dev/zero", 0, 0, -EINVAL);
	zero_is(DAX0 "/dax0.0");
}

static void test_devdax_create_excl(void **state)
{
	struct pm_map *m;
	int fd;

	(void)state;
	/* the device exists: CREATE|EXCL takes it while its first page is
	 * zero, and never removes it */
	assert_int_equal(pm_map_file("/dev/zero", 2 * MiB,
				     PM_MAP_CREATE | PM_MAP_EXCL, &m),
			 0);
	assert_int_equal(pm_map_size(m), 2 * MiB);
	pm_unmap(m);
	assert_int_equal(access("/dev/zero", F_OK), 0);
	expect_fail("/dev/zero", 3 * MiB, PM_MAP_CREATE | PM_MAP_EXCL, -EINVAL);
	assert_int_equal(access("/dev/zero", F_OK), 0);
	/* a regular file that exists is still -EEXIST */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	expect_fail(path, 4096, PM_MAP_CREATE | PM_MAP_EXCL, -EEXIST);
	unlink(path);
}

/* PM_MAP_CREATE with size 0 takes a whole device-dax device, rounded
 * down to its alignment; a regular file still needs a size, and none is
 * created for it. */
static void test_devdax_create_whole(void **state)
{
	struct pm_map *m;

	(void)state;
	assert_int_equal(pm_map_file("/dev/zero", 0,
				     PM_MAP_CREATE | PM_MAP_EXCL, &m),
			 0);
	assert_int_equal(pm_map_size(m), 8 * MiB);
	pm_unmap(m);
	fakesys_put(dir, DAX0 "/dax0.0/size", "9437184\n"); /* 9 MiB */
	assert_int_equal(pm_map_file("/dev/zero", 0, PM_MAP_CREATE, &m), 0);
	assert_int_equal(pm_map_size(m), 8 * MiB);
	pm_unmap(m);
	assert_int_equal(pm_map_file("/dev/zero", 0, 0, &m), 0);
	assert_int_equal(pm_map_size(m), 8 * MiB);
	pm_unmap(m);
	/* a non-zero size must still fit and be aligned */
	expect_fail("/dev/zero", 10 * MiB, PM_MAP_CREATE, -ENOSPC);
	expect_fail("/dev/zero", 1 * MiB, PM_MAP_CREATE, -EINVAL);
	/* smaller than one unit: nothing to map */
	fakesys_put(dir, DAX0 "/dax0.0/size", "1048576\n");
	expect_fail("/dev/zero", 0, PM_MAP_CREATE, -EINVAL);
	fakesys_put(dir, DAX0 "/dax0.0/size", "8388608\n");
	expect_fail(path, 0, PM_MAP_CREATE | PM_MAP_EXCL, -EINVAL);
	assert_non_null(strstr(last_msg, "only for a device-dax device"));
	assert_int_equal(access(path, F_OK), -1);
}

/* msync writes nothing back on device-dax: page granularity there is
 * refused at map time, naming the override; other choices stay. */
static void test_devdax_forced_page(void **state)
{
	struct pm_map_info mi;
	struct pm_map *m;

	(void)state;
	setenv("PM_FORCE_GRANULARITY", "page", 1);
	expect_fail("/dev/zero", 0, 0, -ENOTSUP);
	assert_non_null(strstr(last_msg, "PM_FORCE_GRANULARITY=page"));
	expect_fail("/dev/zero", 0, PM_MAP_READONLY, -ENOTSUP);
	expect_fail("/dev/zero", 2 * MiB, PM_MAP_CREATE | PM_MAP_EXCL,
		    -ENOTSUP);
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	assert_int_equal(pm_map_file("/dev/zero", 0, 0, &m), 0);
	assert_int_equal(pm_map_get_info(m, &mi), 0);
	assert_int_equal(mi.granularity, PM_GRANULARITY_CACHELINE);
	assert_int_equal(mi.forced, 1);
	assert_int_equal(pm_persist(m, pm_map_addr(m), 4096), 0);
	pm_unmap(m);
	unsetenv("PM_FORCE_GRANULARITY");
}

static time_t mtime_of(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	fakesys_join(p, sizeof(p), dir, rel);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mtime;
}

static void set_old(const char *rel)
{
	char p[PATH_MAX];
	struct timeval tv[2] = { { 0, 0 }, { 0, 0 } };

	fakesys_join(p, sizeof(p), dir, rel);
	assert_int_equal(utimes(p, tv), 0);
}

#define DF0 "sys/devices/ndbus0/region0/deep_flush"

static void test_deep_flush(void **state)
{
	struct pm_map *m;
	uint8_t *a;

	(void)state;
	/* region0: deep_flush reads 1 and is written */
	set_old(DF0);
	assert_int_equal(pm_map_file("/dev/zero", 0, 0, &m), 0);
	a = pm_map_addr(m);
	a[100] = 1;
	assert_int_equal(pm_deep_flush(m, a + 64, 64), 0);
	assert_true(mtime_of(DF0) != 0);
	assert_int_equal(pm_deep_flush(m, a, 16 * MiB), -EINVAL);
	assert_int_equal(pm_deep_flush(NULL, a, 1), -EINVAL);
	pm_unmap(m);
	/* block devices: each region behind them must have it */
	set_old(DF0);
	assert_int_equal(pm_map_deep_flush(makedev(259, 1), 0), 0);
	assert_int_equal(pm_map_deep_flush(makedev(253, 0), 0), 0);
	assert_true(mtime_of(DF0) != 0);
	set_old(DF0);
	assert_int_equal(pm_map_deep_flush(makedev(259, 2), 0), -ENOTSUP);
	assert_int_equal(pm_map_deep_flush(makedev(253, 1), 0), -ENOTSUP);
	assert_int_equal(pm_map_deep_flush(makedev(8, 0), 0), -ENOTSUP);
	assert_int_equal(pm_map_deep_flush(makedev(7, 0), 0), -ENOTSUP);
	assert_int_equal(pm_map_deep_flush(makedev(0, 42), 0), -ENOTSUP);
	/* region1 reads 0: nothing to flush past the memory controller */
	zero_is(DAX1 "/dax1.0");
	assert_int_equal(pm_map_file("/dev/zero", 0, 0, &m), 0);
	assert_int_equal(pm_deep_flush(m, pm_map_addr(m), 1), -ENOTSUP);
	pm_unmap(m);
	zero_is(DAX0 "/dax0.0");
	/* a file on tmpfs */
	assert_int_equal(pm_map_file(path, 4096, PM_MAP_CREATE, &m), 0);
	assert_int_equal(pm_deep_flush(m, pm_map_addr(m), 4096), -ENOTSUP);
	pm_unmap(m);
	unlink(path);
	assert_int_equal(mtime_of(DF0), 0);
	unsetenv("PM_SYSFS_ROOT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_map_file_create_tmpfs_is_page,
				       reset),
		cmocka_unit_test_setup(test_map_file_forced_cacheline, reset),
		cmocka_unit_test_setup(test_map_file_sync_required_not_dax,
				       reset),
		cmocka_unit_test_setup(test_map_file_nonexistent, reset),
		cmocka_unit_test_setup(test_map_file_directory, reset),
		cmocka_unit_test_setup(test_map_file_not_regular, reset),
		cmocka_unit_test_setup(test_map_file_bad_flags, reset),
		cmocka_unit_test_setup(test_map_file_excl_exists, reset),
		cmocka_unit_test_setup(test_map_file_size_zero, reset),
		cmocka_unit_test_setup(test_map_file_too_large, reset),
		cmocka_unit_test_setup(test_map_file_readonly_file_write_flags,
				       reset),
		cmocka_unit_test(test_map_getters_null),
		cmocka_unit_test_setup(test_sysfs_read_strips_newline,
				       fake_tree),
		cmocka_unit_test(test_sysfs_resolve_stays_in_root),
		cmocka_unit_test(test_map_eadr_cpu_cache_region),
		cmocka_unit_test(test_map_eadr_not_cpu_cache),
		cmocka_unit_test_setup(test_devdax_map_whole, fake_dax),
		cmocka_unit_test_setup(test_devdax_sizes, fake_dax),
		cmocka_unit_test_setup(test_devdax_create_excl, fake_dax),
		cmocka_unit_test_setup(test_devdax_create_whole, fake_dax),
		cmocka_unit_test_setup(test_devdax_forced_page, fake_dax),
		cmocka_unit_test_setup(test_deep_flush, fake_dax),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
