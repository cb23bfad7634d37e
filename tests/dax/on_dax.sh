#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# on_dax.sh PROGRAM [ARGS...] - runs inside the check-dax guest: run a test
# that hard-codes /dev/shm with $PM_DAX_DIR (ext4 -o dax) mounted over it,
# so that its files live on DAX.  For tests that do not take TMPDIR yet.
set -u
mount --bind "$PM_DAX_DIR" /dev/shm || exit 1
"$@"
rc=$?
umount /dev/shm || rc=1
exit $rc
