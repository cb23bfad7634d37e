/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sysfs.c - sysfs access under one root prefix (PM_SYSFS_ROOT).  Nothing
 * persistent is touched here; callers treat any failure as "the platform
 * cannot tell", never as a fact about the media.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"
#include "os.h"
#include "sysfs.h"

const char *pm_sysfs_root(void)
{
	const char *root = pm_getenv("PM_SYSFS_ROOT");

	return root ? root : "";
}

int pm_sysfs_path(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(buf, len, "%s", pm_sysfs_root());
	va_list ap;
	int ret;

	if (n >= len)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	ret = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return ret < 0 || (size_t)ret >= len - n ? -ENAMETOOLONG : 0;
}

int pm_sysfs_read(const char *path, char *buf, size_t len)
{
	char full[PATH_MAX];
	ssize_t n;
	int fd, ret;

	if (!len)
		return -ENOBUFS;
	ret = pm_sysfs_path(full, sizeof(full), "%s", path);
	if (ret)
		return ret;
	fd = pm_os_open_sysfs(full);
	if (fd < 0)
		return fd;
	n = read(fd, buf, len);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	if ((size_t)n == len)
		return -ENOBUFS;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return (int)n;
}

int pm_sysfs_resolve(const char *path, char *buf, size_t len)
{
	char full[PATH_MAX], real[PATH_MAX], rroot[PATH_MAX] = "";
	const char *root = pm_sysfs_root();
	size_t rlen = 0;
	int ret = pm_sysfs_path(full, sizeof(full), "%s", path);

	if (ret)
		return ret;
	if (*root) {
		if (!realpath(root, rroot))
			return -errno;
		rlen = strlen(rroot);
	}
	if (!realpath(full, real))
		return -errno;
	if (strncmp(real, rroot, rlen) || (real[rlen] && real[rlen] != '/'))
		return -EXDEV;
	if (strlen(real + rlen) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, real + rlen);
	return 0;
}

int pm_sysfs_write(const char *path, const char *text)
{
	char full[PATH_MAX];
	size_t len = strlen(text);
	ssize_t n;
	int fd, ret;

	ret = pm_sysfs_path(full, sizeof(full), "%s", path);
	if (ret)
		return ret;
	fd = pm_os_open_sysfs_write(full);
	if (fd < 0)
		return fd;
	n = write(fd, text, len);
	ret = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

int pm_sysfs_devno_path(dev_t dev, int chr, char *buf, size_t len)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/dev/%s/%u:%u", chr ? "char" : "block",
		 major(dev), minor(dev));
	return pm_sysfs_resolve(p, buf, len);
}

int pm_sysfs_dev_path(dev_t dev, char *buf, size_t len)
{
	return pm_sysfs_devno_path(dev, 0, buf, len);
}

int pm_sysfs_region(const char *path, unsigned *id, size_t *len)
{
	const char *s = path + strlen(path);

	while (s > path) {
		const char *c = s;
		char *e;
		unsigned long v;

		while (c > path && c[-1] != '/')
			c--;
		if (!strncmp(c, "region", 6) && c[6] >= '0' && c[6] <= '9') {
			v = strtoul(c + 6, &e, 10);
			if (e == s && v <= UINT_MAX) {
				*id = (unsigned)v;
				if (len)
					*len = (size_t)(s - path);
				return 0;
			}
		}
		s = c > path ? c - 1 : path;
	}
	return -ENOENT;
}
