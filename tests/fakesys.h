/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fakesys.h - building a fake sysfs tree under a test directory, for the
 * library to read through PM_SYSFS_ROOT.  Paths are given relative to the
 * tree's root, with or without a leading '/'.  Include after <cmocka.h>.
 */
#ifndef PM_TEST_FAKESYS_H
#define PM_TEST_FAKESYS_H 1

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* @root/@rel into @buf. */
static inline void fakesys_join(char *buf, size_t len, const char *root,
				const char *rel)
{
	rel += strspn(rel, "/");
	assert_true((size_t)snprintf(buf, len, "%s%s%s", root, *rel ? "/" : "",
				     rel) < len);
}

/* mkdir -p @root/@rel. */
static inline void fakesys_mkdirs(const char *root, const char *rel)
{
	char p[PATH_MAX];

	fakesys_join(p, sizeof(p), root, rel);
	for (char *s = p + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

/* Write @text to the file @root/@rel. */
static inline void fakesys_put(const char *root, const char *rel,
			       const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	fakesys_join(p, sizeof(p), root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Make @root/@rel a symbolic link to @target. */
static inline void fakesys_link(const char *root, const char *rel,
				const char *target)
{
	char p[PATH_MAX];

	fakesys_join(p, sizeof(p), root, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* The device directory @disk ("/sys/devices/.../block/pmem0"), and
 * /sys/dev/block/MAJ:MIN of block device @dev leading to it (replacing
 * any link there before). */
static inline void fakesys_disk(const char *root, const char *disk, dev_t dev)
{
	char rel[64], p[PATH_MAX], to[PATH_MAX];

	fakesys_mkdirs(root, "/sys/dev/block");
	fakesys_mkdirs(root, disk);
	snprintf(rel, sizeof(rel), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	fakesys_join(p, sizeof(p), root, rel);
	unlink(p);
	snprintf(to, sizeof(to), "../../../%s", disk + strspn(disk, "/"));
	fakesys_link(root, rel, to);
}

/* A device-dax device dax0.0 of @size bytes in 2 MiB units under @root,
 * for which /dev/zero (1:5) stands in, and PM_SYSFS_ROOT set to @root. */
#define FAKESYS_DAX "sys/devices/ndbus0/region0/dax0.0"
static inline void fakesys_devdax(const char *root, const char *size)
{
	fakesys_mkdirs(root, FAKESYS_DAX "/dax0.0");
	fakesys_mkdirs(root, "sys/dev/char");
	fakesys_put(root, FAKESYS_DAX "/dax0.0/size", size);
	fakesys_put(root, FAKESYS_DAX "/dax0.0/align", "2097152\n");
	fakesys_link(root, "sys/dev/char/1:5",
		     "../../../" FAKESYS_DAX "/dax0.0");
	setenv("PM_SYSFS_ROOT", root, 1);
}

/* Undo fakesys_devdax(): unset PM_SYSFS_ROOT, remove the tree. */
static inline void fakesys_devdax_done(const char *root)
{
	char cmd[PATH_MAX + 16];

	unsetenv("PM_SYSFS_ROOT");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

#endif /* PM_TEST_FAKESYS_H */
