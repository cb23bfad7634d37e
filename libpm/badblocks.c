/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * badblocks.c - the kernel's bad-block list of the device behind a file,
 * translated to file offsets, and clearing a range of a file.  Device
 * level: what a range means to a pool is bbmap.c's.
 *
 * Invariant: a range is reported bad if any byte of the file's blocks maps
 * to a sector on the device's list (ranges are rounded out to whole file
 * system blocks, never in); a device that cannot tell gives -ENOTSUP,
 * never an empty list.  Clearing replaces whole blocks by zeroed ones and
 * is durable (fsync) before it returns; the old contents are lost.
 *
 * Source: st_dev -> /sys/dev/block/MAJ:MIN -> the pmem disk's "badblocks"
 * (512-byte sectors from the disk's start; a partition's start is
 * subtracted).  The list is not trusted to be current: entries may name
 * sectors the file no longer owns, so every listing maps through FIEMAP
 * afresh.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "badblocks.h"
#include "internal.h"
#include "os.h"
#include "sysfs.h"

#define BB_TEXT_MAX (64 * 1024)
#define FIEMAP_BATCH 64

int pm_bb_add(struct pm_bb_list *l, uint64_t off, uint64_t len)
{
	void *v;

	if (!len)
		return 0;
	v = pm_grow(l->v, &l->cap, l->n, sizeof(*l->v), 8);
	if (!v)
		return pm_err(-ENOMEM,
			      "bad-block list of %zu ranges: "
			      "out of memory",
			      l->n + 1);
	l->v = v;
	l->v[l->n].offset = off;
	l->v[l->n].length = len;
	l->n++;
	return 0;
}

static int bb_cmp(const void *a, const void *b)
{
	const struct pm_badblock *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

void pm_bb_merge(struct pm_bb_list *l)
{
	size_t i, o = 0;

	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(*l->v), bb_cmp);
	for (i = 1; i < l->n; i++) {
		struct pm_badblock *last = &l->v[o];
		uint64_t end = last->offset + last->length;

		if (l->v[i].offset <= end) {
			uint64_t e = l->v[i].offset + l->v[i].length;

			last->length = PM_MAX(end, e) - last->offset;
		} else {
			l->v[++o] = l->v[i];
		}
	}
	l->n = o + 1;
}

void pm_bb_list_free(struct pm_bb_list *l)
{
	pm_free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* One "first_sector count" line; clipped to [base, base + nsect). */
static int parse_line(const char *s, char **endp, uint64_t base, uint64_t nsect,
		      struct pm_bb_list *out)
{
	unsigned long long first, count;
	uint64_t lo, hi;
	char *e;

	errno = 0;
	first = strtoull(s, &e, 10);
	if (e == s || errno || (*e != ' ' && *e != '\t'))
		return -EBADMSG;
	s = e;
	count = strtoull(s, &e, 10);
	if (e == s || errno || !count || (*e && *e != '\n'))
		return -EBADMSG;
	*endp = e;
	lo = PM_MAX((uint64_t)first, base);
	if (pm_add_overflows(first, count, &hi))
		hi = UINT64_MAX;
	if (nsect && hi > base + nsect)
		hi = base + nsect;
	if (lo >= hi || hi - base > UINT64_MAX / PM_SECTOR)
		return 0;
	return pm_bb_add(out, (lo - base) * PM_SECTOR, (hi - lo) * PM_SECTOR);
}

int pm_bb_parse(const char *text, uint64_t base, uint64_t nsect,
		struct pm_bb_list *out)
{
	const char *s = text;
	unsigned line = 1;

	while (*s) {
		char *e;
		int ret;

		if (*s == '\n') {
			s++;
			line++;
			continue;
		}
		ret = parse_line(s, &e, base, nsect, out);
		if (ret == -EBADMSG)
			return pm_err(ret,
				      "badblocks line %u is not "
				      "\"first_sector count\"",
				      line);
		if (ret)
			return ret;
		s = e;
	}
	return 0;
}

static int read_u64(const char *dir, const char *attr, uint64_t *v)
{
	char p[PATH_MAX], buf[32];
	char *e;
	int ret;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, attr) >= sizeof(p))
		return -ENAMETOOLONG;
	ret = pm_sysfs_read(p, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	errno = 0;
	*v = strtoull(buf, &e, 10);
	return e == buf || *e || errno ? -EBADMSG : 0;
}

/* A partition has a "partition" attribute; its disk is the parent. */
static int find_disk(char *path, uint64_t *start, uint64_t *nsect)
{
	char p[PATH_MAX], num[32];
	char *slash;
	int ret;

	*start = *nsect = 0;
	if ((size_t)snprintf(p, sizeof(p), "%s/partition", path) >= sizeof(p))
		return -ENAMETOOLONG;
	ret = pm_sysfs_read(p, num, sizeof(num));
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return pm_err(ret, "%s: %s", p, pm_strerror(ret));
	ret = read_u64(path, "start", start);
	if (!ret)
		ret = read_u64(path, "size", nsect);
	if (ret)
		return pm_err(ret, "%s: partition start/size unreadable", path);
	slash = strrchr(path, '/');
	if (!slash || slash == path)
		return -ENOTSUP;
	*slash = '\0';
	return 0;
}

static int read_badblocks(const char *disk, uint64_t start, uint64_t nsect,
			  struct pm_bb_list *out)
{
	char p[PATH_MAX];
	char *text;
	int ret;

	if ((size_t)snprintf(p, sizeof(p), "%s/badblocks", disk) >= sizeof(p))
		return -ENAMETOOLONG;
	text = pm_malloc(BB_TEXT_MAX);
	if (!text)
		return pm_err(-ENOMEM, "%s: out of memory", p);
	ret = pm_sysfs_read(p, text, BB_TEXT_MAX);
	if (ret == -ENOENT) {
		pm_dbg("%s: no badblocks attribute", disk);
		ret = -ENOTSUP;
	} else if (ret >= 0) {
		ret = pm_bb_parse(text, start, nsect, out);
	} else {
		ret = pm_err(ret, "%s: %s", p, pm_strerror(ret));
	}
	pm_free(text);
	return ret;
}

int pm_bb_region(const char *region, uint64_t off, uint64_t size,
		 struct pm_bb_list *out)
{
	if (off % PM_SECTOR || size % PM_SECTOR || !size)
		return pm_err(-EINVAL,
			      "%s: device range %" PRIu64 "+%" PRIu64
			      " is not in whole sectors",
			      region, off, size);
	return read_badblocks(region, off / PM_SECTOR, size / PM_SECTOR, out);
}

int pm_bb_blockdev(dev_t dev, struct pm_bb_list *out)
{
	char path[PATH_MAX];
	uint64_t start, nsect;
	int ret = pm_sysfs_dev_path(dev, path, sizeof(path));

	if (ret == -ENOENT || ret == -ENOTDIR || ret == -EXDEV) {
		pm_dbg("device %u:%u is not a block device in sysfs",
		       major(dev), minor(dev));
		return -ENOTSUP;
	}
	if (ret)
		return ret;
	ret = find_disk(path, &start, &nsect);
	if (ret)
		return ret;
	return read_badblocks(path, start, nsect, out);
}

/* Add the part of each device range that falls in extent @fe. */
static int map_extent(const struct fiemap_extent *fe, uint64_t bsize,
		      const struct pm_bb_list *dev, struct pm_bb_list *out)
{
	uint64_t pend = fe->fe_physical + fe->fe_length;
	size_t i;
	int ret;

	if (fe->fe_flags &
	    (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_ENCODED |
	     FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL |
	     FIEMAP_EXTENT_NOT_ALIGNED))
		return 0;
	for (i = 0; i < dev->n; i++) {
		uint64_t lo = PM_MAX(dev->v[i].offset, fe->fe_physical);
		uint64_t hi = PM_MIN(dev->v[i].offset + dev->v[i].length, pend);
		uint64_t off, end;

		if (lo >= hi)
			continue;
		off = fe->fe_logical + (lo - fe->fe_physical);
		end = off + (hi - lo);
		off = PM_ALIGN_DOWN(off, bsize);
		end = PM_ALIGN_UP(end, bsize);
		ret = pm_bb_add(out, off, end - off);
		if (ret)
			return ret;
	}
	return 0;
}

/* One FIEMAP call from @start; *next is where the next one starts, or
 * UINT64_MAX after the last extent. */
static int fiemap_batch(int fd, struct fiemap *fm, uint64_t start,
			uint64_t *next, uint64_t bsize,
			const struct pm_bb_list *dev, struct pm_bb_list *out)
{
	const struct fiemap_extent *fe;
	uint32_t i;
	int ret;

	/* The extents too: the kernel writes only the mapped ones, and
	 * memcheck, which knows FS_IOC_FIEMAP only by its 32-byte header,
	 * would call even those undefined. */
	memset(fm, 0, sizeof(*fm) + FIEMAP_BATCH * sizeof(fm->fm_extents[0]));
	fm->fm_start = start;
	fm->fm_length = FIEMAP_MAX_OFFSET - start;
	fm->fm_flags = start ? 0 : FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = FIEMAP_BATCH;
	if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
		ret = -errno;
		if (ret == -EOPNOTSUPP || ret == -ENOTTY)
			return -ENOTSUP;
		return pm_err(ret, "FIEMAP: %s", pm_strerror(ret));
	}
	*next = UINT64_MAX;
	for (i = 0; i < fm->fm_mapped_extents; i++) {
		fe = &fm->fm_extents[i];
		ret = map_extent(fe, bsize, dev, out);
		if (ret)
			return ret;
		if (fe->fe_flags & FIEMAP_EXTENT_LAST)
			return 0;
	}
	if (fm->fm_mapped_extents == FIEMAP_BATCH) {
		fe = &fm->fm_extents[FIEMAP_BATCH - 1];
		*next = fe->fe_logical + fe->fe_length;
	}
	return 0;
}

int pm_bb_fiemap(int fd, uint64_t bsize, const struct pm_bb_list *dev,
		 struct pm_bb_list *out)
{
	struct fiemap *fm;
	uint64_t start = 0;
	int ret;

	fm = pm_malloc(sizeof(*fm) +
		       FIEMAP_BATCH * sizeof(struct fiemap_extent));
	if (!fm)
		return pm_err(-ENOMEM, "FIEMAP buffer: out of memory");
	do {
		ret = fiemap_batch(fd, fm, start, &start, bsize, dev, out);
	} while (!ret && start != UINT64_MAX);
	pm_free(fm);
	if (!ret)
		pm_bb_merge(out);
	return ret;
}

static uint64_t fs_block(int fd, const struct stat *st)
{
	struct statfs sf;
	uint64_t b = (uint64_t)st->st_blksize;

	if (!fstatfs(fd, &sf) && sf.f_bsize > 0)
		b = (uint64_t)sf.f_bsize;
	if (b < PM_SECTOR || (b & (b - 1)))
		b = 4096;
	return b;
}

static int regular_file(int fd, const struct stat *st, struct pm_bb_list *out)
{
	struct pm_bb_list dev = { 0 };
	int ret = pm_bb_blockdev(st->st_dev, &dev);

	if (!ret && dev.n)
		ret = pm_bb_fiemap(fd, fs_block(fd, st), &dev, out);
	pm_bb_list_free(&dev);
	return ret;
}

int pm_bb_fd(int fd, struct pm_bb_list *out)
{
	struct stat st;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode))
		ret = regular_file(fd, &st, out);
	else if (S_ISBLK(st.st_mode))
		ret = pm_bb_blockdev(st.st_rdev, out);
	else if (S_ISCHR(st.st_mode))
		ret = pm_bb_devdax(st.st_rdev, out);
	else
		ret = -ENOTSUP;
	if (!ret)
		pm_bb_merge(out);
	return ret;
}

/**
 * pm_badblocks_list - bad ranges of a file as file offsets
 * @path: a file on a pmem file system, or a device-dax device
 * @bbs: set to an array to be freed with pm_badblocks_free()
 * @nbbs: set to the number of entries (0: no bad blocks)
 *
 * Ranges are whole file-system blocks, sorted and merged.
 *
 * Return: 0, -ENOTSUP if the device behind @path cannot report bad blocks,
 * or another negative errno.
 */
PM_EXPORT int pm_badblocks_list(const char *path, struct pm_badblock **bbs,
				size_t *nbbs)
{
	struct pm_bb_list l = { 0 };
	int fd, ret;

	if (!path || !bbs || !nbbs)
		return pm_err(-EINVAL, "pm_badblocks_list: NULL argument");
	*bbs = NULL;
	*nbbs = 0;
	fd = pm_os_open_file(path, O_RDONLY, 0, PM_OS_DEV);
	if (fd < 0)
		return fd;
	ret = pm_bb_fd(fd, &l);
	close(fd);
	if (ret) {
		pm_bb_list_free(&l);
		return ret;
	}
	*bbs = l.v;
	*nbbs = l.n;
	return 0;
}

/**
 * pm_badblocks_free - free a list from pm_badblocks_list()
 * @bbs: the list, or NULL
 */
PM_EXPORT void pm_badblocks_free(struct pm_badblock *bbs)
{
	pm_free(bbs);
}

static int write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const char zero[4096];

	while (len) {
		size_t n = (size_t)PM_MIN(len, sizeof(zero));
		ssize_t w = pm_os_pwrite(fd, zero, n, (off_t)off);

		if (w == -EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? (int)w : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/*
 * Punch the blocks out, commit that, then write them whole: the file
 * system hands out zeroed blocks, and if it hands back the same ones the
 * write goes through the driver, which clears their poison.
 */
static int fresh_blocks(int fd, uint64_t off, uint64_t len, uint64_t fsize)
{
	uint64_t wlen = off < fsize ? PM_MIN(len, fsize - off) : 0;
	int ret;

	ret = pm_os_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)off, (off_t)len);
	if (ret)
		return pm_err(ret, "punching [%#llx, +%#llx): %s",
			      (unsigned long long)off, (unsigned long long)len,
			      pm_strerror(ret));
	ret = pm_os_fsync(fd);
	if (!ret)
		ret = write_zeros(fd, off, wlen);
	if (!ret && wlen < len)
		ret = pm_os_fallocate(fd, FALLOC_FL_KEEP_SIZE,
				      (off_t)(off + wlen), (off_t)(len - wlen));
	if (ret)
		return pm_err(ret, "reallocating [%#llx, +%#llx): %s",
			      (unsigned long long)off, (unsigned long long)len,
			      pm_strerror(ret));
	ret = pm_os_fsync(fd);
	if (ret)
		return pm_err(ret, "fsync after clearing: %s",
			      pm_strerror(ret));
	return 0;
}

int pm_bb_clear_span(int fd, const char *path, const struct pm_badblock *bb,
		     uint64_t *off, uint64_t *len)
{
	struct stat st;
	uint64_t bsize, end, fend;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return pm_err(-ENOTSUP,
			      "%s: only files on a file system can "
			      "be cleared (device-dax needs the firmware's "
			      "clear-error command)",
			      path);
	ret = pm_os_flock(fd, LOCK_EX | LOCK_NB);
	if (ret)
		return pm_err(ret == -EWOULDBLOCK ? -EBUSY : ret,
			      "%s: in use (pool open?)", path);
	bsize = fs_block(fd, &st);
	fend = PM_ALIGN_UP((uint64_t)st.st_size, bsize);
	*off = PM_ALIGN_DOWN(bb->offset, bsize);
	end = PM_ALIGN_UP(bb->offset + bb->length, bsize);
	if (*off >= fend)
		return pm_err(-EINVAL, "%s: offset %#llx is past the end", path,
			      (unsigned long long)bb->offset);
	*len = PM_MIN(end, fend) - *off;
	return 0;
}

int pm_bb_clear_range(int fd, const char *path, uint64_t off, uint64_t len)
{
	struct stat st;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	ret = fresh_blocks(fd, off, len, (uint64_t)st.st_size);
	if (ret)
		return ret;
	pm_warn("%s: cleared [%#llx, +%#llx): its contents are lost (zero)",
		path, (unsigned long long)off, (unsigned long long)len);
	return 0;
}
