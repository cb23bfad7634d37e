#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# deep_flush.sh - runs inside the check-dax guest (see tests/dax/init):
# pm_deep_flush() where the region of the DAX file system has a deep flush
# to write ($PM_DAX_DEEP_FLUSH reads 1: it returns 0) and where not
# (reads 0, or no such attribute: -ENOTSUP); on tmpfs: -ENOTSUP.  No
# qemu device here has a deep_flush to write (NFIT without flush hints:
# read-only "0"; virtio-pmem: none): writing it is a unit test
# (tests/test_map.c, on a fake sysfs tree).
set -u
fail=0
want=notsup
[ "${PM_DAX_DEEP_FLUSH:-}" = 1 ] && want=ok
echo "# region deep_flush reads '${PM_DAX_DEEP_FLUSH:-}': want $want"
tests/dax/dax_platform deepflush "$PM_DAX_DIR/df.pm" "$want" || fail=1
tests/dax/dax_platform deepflush "$PM_TMPFS_DIR/df.pm" notsup || fail=1
exit "$fail"
