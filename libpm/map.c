/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map.c - open, size and map a file; decide the persistence granularity.
 * Invariant: a mapping never claims a finer granularity than the platform
 * gives.  CACHELINE only when MAP_SYNC succeeded (or forced), BYTE only
 * when every region behind the file is in the CPU-cache persistence
 * domain; anything else is PAGE (msync).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "arch.h"
#include "map.h"
#include "os.h"
#include "persist.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static const struct {
	long magic;
	const char *name;
} fs_names[] = {
	{ 0xEF53, "ext4" },	   { 0x58465342, "xfs" },
	{ 0x01021994, "tmpfs" },   { 0x9123683E, "btrfs" },
	{ 0x858458f6, "ramfs" },   { 0x6969, "nfs" },
	{ 0x65735546, "fuse" },	   { 0x794c7630, "overlay" },
	{ 0x2FC12FC1, "zfs" },	   { 0x4d44, "vfat" },
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

static int size_file(int fd, size_t size, int created)
{
	int ret = pm_os_fallocate(fd, 0, 0, (off_t)size);

	if (ret == -EOPNOTSUPP)
		ret = pm_os_ftruncate(fd, (off_t)size);
	if (ret)
		return pm_err(ret, "cannot size the file to %zu bytes: %s",
			      size, pm_strerror(ret));
	(void)created;
	return 0;
}

static int open_file(const char *path, size_t *sizep, unsigned flags,
		     int *createdp)
{
	int oflags = (flags & PM_MAP_READONLY) ? O_RDONLY : O_RDWR;
	struct stat st;
	int fd, ret;

	if (flags & PM_MAP_CREATE)
		oflags |= O_CREAT | ((flags & PM_MAP_EXCL) ? O_EXCL : 0);
	fd = pm_os_open(path, oflags, 0644);
	if (fd == -ENOENT && (flags & PM_MAP_CREATE))
		return pm_err(fd, "%s: directory does not exist", path);
	if (fd < 0)
		return pm_err(fd, "%s: %s", path, pm_strerror(fd));
	if (fstat(fd, &st)) {
		ret = -errno;
		goto err;
	}
	*createdp = (flags & PM_MAP_CREATE) && st.st_size == 0;
	if (!S_ISREG(st.st_mode)) {
		ret = pm_err(-EINVAL, "%s: not a regular file", path);
		goto err;
	}
	if (*sizep == 0) {
		if (st.st_size == 0) {
			ret = pm_err(-EINVAL, "%s: empty file and no size given",
				     path);
			goto err;
		}
		if ((uint64_t)st.st_size > SIZE_MAX) {
			ret = pm_err(-EFBIG, "%s: too large to map", path);
			goto err;
		}
		*sizep = (size_t)st.st_size;
	} else if ((uint64_t)st.st_size < *sizep) {
		if (flags & PM_MAP_READONLY) {
			ret = pm_err(-EINVAL, "%s: file is %lld bytes, %zu asked",
				     path, (long long)st.st_size, *sizep);
			goto err;
		}
		if (*sizep > (size_t)LLONG_MAX) {
			ret = pm_err(-EFBIG, "%s: size %zu too large", path,
				     *sizep);
			goto err;
		}
		ret = size_file(fd, *sizep, *createdp);
		if (ret)
			goto err;
	}
	return fd;
err:
	close(fd);
	return ret;
}

static int map_file(struct pm_map *m)
{
	int prot = PROT_READ | ((m->flags & PM_MAP_READONLY) ? 0 : PROT_WRITE);
	void *addr = NULL;
	int ret;

	if (!(m->flags & PM_MAP_READONLY)) {
		ret = pm_os_mmap(&addr, m->size, prot,
				 MAP_SHARED_VALIDATE | MAP_SYNC, m->fd, 0);
		if (ret == 0) {
			m->addr = addr;
			m->map_sync = 1;
			return 0;
		}
		if (ret != -EOPNOTSUPP && ret != -EINVAL)
			return pm_err(ret, "%s: mmap: %s", m->path,
				      pm_strerror(ret));
	}
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

static void choose_granularity(struct pm_map *m)
{
	int f = forced_granularity();

	if (f >= 0) {
		m->gran = (enum pm_granularity)f;
		m->forced = 1;
	} else if (!m->map_sync) {
		m->gran = PM_GRANULARITY_PAGE;
	} else {
		m->gran = pm_map_eadr(m->dev) ? PM_GRANULARITY_BYTE :
						PM_GRANULARITY_CACHELINE;
	}
	m->ops = pm_persist_ops_for(m->gran);
}

PM_EXPORT int pm_map_file(const char *path, size_t size, unsigned flags,
			  struct pm_map **mapp)
{
	struct pm_map *m;
	struct stat st;
	int created = 0, ret;

	if (!path || !mapp)
		return pm_err(-EINVAL, "pm_map_file: NULL argument");
	if (flags & ~PM_MAP_VALID)
		return pm_err(-EINVAL, "pm_map_file: unknown flags 0x%x",
			      flags & ~PM_MAP_VALID);
	if ((flags & PM_MAP_EXCL) && !(flags & PM_MAP_CREATE))
		return pm_err(-EINVAL, "pm_map_file: EXCL without CREATE");
	if ((flags & PM_MAP_READONLY) &&
	    (flags & (PM_MAP_CREATE | PM_MAP_SYNC_REQUIRED)))
		return pm_err(-EINVAL,
			      "pm_map_file: READONLY with CREATE or SYNC_REQUIRED");
	if ((flags & PM_MAP_CREATE) && size == 0)
		return pm_err(-EINVAL, "pm_map_file: CREATE needs a size");
	m = pm_zalloc(sizeof(*m));
	if (!m)
		return pm_err(-ENOMEM, "pm_map_file: out of memory");
	m->flags = flags;
	m->path = pm_strdup(path);
	if (!m->path) {
		ret = pm_err(-ENOMEM, "pm_map_file: out of memory");
		goto err_free;
	}
	m->size = size;
	ret = open_file(path, &m->size, flags, &created);
	if (ret < 0)
		goto err_free;
	m->fd = ret;
	fstat(m->fd, &st);
	m->dev = st.st_dev;
	fs_name(m->fd, m->fs_type, sizeof(m->fs_type));
	ret = map_file(m);
	if (ret)
		goto err_close;
	choose_granularity(m);
	*mapp = m;
	return 0;
err_close:
	close(m->fd);
	if (created)
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
	snprintf(info->device, sizeof(info->device), "%u:%u",
		 major(map->dev), minor(map->dev));
	info->movnt_threshold = pm_arch.movnt_threshold;
	return 0;
}
