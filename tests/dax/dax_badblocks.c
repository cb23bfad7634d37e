/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dax_badblocks.c - real bad blocks on emulated pmem, through the public
 * API.  Run as root inside the check-dax guest (tests/dax/tests.list):
 *
 *	dax_badblocks read DIR		reads of bad pages
 *	dax_badblocks pool DIR		open, check and repair with bad pages
 *	dax_badblocks inject FILE OFFSET
 *	dax_badblocks where POOL
 *
 * DIR (FILE) is on a file system mounted -o dax on a pmem disk that may be
 * poisoned: sectors under a pool file are marked bad through
 * /sys/block/pmemN/badblocks, one 4 KiB page in the data area, in header
 * A and in a lane, each in a pool of its own.
 *
 * "read": pm_badblocks_list() gives the exact file range, pm_read_safe()
 * returns -EIO where a plain load gets SIGBUS and works next door.
 * "pool": opening the pool does not crash: it opens (data, header A) or
 * refuses with PM_E_BADBLOCKS (a lane), pm_pool_check() names
 * the damaged area only, its repair leaves a clean pool whose bad-block
 * list is empty, whatever the device list still says.
 * "inject" marks the page at OFFSET of FILE bad (written back first),
 * "where" prints the offsets of POOL's data area and lanes and the lane
 * size (for tests/dax/badblocks.sh).
 *
 * Prints one "ok"/"not ok" line per check; exit 1 if any failed, 77 if
 * DIR is not on a pmem disk root can poison.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "libpm.h"

#define POOL_SIZE (4UL << 20)
#define PAGE 4096UL

static char pool_path[4096];
static unsigned long long data_off, lane1_off;
static const char *pool_dir;
static char sysfs_bb[320]; /* /sys/block/pmemN/badblocks */

/* The pmem disk's bad-block file for the file system holding @dir. */
static int find_disk(const char *dir)
{
	char link[64], target[256];
	struct stat st;
	const char *name;
	ssize_t n;

	if (stat(dir, &st))
		return -errno;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_dev),
		 minor(st.st_dev));
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	name = strrchr(target, '/');
	name = name ? name + 1 : target;
	if (strncmp(name, "pmem", 4))
		return -ENODEV;
	snprintf(sysfs_bb, sizeof(sysfs_bb), "/sys/block/%s/badblocks", name);
	return access(sysfs_bb, W_OK) ? -errno : 0;
}

/* Device byte offset of file offset @off (FIEMAP), or -1. */
static long long dev_offset(const char *path, unsigned long long off)
{
	char buf[sizeof(struct fiemap) + 32 * sizeof(struct fiemap_extent)];
	struct fiemap *fm = (struct fiemap *)buf;
	long long ret = -1;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	memset(buf, 0, sizeof(buf));
	fm->fm_start = off;
	fm->fm_length = PAGE;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 32;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) == 0) {
		for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];

			if (off >= e->fe_logical &&
			    off < e->fe_logical + e->fe_length)
				ret = (long long)(e->fe_physical +
						  (off - e->fe_logical));
		}
	}
	close(fd);
	return ret;
}

/* A page never written is an unwritten extent: reads return zeros
 * without reaching the device, so a bad block there goes unseen.  Write
 * the page with its own bytes so that it is backed by the device. */
static int make_written(unsigned long long off)
{
	char page[PAGE];
	int fd = open(pool_path, O_RDWR);
	int ok = fd >= 0 &&
		 pread(fd, page, PAGE, (off_t)off) == (ssize_t)PAGE &&
		 pwrite(fd, page, PAGE, (off_t)off) == (ssize_t)PAGE &&
		 fsync(fd) == 0;

	if (fd >= 0)
		close(fd);
	return check(ok, "page at %#llx written back before the injection",
		     off) ?
		       0 :
		       -1;
}

/* Mark the 4 KiB page of the pool at file offset @off bad on the device. */
static int inject(unsigned long long off)
{
	long long phys;
	FILE *f;
	int ret;

	if (make_written(off))
		return -1;
	phys = dev_offset(pool_path, off);
	if (!check(phys >= 0 && phys % PAGE == 0,
		   "FIEMAP maps file offset %#llx to device offset %#llx", off,
		   phys))
		return -1;
	f = fopen(sysfs_bb, "w");
	if (!f)
		return -1;
	fprintf(f, "%lld %lu\n", phys / 512, PAGE / 512);
	ret = fclose(f);
	check(ret == 0, "injected sectors %lld+%lu into %s", phys / 512,
	      PAGE / 512, sysfs_bb);
	return ret;
}

static void show_device_list(void)
{
	char line[128];
	FILE *f = fopen(sysfs_bb, "r");

	printf("# %s:", sysfs_bb);
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		printf(" [%s]", line);
	}
	printf("\n");
	if (f)
		fclose(f);
}

/* pm_badblocks_list() is exactly [@off, @off + @len), or empty if len 0. */
static void check_list(unsigned long long off, unsigned long long len)
{
	struct pm_badblock *bbs = NULL;
	size_t n = 0;
	int ret = pm_badblocks_list(pool_path, &bbs, &n);

	if (!check(ret == 0, "pm_badblocks_list: %s", pm_strerror(ret)))
		return;
	if (len == 0)
		check(n == 0, "the pool file has no bad blocks (%zu listed)",
		      n);
	else
		check(n == 1 && bbs[0].offset == off && bbs[0].length == len,
		      "bad blocks listed as exactly [%#llx, +%#llx) (%zu "
		      "entries, first [%#llx, +%#llx))",
		      off, len, n, n ? (unsigned long long)bbs[0].offset : 0,
		      n ? (unsigned long long)bbs[0].length : 0);
	pm_badblocks_free(bbs);
}

/* Run @fn in a child; its exit status, or 128 + the signal that killed it. */
static int in_child(int (*fn)(unsigned long long), unsigned long long arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
				     WEXITSTATUS(status);
}

static int raw_load(unsigned long long off)
{
	struct pm_map *m;

	if (pm_map_file(pool_path, 0, 0, &m))
		return 2;
	return *((volatile unsigned char *)pm_map_addr(m) + off) == 0xee;
}

/* Open with @flags: 0 if it gives @want (a code, or 0), else 1. */
static int open_flags(unsigned flags, int want)
{
	struct pm_pool *pool;
	int ret = pm_pool_open(pool_path, flags, &pool);

	printf("# pm_pool_open(%#x) with a bad page: %s\n", flags,
	       pm_strerror(ret));
	if (ret == 0)
		pm_pool_close(pool);
	return ret == want ? 0 : 1;
}

/* What opening a pool with one bad page gives, per area: user data only
 * warns, header A has header B to stand in, a lane refuses, and refuses
 * even with PM_POOL_IGNORE_BADBLOCKS (recovery would fault on it). */
static int open_pool(unsigned long long area)
{
	if (area == PM_AREA_LANES)
		return open_flags(0, PM_E_BADBLOCKS) |
		       open_flags(PM_POOL_IGNORE_BADBLOCKS, PM_E_BADBLOCKS);
	return open_flags(0, 0) | open_flags(PM_POOL_IGNORE_BADBLOCKS, 0);
}

/* Safe reads of the bad page fail with -EIO, the pages around it work. */
static void check_reads(unsigned long long off, int pattern)
{
	unsigned char buf[2 * PAGE];
	struct pm_map *m;
	unsigned char *a;
	int ret, sig;

	ret = pm_map_file(pool_path, 0, 0, &m);
	if (!check(ret == 0, "fresh mapping: %s", pm_strerror(ret)))
		return;
	a = pm_map_addr(m);
	ret = pm_read_safe(m, buf, a + off, PAGE);
	check(ret == -EIO, "pm_read_safe of the bad page: -EIO (got %s)",
	      pm_strerror(ret));
	ret = pm_read_safe(m, buf, a + off + PAGE / 2, PAGE);
	check(ret == -EIO, "pm_read_safe across the bad page: -EIO (got %s)",
	      pm_strerror(ret));
	ret = pm_read_safe(m, buf, a + off + PAGE, PAGE);
	check(ret == 0 && (pattern < 0 || buf[0] == pattern),
	      "pm_read_safe of the next page works (%s, byte %#x)",
	      pm_strerror(ret), buf[0]);
	pm_unmap(m);
	sig = in_child(raw_load, off);
	check(sig == 128 + SIGBUS,
	      "a plain load from the bad page gets SIGBUS (child: %d)", sig);
}

static int count_finding(const struct pm_check_finding *f, void *arg)
{
	unsigned *hits = arg;

	printf("# finding: %s %s at %#llx+%#llx: %s; %s%s\n",
	       f->severity == PM_CHECK_FATAL ? "fatal" : "repairable",
	       f->structure, (unsigned long long)f->offset,
	       (unsigned long long)f->length, f->message,
	       f->repair ? f->repair : "no repair",
	       f->repaired ? " (done)" : "");
	if (f->severity != PM_CHECK_INFO)
		hits[f->area]++;
	return 0;
}

/* Check finds damage in @area only; repair; check again is clean. */
static int check_and_repair(unsigned long long area)
{
	unsigned hits[PM_AREA_NONE + 1] = { 0 };
	unsigned others = 0, flags = PM_CHECK_REPAIR;
	int ret;

	ret = pm_pool_check(pool_path, 0, count_finding, hits);
	for (unsigned a = 0; a <= PM_AREA_NONE; a++)
		others += a == area ? 0 : hits[a];
	check(ret == PM_E_CORRUPT && hits[area] >= 1 && others == 0,
	      "pm_pool_check finds the media error in area %llu only (%s, "
	      "%u in it, %u elsewhere)",
	      area, pm_strerror(ret), hits[area], others);
	if (area == PM_AREA_LANES) {
		/* A lane header has no second copy: only a repair that may
		 * drop the lane's transactions clears it. */
		ret = pm_pool_check(pool_path, PM_CHECK_REPAIR, count_finding,
				    hits);
		check(ret == PM_E_CORRUPT,
		      "pm_pool_check --repair leaves a "
		      "lane header on a bad page alone: %s",
		      pm_strerror(ret));
		flags |= PM_CHECK_DISCARD_DAMAGED;
	}
	ret = pm_pool_check(pool_path, flags, count_finding, hits);
	check(ret == 0, "pm_pool_check --repair%s: %s",
	      flags & PM_CHECK_DISCARD_DAMAGED ? " --discard-damaged" : "",
	      pm_strerror(ret));
	ret = pm_pool_check(pool_path, 0, count_finding, hits);
	check(ret == 0, "check after the repair is clean: %s",
	      pm_strerror(ret));
	show_device_list();
	check_list(0, 0);
	return failures ? 1 : 0;
}

/* A pool of its own for each bad page: a repair that moves the file off
 * a bad block must not hand that block to the next scenario's pool. */
static int make_pool(const char *name)
{
	struct pm_pool_opts o = {
		.sz = sizeof(o),
		.layout = "dax-badblocks",
		.nlanes = 4,
		.lane_size = 16384,
	};
	struct pm_pool_info info;
	struct pm_pool *pool;
	size_t size;
	char *d;
	int ret;

	snprintf(pool_path, sizeof(pool_path), "%s/%s.pool", pool_dir, name);
	unlink(pool_path);
	ret = pm_pool_create(pool_path, POOL_SIZE, &o, &pool);
	if (!check(ret == 0, "pm_pool_create %s: %s", pool_path,
		   pm_strerror(ret)))
		return -1;
	pm_pool_info(pool, &info);
	d = pm_pool_data(pool, &size);
	memset(d, 0xab, size);
	pm_persist(pm_pool_map(pool), d, size);
	data_off = info.data_offset;
	lane1_off = info.lanes_offset + info.lane_size;
	printf("# pool: lanes at %#llx, data at %#llx (+%#llx), %s\n",
	       (unsigned long long)info.lanes_offset,
	       (unsigned long long)info.data_offset,
	       (unsigned long long)info.data_size, info.map.fs_type);
	pm_pool_close(pool);
	return 0;
}

/* One bad page in @area of a fresh pool, @off bytes into the area. */
static void scenario(int pool_checks, enum pm_area area, const char *name,
		     unsigned long long off)
{
	int rc;

	if (make_pool(name))
		return;
	if (area == PM_AREA_DATA)
		off += data_off;
	else if (area == PM_AREA_LANES)
		off += lane1_off;
	printf("# --- a bad page in %s, file offset %#llx\n", name, off);
	check_list(0, 0);
	if (inject(off))
		return;
	show_device_list();
	check_list(off, PAGE);
	if (!pool_checks) {
		check_reads(off, area == PM_AREA_DATA ? 0xab : -1);
		return;
	}
	rc = in_child(open_pool, area);
	check(rc == 0,
	      "pm_pool_open %s, without and with "
	      "PM_POOL_IGNORE_BADBLOCKS (child: %d)",
	      area == PM_AREA_LANES ? "says PM_E_BADBLOCKS" : "succeeds", rc);
	rc = in_child(check_and_repair, area);
	if (rc > 1)
		check(0, "pm_pool_check did not crash (child: %d)", rc);
	else if (rc)
		failures++;
}

static int cmd_run(int pool_checks)
{
	scenario(pool_checks, PM_AREA_DATA, "data", 16 * PAGE);
	scenario(pool_checks, PM_AREA_HEADER_A, "header-a", 0);
	scenario(pool_checks, PM_AREA_LANES, "lane-1", 0);
	printf("# %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}

static int print_offsets(const char *path)
{
	struct pm_pool_info info;
	struct pm_pool *pool;
	int ret = pm_pool_open(path, 0, &pool);

	if (ret) {
		fprintf(stderr, "%s: %s\n", path, pm_strerror(ret));
		return 1;
	}
	pm_pool_info(pool, &info);
	printf("%llu %llu %llu\n", (unsigned long long)info.data_offset,
	       (unsigned long long)info.lanes_offset,
	       (unsigned long long)info.lane_size);
	pm_pool_close(pool);
	return 0;
}

int main(int argc, char **argv)
{
	const char *where;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "where"))
		return print_offsets(argv[2]);
	if (argc == 3 && (!strcmp(argv[1], "read") || !strcmp(argv[1], "pool")))
		where = argv[2];
	else if (argc == 4 && !strcmp(argv[1], "inject"))
		where = argv[2];
	else {
		fprintf(stderr, "usage: dax_badblocks read|pool DIR\n"
				"       dax_badblocks inject FILE OFFSET\n"
				"       dax_badblocks where POOL\n");
		return 2;
	}
	ret = find_disk(where);
	if (ret) {
		printf("# %s is not on a pmem disk whose badblocks root can "
		       "write: %s\n",
		       where, strerror(-ret));
		return 77;
	}
	if (argc == 3) {
		pool_dir = argv[2];
		return cmd_run(!strcmp(argv[1], "pool"));
	}
	snprintf(pool_path, sizeof(pool_path), "%s", argv[2]);
	return inject(strtoull(argv[3], NULL, 0)) ? 1 : 0;
}
