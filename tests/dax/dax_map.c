/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dax_map.c - mapping on a real DAX file system and on tmpfs, through the
 * public API only.  Run inside the check-dax guest (tests/dax/map.sh):
 *
 *	dax_map DAX_DIR TMPFS_DIR
 *
 * On DAX_DIR (ext4 or xfs mounted -o dax) MAP_SYNC must succeed and the
 * granularity must be CACHELINE, or BYTE where the region's
 * persistence_domain ($PM_DAX_PDOMAIN) is cpu_cache (then a persist
 * issues no flush, only the fence that keeps stores ordered); on TMPFS_DIR PM_MAP_SYNC_REQUIRED must fail
 * with PM_E_NOT_DAX and a plain mapping must say PAGE.  Prints one
 * "ok"/"not ok" line per check; exit 1 if any check failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "libpm.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

#define MAP_SIZE (4UL << 20)

static const char *gran_name(enum pm_granularity g)
{
	switch (g) {
	case PM_GRANULARITY_BYTE:
		return "byte";
	case PM_GRANULARITY_CACHELINE:
		return "cacheline";
	case PM_GRANULARITY_PAGE:
		return "page";
	}
	return "?";
}

static int is_cpu_flush(const char *m)
{
	return m && (!strcmp(m, "clwb") || !strcmp(m, "clflushopt") ||
		     !strcmp(m, "clflush"));
}

/* The premise of every DAX check: the kernel says the file is DAX. */
static void check_statx_dax(const char *path)
{
	struct statx stx;

	if (!check(statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx) == 0,
		   "statx %s", path))
		return;
	check((stx.stx_attributes_mask & STATX_ATTR_DAX) &&
		      (stx.stx_attributes & STATX_ATTR_DAX),
	      "statx reports STATX_ATTR_DAX on %s", path);
}

/* Data written through the library is there after unmap and remap. */
static void check_remap(const char *path)
{
	struct pm_map *m;
	const unsigned char *p;
	size_t bad = 0;
	int ret;

	ret = pm_map_file(path, 0, PM_MAP_SYNC_REQUIRED, &m);
	if (!check(ret == 0, "remap %s with PM_MAP_SYNC_REQUIRED: %s", path,
		   pm_strerror(ret)))
		return;
	p = pm_map_addr(m);
	for (size_t i = 0; i < 100; i++)
		bad += p[10 + i] != 0x5a;
	for (size_t i = 4096; i < MAP_SIZE; i++)
		bad += p[i] != (unsigned char)(i * 7);
	check(bad == 0, "data written before unmap reads back (%zu bad bytes)",
	      bad);
	pm_unmap(m);
}

static void check_dax(const char *dir)
{
	struct pm_map_info mi;
	struct pm_map *m;
	unsigned char *p;
	char path[4096];
	int ret;

	snprintf(path, sizeof(path), "%s/dax_map.pm", dir);
	unlink(path);
	ret = pm_map_file(path, MAP_SIZE,
			  PM_MAP_CREATE | PM_MAP_EXCL | PM_MAP_SYNC_REQUIRED,
			  &m);
	if (!check(ret == 0, "pm_map_file %s with PM_MAP_SYNC_REQUIRED: %s",
		   path, pm_strerror(ret)))
		return;
	check_statx_dax(path);
	pm_map_get_info(m, &mi);
	check(mi.map_sync == 1, "map_sync is 1 on DAX");
	check(!mi.forced, "granularity not forced");
	if (eadr()) {
		check(mi.granularity == PM_GRANULARITY_BYTE,
		      "granularity is byte on a cpu_cache region (got %s)",
		      gran_name(mi.granularity));
		check(!strcmp(mi.flush_method, "none (eADR)"),
		      "flush method none (eADR) (got %s)", mi.flush_method);
	} else {
		check(mi.granularity == PM_GRANULARITY_CACHELINE,
		      "granularity is cacheline (persistence domain '%s', "
		      "got %s)",
		      getenv("PM_DAX_PDOMAIN") ? getenv("PM_DAX_PDOMAIN") : "",
		      gran_name(mi.granularity));
		check(is_cpu_flush(mi.flush_method),
		      "flush method is a CPU cache flush (got %s)",
		      mi.flush_method);
	}
	check(!strcmp(mi.fs_type, "ext4") || !strcmp(mi.fs_type, "xfs"),
	      "file system is ext4 or xfs (got %s)", mi.fs_type);
	printf("# %s: fs %s, device %s, flush %s, copy %s\n", path, mi.fs_type,
	       mi.device, mi.flush_method, mi.copy_method);
	check_persist_counts(m);
	p = pm_map_addr(m);
	for (size_t i = 4096; i < MAP_SIZE; i++)
		p[i] = (unsigned char)(i * 7);
	ret = pm_persist(m, p + 4096, MAP_SIZE - 4096);
	check(ret == 0, "pm_persist of %lu bytes returns 0 (got %d)",
	      MAP_SIZE - 4096, ret);
	pm_unmap(m);
	check_remap(path);
}

static void check_tmpfs(const char *dir)
{
	struct pm_map_info mi;
	struct pm_map *m;
	struct pm_stats st;
	char path[4096];
	char *p;
	int ret;

	snprintf(path, sizeof(path), "%s/dax_map.pm", dir);
	unlink(path);
	ret = pm_map_file(path, MAP_SIZE, PM_MAP_CREATE | PM_MAP_SYNC_REQUIRED,
			  &m);
	check(ret == PM_E_NOT_DAX,
	      "PM_MAP_SYNC_REQUIRED on tmpfs fails with PM_E_NOT_DAX (got %s)",
	      pm_strerror(ret));
	if (ret == 0)
		pm_unmap(m);
	check(access(path, F_OK) != 0 && errno == ENOENT,
	      "the failed create left no file behind");

	ret = pm_map_file(path, MAP_SIZE, PM_MAP_CREATE, &m);
	if (!check(ret == 0, "plain mapping on tmpfs: %s", pm_strerror(ret)))
		return;
	pm_map_get_info(m, &mi);
	check(mi.map_sync == 0 && mi.granularity == PM_GRANULARITY_PAGE,
	      "tmpfs says map_sync 0, granularity page (got %d, %s)",
	      mi.map_sync, gran_name(mi.granularity));
	check(!strcmp(mi.fs_type, "tmpfs") && !strcmp(mi.flush_method, "msync"),
	      "tmpfs mapping reports fs tmpfs, flush msync (got %s, %s)",
	      mi.fs_type, mi.flush_method);
	p = pm_map_addr(m);
	pm_stats_reset();
	memset(p, 1, 64);
	ret = pm_persist(m, p, 64);
	pm_stats_get(&st);
	check(ret == 0 && st.msyncs == 1,
	      "persist on tmpfs is one msync (ret %d, msyncs %llu)", ret,
	      (unsigned long long)st.msyncs);
	pm_unmap(m);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: dax_map DAX_DIR TMPFS_DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	unsetenv("PM_FORCE_GRANULARITY");
	check_dax(argv[1]);
	check_tmpfs(argv[2]);
	printf("# %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
