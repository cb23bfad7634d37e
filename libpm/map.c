/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map.c - open, size and map a file; decide the persistence granularity.
 * Invariant: a mapping never claims a finer granularity than the platform
 * gives.  CACHELINE only when MAP_SYNC succeeded (or forced), BYTE only
 * when every region behind the file is in the CPU-cache persistence
 * domain; anything else is PAGE (msync).  A device-dax device is DAX by
 * nature: it is mapped as it is (size and alignment from sysfs, never
 * resized), never PAGE (msync cannot write it back: refused), and
 * "created" on only when its first page is zero.  A watcher
 * (the crash simulator) sees every mapping made while it is set and every
 * watched one go.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "arch.h"
#include "eadr.h"
#include "os.h"
#include "map.h"
#include "safe.h"
#include "sysfs.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static const struct pm_map_watch *watch;

/* sim.c: the simulator starts or stops watching (NULL). */
void pm_map_watch_set(const struct pm_map_watch *w)
{
	__atomic_store_n(&watch, w, __ATOMIC_RELEASE);
}

/* A watched mapping goes away (unless the watch just stopped). */
static void watch_gone(struct pm_map *m)
{
	const struct pm_map_watch *w = __atomic_load_n(&watch,
						       __ATOMIC_ACQUIRE);

	if (w)
		w->gone(m);
}

static const struct {
	long magic;
	const char *name;
} fs_names[] = {
	{ 0xEF53, "ext4" },	 { 0x58465342, "xfs" },
	{ 0x01021994, "tmpfs" }, { 0x9123683E, "btrfs" },
	{ 0x858458f6, "ramfs" }, { 0x6969, "nfs" },
	{ 0x65735546, "fuse" },	 { 0x794c7630, "overlay" },
	{ 0x2FC12FC1, "zfs" },	 { 0x4d44, "vfat" },
};

static void fs_name(int fd, char *buf, size_t len)
{
	struct statfs sf;

	snprintf(buf, len, "unknown");
	if (fstatfs(fd, &sf))
		return;
	for (size_t i = 0; i < PM_ARRAY_SIZE(fs_names); i++)
		if ((long)sf.f_type == fs_names[i].magic) {
			snprintf(buf, len, "%s", fs_names[i].name);
			return;
		}
	snprintf(buf, len, "0x%lx", (long)sf.f_type);
}

/* PM_FORCE_GRANULARITY=byte|cacheline|page; -1 if unset. */
static int forced_granularity(void)
{
	const char *v = pm_getenv("PM_FORCE_GRANULARITY");

	if (!v || !*v)
		return -1;
	if (!strcasecmp(v, "byte"))
		return PM_GRANULARITY_BYTE;
	if (!strcasecmp(v, "cacheline") || !strcasecmp(v, "cache_line"))
		return PM_GRANULARITY_CACHELINE;
	if (!strcasecmp(v, "page"))
		return PM_GRANULARITY_PAGE;
	pm_warn("PM_FORCE_GRANULARITY=%s not understood, ignored", v);
	return -1;
}

static int no_size(const char *path)
{
	return pm_err(-EINVAL,
		      "%s: size 0 (all of it) is only for a device-dax device: "
		      "give a size",
		      path);
}

static int size_file(int fd, size_t size)
{
	int ret = pm_os_fallocate(fd, 0, 0, (off_t)size);

	if (ret == -EOPNOTSUPP)
		ret = pm_os_ftruncate(fd, (off_t)size);
	return ret;
}

/* Open (or create: *createdp says whether this call made the file); a
 * file that exists must be a regular one or a character device (checked
 * for device-dax later).  With PM_MAP_EXCL only a device may exist.
 * PM_MAP_CREATE without a size creates nothing: only a device-dax device
 * can be taken whole.  Failures are logged. */
static int open_fd(const char *path, unsigned flags, size_t size, int *createdp)
{
	int oflags = (flags & PM_MAP_READONLY) ? O_RDONLY : O_RDWR;
	struct stat st;
	int fd;

	*createdp = 0;
	if ((flags & PM_MAP_CREATE) && size) {
		/* O_EXCL: what this opens is the regular file it made */
		fd = pm_os_open(path, oflags | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			*createdp = 1;
			return fd;
		}
		if (fd == -ENOENT)
			return pm_err(fd, "%s: directory does not exist", path);
		if (fd != -EEXIST ||
		    ((flags & PM_MAP_EXCL) &&
		     (stat(path, &st) || !S_ISCHR(st.st_mode))))
			return pm_err(fd, "%s: %s", path, pm_strerror(fd));
	}
	fd = pm_os_open_file(path, oflags, 0, PM_OS_DEV);
	if (fd == -ENOENT && (flags & PM_MAP_CREATE))
		return no_size(path);
	if (fd >= 0 && !fstat(fd, &st) && S_ISBLK(st.st_mode)) {
		close(fd);
		return pm_err(-EINVAL,
			      "%s: a block device: map a file on a DAX file "
			      "system on it, or a device-dax device",
			      path);
	}
	return fd;
}

/* A decimal number of bytes from sysfs attribute @dir/@name. */
static int sysfs_u64(const char *dir, const char *name, uint64_t *v)
{
	char p[PATH_MAX], buf[32], *end;
	int ret;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
		return -ENAMETOOLONG;
	ret = pm_sysfs_read(p, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	errno = 0;
	*v = strtoull(buf, &end, 0);
	return errno || end == buf || *end ? -EINVAL : 0;
}

/* Size and alignment of device-dax device @rdev, from its sysfs device
 * (.../daxR.N/daxR.M: "size", "align" or else the region's). */
static int devdax_geometry(const char *path, dev_t rdev, uint64_t *size,
			   uint64_t *align)
{
	char dev[PATH_MAX], *base;
	int ret = pm_sysfs_devno_path(rdev, 1, dev, sizeof(dev));

	base = ret ? NULL : strrchr(dev, '/');
	if (!base || strncmp(base + 1, "dax", 3) ||
	    sysfs_u64(dev, "size", size))
		return pm_err(-EINVAL,
			      "%s: a character device (%u:%u), not a regular "
			      "file or a device-dax device",
			      path, major(rdev), minor(rdev));
	if (sysfs_u64(dev, "align", align)) {
		*base = '\0';
		if (sysfs_u64(dev, "dax_region/align", align))
			return pm_err(-EINVAL,
				      "%s: device-dax alignment unreadable "
				      "in sysfs",
				      path);
	}
	if (!*align || (*align & (*align - 1)) || *size < *align)
		return pm_err(-EINVAL,
			      "%s: device-dax size %" PRIu64 " and alignment "
			      "%" PRIu64 " do not fit",
			      path, *size, *align);
	*size -= *size % *align; /* only whole units can be mapped */
	return 0;
}

/* Settle m->size against a device-dax device: whole aligned units of
 * what it holds (0: all of them, also for PM_MAP_CREATE), never
 * resized. */
static int check_devdax(struct pm_map *m, const struct stat *st)
{
	uint64_t size, align;
	int ret = devdax_geometry(m->path, st->st_rdev, &size, &align);

	if (ret)
		return ret;
	if (m->size == 0) {
		if (size > SIZE_MAX)
			return pm_err(-EFBIG, "%s: too large to map", m->path);
		m->size = (size_t)size;
	} else if ((uint64_t)m->size > size) {
		return pm_err(-ENOSPC,
			      "%s: device-dax holds %" PRIu64 " bytes, %zu "
			      "asked",
			      m->path, size, m->size);
	} else if (m->size % align) {
		return pm_err(-EINVAL,
			      "%s: %zu bytes is not a multiple of the "
			      "device-dax alignment %" PRIu64,
			      m->path, m->size, align);
	}
	m->devdax = 1;
	return 0;
}

/* Settle m->size against the file's size, growing the file if asked.
 * Every failure is logged. */
static int check_size(struct pm_map *m, const struct stat *st)
{
	int ret;

	if (S_ISCHR(st->st_mode))
		return check_devdax(m, st);
	if (!S_ISREG(st->st_mode))
		return pm_err(-EINVAL, "%s: not a regular file", m->path);
	if (m->size == 0 && (m->flags & PM_MAP_CREATE))
		return no_size(m->path);
	if (m->size == 0) {
		if (st->st_size == 0)
			return pm_err(-EINVAL,
				      "%s: empty file and no size given",
				      m->path);
		if ((uint64_t)st->st_size > SIZE_MAX)
			return pm_err(-EFBIG, "%s: too large to map", m->path);
		m->size = (size_t)st->st_size;
		return 0;
	}
	if ((uint64_t)st->st_size >= m->size)
		return 0;
	if (m->flags & PM_MAP_READONLY)
		return pm_err(-EINVAL, "%s: file is %lld bytes, %zu asked",
			      m->path, (long long)st->st_size, m->size);
	if (m->size > (size_t)LLONG_MAX)
		return pm_err(-EFBIG, "%s: size %zu too large", m->path,
			      m->size);
	ret = size_file(m->fd, m->size);
	if (ret)
		pm_err(ret, "%s: cannot grow to %zu bytes: %s", m->path,
		       m->size, pm_strerror(ret));
	return ret;
}

/* Open, size and stat the file into m->fd, m->size, m->dev, m->fs_type.
 * A file this call created is removed again on failure. */
static int open_file(struct pm_map *m)
{
	struct stat st = { 0 };
	int created, ret;

	m->fd = open_fd(m->path, m->flags, m->size, &created);
	if (m->fd < 0)
		return m->fd;
	if (fstat(m->fd, &st))
		ret = pm_err(-errno, "%s: stat: %s", m->path, strerror(errno));
	else
		ret = check_size(m, &st); /* says why */
	if (ret)
		goto err;
	if (m->devdax) {
		m->dev = st.st_rdev;
		snprintf(m->fs_type, sizeof(m->fs_type), "devdax");
	} else {
		m->dev = st.st_dev;
		fs_name(m->fd, m->fs_type, sizeof(m->fs_type));
	}
	m->created = created;
	return 0;
err:
	close(m->fd);
	if (created)
		unlink(m->path);
	return ret;
}

static int map_file(struct pm_map *m)
{
	int prot = PROT_READ | ((m->flags & PM_MAP_READONLY) ? 0 : PROT_WRITE);
	void *addr = NULL;
	int ret;

	if (m->devdax) { /* always DAX: MAP_SYNC adds nothing */
		ret = pm_os_mmap(&addr, m->size, prot, MAP_SHARED, m->fd, 0);
		if (ret)
			return pm_err(ret, "%s: mmap of device-dax: %s",
				      m->path, pm_strerror(ret));
		m->addr = addr;
		return 0;
	}
	/* Read-only mappings try MAP_SYNC too: it is how a reader (pmtool
	 * info, pmck) learns that the file is on real DAX. */
	ret = pm_os_mmap(&addr, m->size, prot, MAP_SHARED_VALIDATE | MAP_SYNC,
			 m->fd, 0);
	if (ret == 0) {
		m->addr = addr;
		m->map_sync = 1;
		return 0;
	}
	if (ret != -EOPNOTSUPP && ret != -EINVAL)
		return pm_err(ret, "%s: mmap: %s", m->path, pm_strerror(ret));
	if (m->flags & PM_MAP_SYNC_REQUIRED)
		return pm_err(PM_E_NOT_DAX,
			      "%s: MAP_SYNC is not supported on this %s file "
			      "system (not DAX), and PM_MAP_SYNC_REQUIRED was "
			      "given",
			      m->path, m->fs_type);
	addr = NULL;
	ret = pm_os_mmap(&addr, m->size, prot, MAP_SHARED, m->fd, 0);
	if (ret)
		return pm_err(ret, "%s: mmap of %zu bytes: %s", m->path,
			      m->size, pm_strerror(ret));
	m->addr = addr;
	return 0;
}

/* PM_MAP_EXCL on device-dax: what the caller would format must hold
 * nothing yet (its first page is zero), or it is -EEXIST.  The page is
 * read through the SIGBUS guard: a bad block there costs -EIO, not the
 * process. */
static int devdax_unused(const struct pm_map *m)
{
	uint8_t page[4096];
	size_t n = PM_MIN(m->size, sizeof(page));

	if (pm_safe_copy(page, m->addr, n))
		return pm_err(-EIO,
			      "%s: device-dax first page unreadable (bad "
			      "block?): not formatted",
			      m->path);
	for (size_t i = 0; i < n; i++)
		if (page[i])
			return pm_err(-EEXIST,
				      "%s: device-dax holds data (its first "
				      "page is not zero): not overwritten",
				      m->path);
	return 0;
}

/* Device-dax has no fsync, so msync() fails there: a PAGE mapping of it
 * could never persist, and is refused now rather than at the first
 * write-back. */
static int devdax_no_page(const struct pm_map *m)
{
	if (m->forced)
		return pm_err(-ENOTSUP,
			      "%s: PM_FORCE_GRANULARITY=page cannot work on "
			      "device-dax (msync does not write it back): "
			      "unset it or force cacheline",
			      m->path);
	return pm_err(-ENOTSUP,
		      "%s: this CPU has no cache-flush instruction and msync "
		      "does not write device-dax back: it cannot be made "
		      "durable",
		      m->path);
}

static int choose_granularity(struct pm_map *m)
{
	int f = forced_granularity();

	if (f >= 0) {
		m->gran = (enum pm_granularity)f;
		m->forced = 1;
	} else if (!m->map_sync && !m->devdax) {
		m->gran = PM_GRANULARITY_PAGE;
	} else if (pm_map_eadr(m->dev, m->devdax)) {
		m->gran = PM_GRANULARITY_BYTE;
	} else {
		/* without a flush instruction only msync writes back */
		m->gran = pm_arch.flush_none ? PM_GRANULARITY_PAGE :
					       PM_GRANULARITY_CACHELINE;
	}
	if (m->devdax && m->gran == PM_GRANULARITY_PAGE)
		return devdax_no_page(m);
	m->ops = pm_persist_ops_for(m->gran);
	return 0;
}

/**
 * pm_map_file - open (or create) a file, size it and map it
 * @path: the file
 * @size: bytes to map; 0 maps the whole existing file or device-dax device
 * @flags: PM_MAP_CREATE, PM_MAP_EXCL, PM_MAP_SYNC_REQUIRED, PM_MAP_READONLY
 * @mapp: receives the mapping
 *
 * Tries MAP_SHARED_VALIDATE|MAP_SYNC first and chooses the persistence
 * granularity (see libpm(7)).  @path may be a device-dax device
 * (/dev/daxX.Y): its size (0: all of it, rounded down to its alignment,
 * also with PM_MAP_CREATE) must be a multiple of its alignment, it is
 * never resized, and PM_MAP_CREATE|PM_MAP_EXCL accepts it only while its
 * first page is zero.  On failure nothing stays mapped or
 * open, and a file this call created is removed.
 *
 * Return: 0 or -errno (-EEXIST: the file exists or the device-dax device
 * holds data; -EIO: its first page is unreadable; -ENOSPC: the device is
 * smaller than @size; -ENOTSUP: page granularity, forced or for want of
 * a flush instruction, on device-dax), PM_E_NOT_DAX.
 */
PM_EXPORT int pm_map_file(const char *path, size_t size, unsigned flags,
			  struct pm_map **mapp)
{
	const struct pm_map_watch *w;
	struct pm_map *m;
	int ret;

	if (!path || !mapp)
		return pm_err(-EINVAL, "pm_map_file: NULL argument");
	if (flags & ~PM_MAP_VALID)
		return pm_err(-EINVAL, "pm_map_file: unknown flags 0x%x",
			      flags & ~PM_MAP_VALID);
	if ((flags & PM_MAP_EXCL) && !(flags & PM_MAP_CREATE))
		return pm_err(-EINVAL, "pm_map_file: EXCL without CREATE");
	if ((flags & PM_MAP_READONLY) && (flags & PM_MAP_CREATE))
		return pm_err(-EINVAL, "pm_map_file: READONLY with CREATE");
	m = pm_zalloc(sizeof(*m));
	if (!m)
		return pm_err(-ENOMEM, "pm_map_file: out of memory");
	m->flags = flags;
	m->size = size;
	m->path = pm_strdup(path);
	if (!m->path) {
		ret = pm_err(-ENOMEM, "pm_map_file: out of memory");
		goto err_free;
	}
	ret = open_file(m);
	if (ret)
		goto err_free;
	ret = map_file(m);
	if (ret)
		goto err_close;
	ret = choose_granularity(m);
	if (!ret && m->devdax && (flags & PM_MAP_EXCL))
		ret = devdax_unused(m);
	if (ret)
		goto err_unmap;
	w = __atomic_load_n(&watch, __ATOMIC_ACQUIRE);
	if (PM_UNLIKELY(w != NULL))
		w->created(m);
	*mapp = m;
	return 0;
err_unmap:
	munmap(m->addr, m->size);
err_close:
	close(m->fd);
	if (m->created)
		unlink(path);
err_free:
	pm_free(m->path);
	pm_free(m);
	return ret;
}

PM_EXPORT void pm_unmap(struct pm_map *map)
{
	if (!map)
		return;
	if (PM_UNLIKELY(map->sim != NULL))
		watch_gone(map);
	munmap(map->addr, map->size);
	close(map->fd);
	pm_free(map->path);
	pm_free(map);
}

PM_EXPORT void *pm_map_addr(const struct pm_map *map)
{
	return map ? map->addr : NULL;
}

PM_EXPORT size_t pm_map_size(const struct pm_map *map)
{
	return map ? map->size : 0;
}

PM_EXPORT enum pm_granularity pm_map_granularity(const struct pm_map *map)
{
	return map ? map->gran : PM_GRANULARITY_PAGE;
}

PM_EXPORT int pm_map_get_info(const struct pm_map *map,
			      struct pm_map_info *info)
{
	if (!map || !info)
		return pm_err(-EINVAL, "pm_map_get_info: NULL argument");
	memset(info, 0, sizeof(*info));
	info->granularity = map->gran;
	info->map_sync = map->map_sync;
	info->forced = map->forced;
	switch (map->gran) {
	case PM_GRANULARITY_BYTE:
		info->flush_method = "none (eADR)";
		break;
	case PM_GRANULARITY_CACHELINE:
		info->flush_method = pm_arch.flush_name;
		break;
	default:
		info->flush_method = "msync";
	}
	info->copy_method = map->gran == PM_GRANULARITY_PAGE ?
				    "memcpy+msync" :
				    pm_arch.copy_name;
	info->fs_type = map->fs_type;
	snprintf(info->device, sizeof(info->device), "%u:%u", major(map->dev),
		 minor(map->dev));
	info->movnt_threshold = pm_arch.movnt_threshold;
	return 0;
}

/**
 * pm_read_safe - copy from a mapping without dying on poisoned memory
 * @map: the mapping @src lies in
 * @dst: destination (ordinary memory)
 * @src: source inside @map
 * @len: bytes to copy
 *
 * A SIGBUS raised by the copy (machine-check poison, a page on the
 * kernel's bad-block list, a page gone because the file shrank) makes the
 * call return -EIO; @dst may then be partly written.  The first call
 * installs a SIGBUS handler that passes every other SIGBUS to the handler
 * installed before it.
 *
 * Return: 0, -EIO if the source is unreadable, -EINVAL if [src, src+len)
 * is not inside @map.
 */
PM_EXPORT int pm_read_safe(const struct pm_map *map, void *dst, const void *src,
			   size_t len)
{
	uintptr_t s = (uintptr_t)src, base;
	int ret;

	if (!map || !dst || !src)
		return pm_err(-EINVAL, "pm_read_safe: NULL argument");
	base = (uintptr_t)map->addr;
	if (s < base || !pm_range_ok(s - base, len, map->size))
		return pm_err(-EINVAL,
			      "pm_read_safe: [%p, +%zu) is outside "
			      "the mapping",
			      src, len);
	ret = pm_safe_copy(dst, src, len);
	if (ret == -EIO)
		return pm_err(ret, "pm_read_safe: [%p, +%zu) is poisoned", src,
			      len);
	return ret;
}
