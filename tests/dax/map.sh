#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# map.sh - runs inside the check-dax guest (see tests/dax/init): mapping
# on ext4 -o dax, xfs -o dax and tmpfs, through dax_map (the library) and
# `pmtool info` (what a user sees).
set -u
fail=0

ok() {
	echo "ok - $*"
}

not_ok() {
	echo "not ok - $*"
	fail=1
}

# expect FILE KEY VALUE: `pmtool --json info FILE` has "KEY":VALUE.
expect() {
	if printf '%s\n' "$info" | grep -q "\"$2\":$3[,}]"; then
		ok "pmtool info $1: $2 is $3"
	else
		not_ok "pmtool info $1: $2 is not $3: $info"
	fi
}

pmtool_info() {
	f=$1/info.pm
	dd if=/dev/zero of="$f" bs=1M count=4 2>/dev/null
	if ! info=$(pmtool --json info "$f"); then
		not_ok "pmtool info $f failed"
		return 1
	fi
	echo "# $info"
}

tests/dax/dax_map "$PM_DAX_DIR" "$PM_TMPFS_DIR" || fail=1
if [ -n "${PM_XFS_DIR:-}" ]; then
	tests/dax/dax_map "$PM_XFS_DIR" "$PM_TMPFS_DIR" || fail=1
else
	echo "# no xfs in this guest: ext4 only"
fi

# The guest CPU (qemu -cpu max) has clwb; the library must pick it, unless
# the region persists CPU caches (eADR).
gran='"cacheline"'
if [ "${PM_DAX_PDOMAIN:-}" = cpu_cache ]; then
	want_flush='"none (eADR)"'
	gran='"byte"'
elif grep -qw clwb /proc/cpuinfo; then
	want_flush='"clwb"'
else
	want_flush='"clflushopt"'
fi

for dir in "$PM_DAX_DIR" ${PM_XFS_DIR:+"$PM_XFS_DIR"}; do
	if pmtool_info "$dir"; then
		expect "$f" granularity "$gran"
		expect "$f" map_sync true
		expect "$f" forced false
		expect "$f" flush "$want_flush"
	fi
done
if pmtool_info "$PM_TMPFS_DIR"; then
	expect "$f" granularity '"page"'
	expect "$f" map_sync false
	expect "$f" flush '"msync"'
	expect "$f" fs '"tmpfs"'
fi
exit $fail
