/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * badblocks.h - bad ranges of a file (badblocks.c, badblocks_ndctl.c):
 * where the device says they are, what file offsets they are, and
 * clearing them.  Which pool structure they hit is bbmap.h's.
 */
#ifndef PM_BADBLOCKS_H
#define PM_BADBLOCKS_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libpm.h"

#define PM_SECTOR 512

/* A growable list of byte ranges. */
struct pm_bb_list {
	struct pm_badblock *v;
	size_t n;
	size_t cap;
};

int pm_bb_add(struct pm_bb_list *l, uint64_t off, uint64_t len);
/* Sort by offset and merge overlapping or touching ranges. */
void pm_bb_merge(struct pm_bb_list *l);
void pm_bb_list_free(struct pm_bb_list *l);

/*
 * Parse a sysfs "badblocks" text ("first_sector count" lines) and add each
 * range, as bytes relative to the sector @base, clipped to [@base, @base +
 * @nsect) (nsect 0: no upper bound).  -EBADMSG on a malformed line.
 */
int pm_bb_parse(const char *text, uint64_t base, uint64_t nsect,
		struct pm_bb_list *out);

/*
 * Bad ranges of the block device @dev (a pmem disk or a partition of one),
 * as bytes from the start of @dev.  -ENOTSUP if @dev cannot report bad
 * blocks.
 */
int pm_bb_blockdev(dev_t dev, struct pm_bb_list *out);

/*
 * Bad ranges of nd region @region (sysfs path, "/sys/devices/.../regionN")
 * that fall in [@off, @off + @size) of it, as bytes from @off: a device
 * carved out of the region at that offset.  -ENOTSUP if the region has no
 * badblocks attribute, -EINVAL if the range is not in whole sectors.
 */
int pm_bb_region(const char *region, uint64_t off, uint64_t size,
		 struct pm_bb_list *out);

/*
 * Bad ranges of the device-dax character device @rdev as bytes from its
 * start (badblocks_ndctl.c: region list minus the device's offset in the
 * region; badblocks_none.c: -ENOTSUP).
 */
int pm_bb_devdax(dev_t rdev, struct pm_bb_list *out);

/*
 * Translate device ranges @dev (bytes from the start of the file system's
 * block device) to file offsets of the regular file @fd with FIEMAP,
 * rounded out to @bsize.  -ENOTSUP if the file system has no FIEMAP.
 */
int pm_bb_fiemap(int fd, uint64_t bsize, const struct pm_bb_list *dev,
		 struct pm_bb_list *out);

/* The bad ranges of open file @fd as merged file offsets. */
int pm_bb_fd(int fd, struct pm_bb_list *out);

/*
 * Before clearing @bb in the file @fd (@path, for messages): lock the
 * file (it must be a regular file not open as a pool) and round @bb out
 * to whole file-system blocks inside the file: [*off, *off + *len).
 * -ENOTSUP for device-dax, -EBUSY if locked, -EINVAL past the end.
 */
int pm_bb_clear_span(int fd, const char *path, const struct pm_badblock *bb,
		     uint64_t *off, uint64_t *len);
/*
 * Replace [off, +len) of the file @fd by fresh zeroed blocks, durable
 * (fsync) on return; the old contents are lost, which is logged.
 */
int pm_bb_clear_range(int fd, const char *path, uint64_t off, uint64_t len);

#endif /* PM_BADBLOCKS_H */
