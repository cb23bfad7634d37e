/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eadr.c - is the file's memory in the CPU-cache persistence domain?  Only
 * the regions behind the file's own device count, and every one of them
 * must say "cpu_cache"; any doubt answers no (flushing is never wrong).
 *
 * /sys/dev/block/MAJ:MIN resolves to .../ndbusN/regionN/namespaceN.M/block/
 * pmemN (a partition is one level further down); a device-mapper or md
 * device lists what it is built on in slaves/, and each of those must
 * qualify in turn.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "eadr.h"
#include "sysfs.h"

#define MAX_DEPTH 8

static int dev_eadr(const char *path, int depth);

/* The nearest ancestor of @path named regionN decides. */
static int region_eadr(const char *path)
{
	char p[PATH_MAX], dom[32];
	unsigned id;
	size_t len;

	if (pm_sysfs_region(path, &id, &len) ||
	    (size_t)snprintf(p, sizeof(p), "%.*s/persistence_domain", (int)len,
			     path) >= sizeof(p))
		return 0;
	return pm_sysfs_read(p, dom, sizeof(dom)) >= 0 &&
	       !strcmp(dom, "cpu_cache");
}

/* -1 if @path has no slaves, else 1 if all of them qualify, 0 if not. */
static int slaves_eadr(const char *path, int depth)
{
	char dir[PATH_MAX], slave[PATH_MAX], res[PATH_MAX];
	struct dirent *de;
	int ret = -1;
	DIR *d;

	if (pm_sysfs_path(dir, sizeof(dir), "%s/slaves", path))
		return 0;
	d = opendir(dir);
	if (!d)
		return -1;
	while (ret != 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		ret = (size_t)snprintf(slave, sizeof(slave), "%s/slaves/%s",
				       path, de->d_name) < sizeof(slave) &&
		      !pm_sysfs_resolve(slave, res, sizeof(res)) &&
		      dev_eadr(res, depth + 1) == 1;
	}
	closedir(d);
	return ret;
}

static int dev_eadr(const char *path, int depth)
{
	int ret;

	if (depth > MAX_DEPTH)
		return 0;
	ret = slaves_eadr(path, depth);
	return ret >= 0 ? ret : region_eadr(path);
}

int pm_map_eadr(dev_t dev)
{
	char path[PATH_MAX];
	int ret;

	if (major(dev) == 0)
		return 0; /* tmpfs, overlay, nfs: no block device */
	if (pm_sysfs_dev_path(dev, path, sizeof(path)))
		return 0;
	ret = dev_eadr(path, 0);
	pm_dbg("device %u:%u (%s) is %sin the CPU-cache persistence domain",
	       major(dev), minor(dev), path, ret == 1 ? "" : "not ");
	return ret == 1;
}
