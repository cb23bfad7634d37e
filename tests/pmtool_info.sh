#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pmtool info: what a file on tmpfs gets (page, msync), what forcing the
# cache-line path shows, the JSON form, and a clear failure on bad input.
set -eu
T=${top_builddir:-.}/tools/pmtool
d=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp)/pmtool_info.XXXXXX")
trap 'rm -rf "$d"' EXIT
f=$d/file
head -c 65536 /dev/zero >"$f"

fail() { echo "FAIL: $*"; exit 1; }
out=$("$T" info "$f")
echo "$out"
echo "$out" | grep -q '^granularity: *page$' || fail "tmpfs is not page"
echo "$out" | grep -q '^flush: *msync$' || fail "tmpfs does not msync"
echo "$out" | grep -q '^MAP_SYNC: *no$' || fail "MAP_SYNC claimed on tmpfs"
echo "$out" | grep -q '^size: *65536$' || fail "wrong size"

out=$(PM_FORCE_GRANULARITY=cacheline "$T" info "$f")
echo "$out"
echo "$out" | grep -q '^granularity: *cacheline (forced)$' ||
	fail "forced cacheline not shown"
echo "$out" | grep -Eq '^flush: *(clwb|clflushopt|clflush|dc cvap|dc cvac)$' ||
	fail "no cache-line flush named"
if grep -qw clwb /proc/cpuinfo && [ "$(uname -m)" = x86_64 ]; then
	echo "$out" | grep -q '^flush: *clwb$' || fail "clwb not used"
fi

out=$(PM_FORCE_GRANULARITY=cacheline "$T" --json info "$f")
echo "$out"
echo "$out" | grep -q '"granularity":"cacheline"' || fail "json granularity"
echo "$out" | grep -q '"forced":true' || fail "json forced"
echo "$out" | grep -q '"map_sync":false' || fail "json map_sync"

if "$T" info "$d/missing" 2>"$d/err"; then fail "missing file accepted"; fi
grep -q 'No such file' "$d/err" || fail "no clear error: $(cat "$d/err")"
if "$T" info 2>/dev/null; then fail "usage error accepted"; fi
echo "ok"
