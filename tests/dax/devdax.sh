#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# devdax.sh - runs inside the check-dax guest (see tests/dax/init) on
# $PM_DEVDAX, a device-dax namespace: the library through dax_platform,
# then what a user sees: `pmtool info` says devdax with MAP_SYNC not
# needed, and pmck checks the pool it left there clean.
set -u
fail=0

ok() {
	echo "ok - $*"
}

not_ok() {
	echo "not ok - $*"
	fail=1
}

[ -n "${PM_DEVDAX:-}" ] || {
	echo "# no device-dax device in this guest"
	exit 77
}
tests/dax/dax_platform devdax "$PM_DEVDAX" || fail=1

if info=$(pmtool --json info "$PM_DEVDAX"); then
	echo "# $info"
	case $info in
	*'"fs":"devdax"'*) ok "pmtool info: fs is devdax" ;;
	*) not_ok "pmtool info: fs is not devdax" ;;
	esac
	case $info in
	*'"layout":'* | *'"pool_size":'*) ok "pmtool info: a pool" ;;
	*) not_ok "pmtool info: no pool seen" ;;
	esac
else
	not_ok "pmtool --json info $PM_DEVDAX failed"
fi
if pmtool info "$PM_DEVDAX" | grep -q '^MAP_SYNC: *not needed (device-dax)$'; then
	ok "pmtool info: MAP_SYNC not needed (device-dax)"
else
	not_ok "pmtool info: MAP_SYNC line"
	pmtool info "$PM_DEVDAX" 2>&1 | sed 's/^/# /'
fi
pmck "$PM_DEVDAX" >/run/pmck.out 2>&1
rc=$?
sed 's/^/# /' /run/pmck.out
if [ "$rc" = 0 ]; then
	ok "pmck on device-dax: clean"
else
	not_ok "pmck on device-dax: exit $rc"
fi
exit "$fail"
