/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eadr.c - what the nd regions behind a mapping say: is its memory in the
 * CPU-cache persistence domain, and can their queues be flushed past the
 * memory controller (deep_flush)?  Only the regions behind the mapping's
 * own device count, and every one of them must qualify; any doubt answers
 * no (flushing is never wrong) or -ENOTSUP (deep flush).
 *
 * /sys/dev/block/MAJ:MIN resolves to .../ndbusN/regionN/namespaceN.M/block/
 * pmemN (a partition is one level further down); a device-mapper or md
 * device lists what it is built on in slaves/, and each of those must
 * qualify in turn.  /sys/dev/char/MAJ:MIN of a device-dax device resolves
 * to .../regionN/daxN.M/daxN.M.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "eadr.h"
#include "sysfs.h"

#define MAX_DEPTH 8

/* Called with the sysfs path of each region; 0 to go on, else stop with
 * that value. */
typedef int (*region_fn)(const char *region, void *arg);

static int dev_walk(const char *path, int depth, region_fn fn, void *arg);

/* The nearest ancestor of @path named regionN; -ENOENT if none. */
static int region_walk(const char *path, region_fn fn, void *arg)
{
	char p[PATH_MAX];
	unsigned id;
	size_t len;

	if (pm_sysfs_region(path, &id, &len))
		return -ENOENT;
	if (len >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, len);
	p[len] = '\0';
	return fn(p, arg);
}

/* 1 if @path has no slaves, else the walk of each of them in turn. */
static int slaves_walk(const char *path, int depth, region_fn fn, void *arg)
{
	char dir[PATH_MAX], slave[PATH_MAX], res[PATH_MAX];
	struct dirent *de;
	int ret = 1, any = 0;
	DIR *d;

	if (pm_sysfs_path(dir, sizeof(dir), "%s/slaves", path))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return 1;
	while (!ret || ret == 1) {
		de = readdir(d);
		if (!de)
			break;
		if (de->d_name[0] == '.')
			continue;
		any = 1;
		if ((size_t)snprintf(slave, sizeof(slave), "%s/slaves/%s", path,
				     de->d_name) >= sizeof(slave))
			ret = -ENAMETOOLONG;
		else
			ret = pm_sysfs_resolve(slave, res, sizeof(res));
		if (!ret)
			ret = dev_walk(res, depth + 1, fn, arg);
	}
	closedir(d);
	return any ? ret : 1;
}

static int dev_walk(const char *path, int depth, region_fn fn, void *arg)
{
	int ret;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	ret = slaves_walk(path, depth, fn, arg);
	return ret == 1 ? region_walk(path, fn, arg) : ret;
}

/* Call @fn for every region behind device @dev (@chr: a character
 * device); 0 when all were walked, else the first non-zero answer. */
static int walk(dev_t dev, int chr, region_fn fn, void *arg)
{
	char path[PATH_MAX];
	int ret;

	if (major(dev) == 0)
		return -ENOENT; /* tmpfs, overlay, nfs: no device */
	ret = pm_sysfs_devno_path(dev, chr, path, sizeof(path));
	return ret ? ret : dev_walk(path, 0, fn, arg);
}

static int not_cpu_cache(const char *region, void *arg)
{
	char p[PATH_MAX], dom[32];

	(void)arg;
	if ((size_t)snprintf(p, sizeof(p), "%s/persistence_domain", region) >=
	    sizeof(p))
		return -ENAMETOOLONG;
	if (pm_sysfs_read(p, dom, sizeof(dom)) < 0 || strcmp(dom, "cpu_cache"))
		return -ENOENT;
	return 0;
}

int pm_map_eadr(dev_t dev, int chr)
{
	int ret = walk(dev, chr, not_cpu_cache, NULL);

	pm_dbg("device %u:%u is %sin the CPU-cache persistence domain",
	       major(dev), minor(dev), ret ? "not " : "");
	return !ret;
}

static int region_deep_flush(const char *region, void *arg)
{
	char p[PATH_MAX], v[8];
	int ret;

	(void)arg;
	if ((size_t)snprintf(p, sizeof(p), "%s/deep_flush", region) >=
	    sizeof(p))
		return -ENAMETOOLONG;
	ret = pm_sysfs_read(p, v, sizeof(v));
	if (ret == -ENOENT)
		return pm_err(-ENOTSUP, "%s has no deep_flush", region);
	if (ret < 0)
		return pm_err(ret, "%s: %s", p, pm_strerror(ret));
	/* "0": the kernel knows no flush past the memory controller here */
	if (strcmp(v, "1"))
		return pm_err(-ENOTSUP,
			      "%s: deep_flush reads \"%s\": the region has no "
			      "flush past the memory controller",
			      region, v);
	ret = pm_sysfs_write(p, "1");
	return ret ? pm_err(ret, "%s: write: %s", p, pm_strerror(ret)) : 0;
}

int pm_map_deep_flush(dev_t dev, int chr)
{
	int ret = walk(dev, chr, region_deep_flush, NULL);

	if (ret == -ENOENT || ret == -EXDEV)
		return pm_err(-ENOTSUP,
			      "device %u:%u is not on an nd region: no deep "
			      "flush",
			      major(dev), minor(dev));
	return ret;
}
