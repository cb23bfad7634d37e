/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * badblocks_ndctl.c - device-dax bad blocks through libndctl.  A dax
 * device has no per-device list: the region's list (sectors from the
 * region's start) is clipped to the device's span and shifted by its
 * offset in the region.  Read-only; nothing persistent is touched.
 *
 * /sys/dev/char/MAJ:MIN resolves (under PM_SYSFS_ROOT) to
 * .../regionR/daxR.N/daxR.M: the region and the nd dax device (daxR.N)
 * are found by name, then looked up in libndctl for their offsets; the
 * region's list is read and clipped by pm_bb_region() (badblocks.c).
 */
#include <limits.h>
#include <ndctl/libndctl.h>
#include <stdio.h>
#include <sys/sysmacros.h>

#include "badblocks.h"
#include "internal.h"
#include "sysfs.h"

/* The name of the parent of the last path component ("dax0.1"). */
static int nd_dax_name(const char *path, char *buf, size_t len)
{
	const char *end = strrchr(path, '/');
	const char *beg;

	if (!end || end == path)
		return -ENOENT;
	beg = end;
	while (beg > path && beg[-1] != '/')
		beg--;
	if ((size_t)(end - beg) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, beg, (size_t)(end - beg));
	buf[end - beg] = '\0';
	return 0;
}

static struct ndctl_dax *find_dax(struct ndctl_ctx *ctx, unsigned id,
				  const char *name)
{
	struct ndctl_region *region;
	struct ndctl_bus *bus;
	struct ndctl_dax *dax;

	ndctl_bus_foreach(ctx, bus)
		ndctl_region_foreach(bus, region) {
			if (ndctl_region_get_id(region) != id)
				continue;
			ndctl_dax_foreach(region, dax)
				if (!strcmp(ndctl_dax_get_devname(dax), name))
					return dax;
		}
	return NULL;
}

/* The region's list, clipped to the device and shifted by its offset in
 * the region (libndctl knows both; reading them needs root). */
static int region_ranges(struct ndctl_dax *dax, const char *region,
			 struct pm_bb_list *out)
{
	struct ndctl_region *r = ndctl_dax_get_region(dax);
	unsigned long long rres = ndctl_region_get_resource(r);
	unsigned long long dres = ndctl_dax_get_resource(dax);

	if (rres == ULLONG_MAX || dres == ULLONG_MAX || dres < rres)
		return pm_err(-EACCES,
			      "%s: region offsets unreadable (root "
			      "only)",
			      ndctl_dax_get_devname(dax));
	return pm_bb_region(region, dres - rres, ndctl_dax_get_size(dax), out);
}

int pm_bb_devdax(dev_t rdev, struct pm_bb_list *out)
{
	char p[64], path[PATH_MAX], name[64];
	struct ndctl_ctx *ctx;
	struct ndctl_dax *dax;
	unsigned id;
	size_t len;
	int ret;

	snprintf(p, sizeof(p), "/sys/dev/char/%u:%u", major(rdev), minor(rdev));
	if (pm_sysfs_resolve(p, path, sizeof(path)) ||
	    pm_sysfs_region(path, &id, &len) ||
	    nd_dax_name(path, name, sizeof(name))) {
		pm_dbg("%s is not a device-dax device of an nd region", p);
		return -ENOTSUP;
	}
	if (ndctl_new(&ctx))
		return -ENOTSUP;
	dax = find_dax(ctx, id, name);
	path[len] = '\0'; /* the region */
	if (dax)
		ret = region_ranges(dax, path, out);
	else
		ret = -ENOTSUP;
	ndctl_unref(ctx);
	return ret;
}
