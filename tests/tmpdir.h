/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tmpdir.h - where a test keeps its files: $TMPDIR when it is set, else
 * the directory the test names (/dev/shm for speed, /tmp where a disk
 * file system is wanted).  `TMPDIR=/mnt/pmem make check` runs them on a
 * DAX file system.
 */
#ifndef PM_TEST_TMPDIR_H
#define PM_TEST_TMPDIR_H 1

#include <stdlib.h>

static inline const char *test_tmpdir(const char *dflt)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : dflt;
}

#endif /* PM_TEST_TMPDIR_H */
