/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sysfs.h - every sysfs read of libpm goes through one root prefix, taken
 * from PM_SYSFS_ROOT (default ""), so that tests can point the library at
 * a fake tree.  Paths given here are the real ones ("/sys/dev/block/...").
 */
#ifndef PM_SYSFS_H
#define PM_SYSFS_H 1

#include <stddef.h>
#include <sys/types.h>

/* The prefix in force: PM_SYSFS_ROOT, or "" for the real /sys. */
const char *pm_sysfs_root(void);

/* Print root + the formatted path into @buf.  0 or -ENAMETOOLONG. */
int pm_sysfs_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Read the attribute at root + @path into @buf (NUL-terminated, trailing
 * newlines removed).  Return: bytes read, -ENOBUFS if it did not fit, or
 * -errno.
 */
int pm_sysfs_read(const char *path, char *buf, size_t len);

/*
 * Resolve root + @path (symlinks and all) and give the result in @buf
 * without the root prefix, e.g. "/sys/devices/.../region0/.../pmem0".
 * Return: 0, -EXDEV if it leads out of the root, or -errno.
 */
int pm_sysfs_resolve(const char *path, char *buf, size_t len);

/*
 * Write @text to the attribute at root + @path (one write; a short one is
 * -EIO).  Return: 0 or -errno.
 */
int pm_sysfs_write(const char *path, const char *text);

/* pm_sysfs_resolve() of "/sys/dev/block/MAJ:MIN" for block device @dev. */
int pm_sysfs_dev_path(dev_t dev, char *buf, size_t len);

/* The same for a character device (/sys/dev/char) if @chr. */
int pm_sysfs_devno_path(dev_t dev, int chr, char *buf, size_t len);

/*
 * The nearest ancestor of sysfs path @path named "regionN": N in @id and,
 * if @len is not NULL, the length of the prefix of @path that ends with
 * that component.  Return: 0, or -ENOENT if there is none.
 */
int pm_sysfs_region(const char *path, unsigned *id, size_t *len);

#endif /* PM_SYSFS_H */
