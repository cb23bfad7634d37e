#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The released ABI, libpm/libpm.abi (abidw from abigail-tools: the exported
# functions and the types libpm.h declares), against the freshly built
# libpm.so: "check" (make check-abi) or "record" (make abi-baseline).
#
# Added functions are compatible and pass, and so are fields appended to
# a pm_*_opts struct; the baseline is recorded again when they are released.  A removed or changed function or variable
# (abidiff exit bit 8, or a type change such as a field added to a struct
# the caller allocates, which abidiff counts as a change, bit 4) fails
# unless the soname moved and libpm.sym gained a node with it: then it is
# a new major release, and its baseline is recorded.
set -eu
mode=${1:-check}
src=${top_srcdir:-.}
bld=${top_builddir:-.}
so=$bld/.libs/libpm.so
abi=$src/libpm/libpm.abi

command -v abidiff >/dev/null ||
	{ echo "SKIP: abidiff not found (apt-get install abigail-tools)"; exit 77; }
[ -f "$so" ] || { echo "SKIP: $so not built"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dump() { # OUT
	abidw --no-corpus-path --type-id-style hash --out-file "$1" "$so"
}
[ "$mode" = record ] && { dump "$abi"; exit 0; }

dump "$tmp/new.abi"
# Changes to types defined outside libpm.h (pool internals behind opaque
# handles, libc's, libndctl's) are not the ABI.  (abidw --header-file and
# dropping those types at record time were tried: the first matches the
# header's path as the compiler recorded it, which depends on the build
# directory; the second loses parameters of functions that take them.)
# An options struct (first member size_t sz, see libpm.h) may grow at its
# end: the library reads only the fields within the caller's sz.
cat >"$tmp/supp" <<'SUPP'
[suppress_type]
  source_location_not_in = libpm.h
[suppress_type]
  type_kind = struct
  name_regexp = ^pm_.*_opts$
  has_data_member_inserted_at = end
SUPP
rc=0
abidiff --suppressions "$tmp/supp" "$abi" "$tmp/new.abi" >"$tmp/diff" || rc=$?
cat "$tmp/diff"
if [ $((rc & 3)) -ne 0 ]; then
	echo "FAIL: abidiff could not compare (exit $rc)"
	exit 1
fi
if [ $((rc & 8)) -eq 0 ] &&
   ! grep -Eq 'summary: [1-9][0-9]* Removed|, [1-9][0-9]* Changed' "$tmp/diff"; then
	[ "$rc" -eq 0 ] && echo "ABI: the same as $abi" ||
		echo "ABI: $abi plus additions (compatible)"
	exit 0
fi
old=$(sed -n "1s/.* soname='\([^']*\)'.*/\1/p" "$abi")
new=$(sed -n "1s/.* soname='\([^']*\)'.*/\1/p" "$tmp/new.abi")
node=$(sed -n 's/^\(LIBPM_[0-9.]*\) *{.*/\1/p' "$src/libpm/libpm.sym" |
	while read -r n; do
		grep -q "version='$n'" "$abi" || echo "$n"
	done)
if [ "$old" != "$new" ] && [ -n "$node" ]; then
	echo "ABI: incompatible, with soname $old -> $new and node $node;"
	echo "record the new baseline: make abi-baseline"
	exit 0
fi
echo "FAIL: incompatible ABI change, but the soname ($new) and libpm.sym"
echo "did not move with it; see README.md, \"Install\""
exit 1
