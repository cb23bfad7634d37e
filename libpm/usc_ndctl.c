/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * usc_ndctl.c - the dirty-shutdown count of the DIMMs behind a file,
 * through libndctl.  The file's device is found under PM_SYSFS_ROOT
 * (/sys/dev/block or /sys/dev/char, resolved to .../regionN/...); the
 * region's DIMMs are then read through libndctl.  Read-only.
 *
 * A region without DIMMs (legacy e820 memory) or a DIMM without the
 * counter cannot tell; so cannot a device outside any nd region.
 */
#include <limits.h>
#include <ndctl/libndctl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "crc.h"
#include "internal.h"
#include "sysfs.h"
#include "usc.h"

static int device_region(int fd, unsigned *id)
{
	char path[PATH_MAX];
	struct stat st;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	ret = pm_sysfs_devno_path(S_ISREG(st.st_mode) ? st.st_dev : st.st_rdev,
				  S_ISCHR(st.st_mode), path, sizeof(path));
	if (ret || pm_sysfs_region(path, id, NULL))
		return -ENOTSUP;
	return 0;
}

static struct ndctl_region *find_region(struct ndctl_ctx *ctx, unsigned id)
{
	struct ndctl_region *region;
	struct ndctl_bus *bus;

	ndctl_bus_foreach(ctx, bus)
		ndctl_region_foreach(bus, region)
			if (ndctl_region_get_id(region) == id)
				return region;
	return NULL;
}

static int sum_dimms(struct ndctl_region *region, uint64_t *usc, uint64_t *id)
{
	struct ndctl_dimm *dimm;
	uint32_t h = ~0U;
	unsigned n = 0;

	*usc = 0;
	ndctl_dimm_foreach_in_region(region, dimm) {
		long long c = ndctl_dimm_get_dirty_shutdown(dimm);
		const char *uid = ndctl_dimm_get_unique_id(dimm);

		if (c < 0)
			return -ENOTSUP;
		*usc += (uint64_t)c;
		if (uid)
			h = pm_crc_update(h, uid, strlen(uid) + 1);
		n++;
	}
	*id = ((uint64_t)n << 32) | pm_crc_final(h);
	return n ? 0 : -ENOTSUP;
}

int pm_usc_read(int fd, uint64_t *usc, uint64_t *id)
{
	struct ndctl_region *region;
	struct ndctl_ctx *ctx;
	unsigned rid;
	int ret = device_region(fd, &rid);

	*usc = *id = 0;
	if (ret)
		return ret;
	ret = ndctl_new(&ctx);
	if (ret)
		return ret == -ENOMEM ? ret : -ENOTSUP;
	region = find_region(ctx, rid);
	ret = region ? sum_dimms(region, usc, id) : -ENOTSUP;
	ndctl_unref(ctx);
	return ret;
}
