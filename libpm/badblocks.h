/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * badblocks.h - bad ranges of a file: where the device says they are, what
 * file offsets they are, which pool structure they hit.
 */
#ifndef PM_BADBLOCKS_H
#define PM_BADBLOCKS_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libpm.h"

struct pm_pool;

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
 * At open, after the header is validated: list the pool file's bad
 * blocks into pool->bbs/nbbs/bb_status, each split by the structure it
 * hits, and apply the policy: metadata with no stand-in (both header
 * copies, a lane, the log area) gives PM_E_BADBLOCKS unless
 * PM_POOL_IGNORE_BADBLOCKS; one header copy or user data only warns.  A
 * device that cannot tell never blocks the open.
 */
int pm_bb_pool_open(struct pm_pool *pool);

/*
 * What the file @fd is (bbmap.c): PM_BB_POOL if a header copy has the
 * pool magic; PM_BB_POOL_HDRS_LOST if neither copy is valid and both are
 * unreadable (EIO, or on the file's bad-block list), so that it may be a
 * pool whose headers are lost; else PM_BB_NOT_POOL.  -ENOMEM if the
 * file's bad blocks could not be listed for want of memory.
 */
enum { PM_BB_NOT_POOL, PM_BB_POOL, PM_BB_POOL_HDRS_LOST };
int pm_bb_pool_probe(int fd);

/*
 * Before [off, +len) of the file @fd is cleared (bbmap.c): name the pool
 * structures in it that will lose their contents, into @buf ("" for none
 * or a file that is not a pool).  0 or -ENOMEM: the allocation is made
 * here, before anything is changed.
 */
int pm_bb_pool_describe(int fd, uint64_t off, uint64_t len, char *buf,
			size_t size);

/*
 * After [off, +len) of the file @fd was cleared (bbmap.c): if it is (or,
 * per @was_pool from pm_bb_pool_probe(), was) a pool, rewrite a header
 * copy in the range from the other copy and log @lost (from
 * pm_bb_pool_describe()).  0, PM_E_CORRUPT if no copy is valid (saying
 * that the headers are lost if both were unreadable), or -errno of the
 * rewrite; allocates nothing.
 */
int pm_bb_pool_cleared(int fd, const char *path, uint64_t off,
		       uint64_t len, int was_pool, const char *lost);

#endif /* PM_BADBLOCKS_H */
