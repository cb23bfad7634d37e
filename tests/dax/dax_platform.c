/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dax_platform.c - what a platform of persistent memory gives, through
 * the public API only.  Run inside the check-dax guest (tests/dax/init):
 *
 *	dax_platform devdax /dev/daxX.Y
 *	dax_platform deepflush FILE ok|notsup
 *
 * devdax: the device maps whole (size from sysfs), with the granularity
 * its region's persistence domain gives ($PM_DAX_PDOMAIN: cpu_cache is
 * byte, no flush, one fence); data survives a remap; a pool is refused
 * while the device holds data (-EEXIST), is created once its first page
 * is zero, keeps a transaction across close and open, is refused again,
 * checks clean, and the device's bad blocks list (empty) through libndctl.
 * deepflush: pm_deep_flush() on a mapping of FILE (created) returns 0
 * (ok) or -ENOTSUP (notsup).  One "ok"/"not ok" line per check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"
#include "libpm.h"

#define POOL_SIZE (8UL << 20)

static unsigned long long sysfs_size(const char *dev)
{
	char p[256];
	unsigned long long v = 0;
	struct stat st;
	FILE *f;

	if (stat(dev, &st))
		return 0;
	snprintf(p, sizeof(p), "/sys/dev/char/%u:%u/size", major(st.st_rdev),
		 minor(st.st_rdev));
	f = fopen(p, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static void devdax_map(const char *dev)
{
	enum pm_granularity want = eadr() ? PM_GRANULARITY_BYTE :
					    PM_GRANULARITY_CACHELINE;
	unsigned long long size = sysfs_size(dev);
	struct pm_map_info mi;
	struct pm_map *m;
	unsigned char *p;
	size_t bad = 0;
	int ret;

	ret = pm_map_file(dev, 0, PM_MAP_SYNC_REQUIRED, &m);
	if (!check(ret == 0, "pm_map_file %s: %s", dev, pm_strerror(ret)))
		return;
	pm_map_get_info(m, &mi);
	check(size && pm_map_size(m) == size,
	      "maps the whole device: %zu bytes (sysfs: %llu)", pm_map_size(m),
	      size);
	check(!strcmp(mi.fs_type, "devdax"), "fs_type devdax (got %s)",
	      mi.fs_type);
	check(mi.granularity == want,
	      "granularity %d for persistence domain '%s' (got %d)", want,
	      getenv("PM_DAX_PDOMAIN"), mi.granularity);
	check_persist_counts(m);
	p = pm_map_addr(m);
	for (size_t i = 4096; i < POOL_SIZE; i++)
		p[i] = (unsigned char)(i * 7);
	check(pm_persist(m, p, POOL_SIZE) == 0, "persist of the pattern");
	pm_unmap(m);
	ret = pm_map_file(dev, POOL_SIZE, PM_MAP_READONLY, &m);
	if (!check(ret == 0, "remap %s read-only", dev))
		return;
	p = pm_map_addr(m);
	for (size_t i = 4096; i < POOL_SIZE; i++)
		bad += p[i] != (unsigned char)(i * 7);
	check(bad == 0, "the pattern reads back after a remap (%zu bad)", bad);
	pm_unmap(m);
	ret = pm_map_file(dev, 3UL << 20, 0, &m);
	check(ret == -EINVAL, "3 MiB, not a multiple of the alignment: %s",
	      pm_strerror(ret));
	if (!ret)
		pm_unmap(m);
}

static int clean_cb(const struct pm_check_finding *f, void *arg)
{
	(void)arg;
	printf("# finding: %s: %s\n", f->structure, f->message);
	return 0;
}

static void devdax_pool(const char *dev)
{
	struct pm_badblock *bbs;
	struct pm_pool *pool;
	struct pm_map *m;
	struct pm_tx *tx;
	uint64_t v = 0x1122334455667788ULL, *d;
	struct stat st;
	size_t n;
	int ret;

	ret = pm_pool_create(dev, POOL_SIZE, NULL, &pool);
	check(ret == -EEXIST, "pool create over data: -EEXIST (got %s)",
	      pm_strerror(ret));
	if (!ret)
		pm_pool_close(pool);
	if (pm_map_file(dev, 2UL << 20, 0, &m) == 0) {
		check(pm_memset(m, pm_map_addr(m), 0, 4096, 0) == 0,
		      "first page zeroed");
		pm_unmap(m);
	}
	ret = pm_pool_create(dev, POOL_SIZE, NULL, &pool);
	if (!check(ret == 0, "pool create on a zero first page: %s",
		   pm_strerror(ret)))
		return;
	d = pm_pool_data(pool, NULL);
	ret = pm_tx_begin(pool, 64, &tx);
	if (!ret)
		ret = pm_tx_write(tx, d, &v, sizeof(v));
	if (!ret)
		ret = pm_tx_commit(tx);
	check(ret == 0, "a transaction commits: %s", pm_strerror(ret));
	pm_pool_close(pool);
	ret = pm_pool_open(dev, 0, &pool);
	if (check(ret == 0, "pool open: %s", pm_strerror(ret))) {
		d = pm_pool_data(pool, NULL);
		check(*d == v, "the committed value is there after reopen");
		pm_pool_close(pool);
	}
	ret = pm_pool_create(dev, POOL_SIZE, NULL, &pool);
	check(ret == -EEXIST, "pool create over the pool: -EEXIST (got %s)",
	      pm_strerror(ret));
	if (!ret)
		pm_pool_close(pool);
	ret = pm_pool_check(dev, 0, clean_cb, NULL);
	check(ret == 0, "pm_pool_check: %s", pm_strerror(ret));
	check(stat(dev, &st) == 0 && S_ISCHR(st.st_mode),
	      "the device is still there");
	ret = pm_badblocks_list(dev, &bbs, &n);
	check(ret == 0 && n == 0, "bad blocks (libndctl): %s, %zu",
	      pm_strerror(ret), ret ? 0 : n);
	if (!ret)
		pm_badblocks_free(bbs);
}

static void deep_flush(const char *path, const char *expect)
{
	int want = !strcmp(expect, "ok") ? 0 : -ENOTSUP;
	struct pm_map *m;
	char *p;
	int ret;

	unlink(path);
	ret = pm_map_file(path, 1UL << 20, PM_MAP_CREATE, &m);
	if (!check(ret == 0, "map %s: %s", path, pm_strerror(ret)))
		return;
	p = pm_map_addr(m);
	memset(p, 0x42, 4096);
	ret = pm_deep_flush(m, p, 4096);
	check(ret == want, "pm_deep_flush on %s: %s (want %s)", path,
	      pm_strerror(ret), pm_strerror(want));
	pm_unmap(m);
	unlink(path);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	unsetenv("PM_FORCE_GRANULARITY");
	if (argc == 3 && !strcmp(argv[1], "devdax")) {
		devdax_map(argv[2]);
		devdax_pool(argv[2]);
	} else if (argc == 4 && !strcmp(argv[1], "deepflush")) {
		deep_flush(argv[2], argv[3]);
	} else {
		fprintf(stderr, "usage: dax_platform devdax DEV | "
				"deepflush FILE ok|notsup\n");
		return 2;
	}
	printf("# %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
