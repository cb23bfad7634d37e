#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# badblocks.sh - runs as root inside the check-dax guest (tests/dax/init)
# on $PM_BB_DIR, an ext4 -o dax file system of its own that it may
# poison.  The tools on real bad blocks: a bad page in a pool's data area
# is listed by `pmtool badblocks list` with its exact offset, makes pmck
# exit 4, `pmck --repair` exit 1 and pmck exit 0 again; another one goes
# away with `pmtool badblocks clear`.  A bad page in a lane or in header A
# of a pool of its own: `pmtool info` says so without dying, pmck 4, 1, 0
# (a lane header: pmck --repair 4, with --discard-damaged 1).
# Both header copies bad: listed as such, cleared only with --force.
set -u
fail=0
DAXBB=tests/dax/dax_badblocks
FIXTURE=tests/pmck_fixture
PAGE=4096

ok() {
	echo "ok - $*"
}

not_ok() {
	echo "not ok - $*"
	fail=1
}

# expect_rc WANT WHAT CMD...: run CMD, its exit status must be WANT.
expect_rc() {
	want=$1
	what=$2
	shift 2
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok "$what: exit $rc"
	else
		not_ok "$what: exit $rc, not $want"
	fi
	sed 's/^/# /' "$T/out"
}

[ -n "${PM_BB_DIR:-}" ] || {
	echo "# no bad-block file system in this guest"
	exit 77
}
T=$PM_BB_DIR

P=$T/tools.pool
"$FIXTURE" make "$P" $((1024 * 1024)) || exit 1
w=$("$DAXBB" where "$P") || exit 1
# shellcheck disable=SC2086 # split "DATA LANES LANE_SIZE" into $1 $2 $3
set -- $w
data=$1
off=$((data + 4 * PAGE))
echo "# tools: pool $P, data at $data, bad page at $off"

# A page never written is an unwritten extent: reads never reach the
# device there.  Write it first.
dd if=/dev/zero of="$P" bs=$PAGE seek=$((off / PAGE)) count=1 conv=notrunc \
	2>/dev/null
"$DAXBB" inject "$P" "$off" >/dev/null || exit 1
if pmtool --help 2>&1 | grep -q badblocks; then
	expect_rc 0 "pmtool badblocks list" pmtool badblocks list "$P"
	if grep -q -i -E "(^|[^0-9a-fx])($off|$(printf '0x%x' "$off"))([^0-9a-f]|$)" "$T/out"; then
		ok "pmtool badblocks list names offset $off"
	else
		not_ok "pmtool badblocks list does not name offset $off"
	fi
else
	echo "# pmtool has no badblocks command yet: list and clear not tried"
fi
expect_rc 4 "pmck on a pool with a bad data page" pmck "$P"
grep -q -i -E 'bad block|media' "$T/out" ||
	not_ok "pmck does not call it a bad block"
expect_rc 1 "pmck --repair" pmck --repair "$P"
expect_rc 0 "pmck after the repair" pmck "$P"

if pmtool --help 2>&1 | grep -q badblocks; then
	dd if=/dev/zero of="$P" bs=$PAGE seek=$((off / PAGE + 1)) count=1 \
		conv=notrunc 2>/dev/null
	"$DAXBB" inject "$P" $((off + PAGE)) >/dev/null || exit 1
	expect_rc 0 "pmtool badblocks clear" pmtool badblocks clear "$P"
	expect_rc 0 "pmtool badblocks list after the clear" \
		pmtool badblocks list "$P"
	if grep -q -E "(^|[^0-9a-fx])$((off + PAGE))([^0-9]|$)" "$T/out"; then
		not_ok "the cleared page is still listed"
	fi
	expect_rc 0 "pmck after pmtool badblocks clear" pmck "$P"
fi
for area in lane1 header-a; do
	P=$T/$area.pool
	"$FIXTURE" make "$P" $((1024 * 1024)) || exit 1
	w=$("$DAXBB" where "$P") || exit 1
	# shellcheck disable=SC2086 # split "DATA LANES LANE_SIZE" into $1 $2 $3
	set -- $w
	if [ $area = lane1 ]; then off=$(($2 + $3)); else off=0; fi
	echo "# $area: pool $P, bad page at $off"
	"$DAXBB" inject "$P" "$off" >/dev/null || exit 1
	pmtool info "$P" >"$T/out" 2>&1
	rc=$?
	sed 's/^/# /' "$T/out"
	if [ $rc -lt 128 ]; then
		ok "pmtool info with a bad page in $area: exit $rc, no signal"
	else
		not_ok "pmtool info with a bad page in $area died: exit $rc"
	fi
	grep -q -i 'bad block' "$T/out" ||
		not_ok "pmtool info does not mention the bad block in $area"
	expect_rc 4 "pmck with a bad page in $area" pmck "$P"
	if [ $area = lane1 ]; then
		# a lane header has no second copy: fatal unless discarding
		expect_rc 4 "pmck --repair with a bad page in $area" \
			pmck --repair "$P"
		expect_rc 1 "pmck --repair --discard-damaged, $area" \
			pmck --repair --discard-damaged "$P"
	else
		expect_rc 1 "pmck --repair with a bad page in $area" \
			pmck --repair "$P"
	fi
	expect_rc 0 "pmck after the repair of $area" pmck "$P"
	expect_rc 0 "pmtool info after the repair of $area" pmtool info "$P"
done

# Both header copies on bad pages (their reads fail): a pool whose headers
# are lost.  list names them, clear refuses them (exit 1) and --force says
# that the pool is gone.
P=$T/headers.pool
"$FIXTURE" make "$P" $((1024 * 1024)) || exit 1
"$DAXBB" inject "$P" 0 >/dev/null || exit 1
"$DAXBB" inject "$P" $PAGE >/dev/null || exit 1
expect_rc 0 "pmtool badblocks list, both headers bad" \
	pmtool badblocks list "$P"
for want in " header A$" " header B$" "^note: both pool header copies"; do
	grep -q "$want" "$T/out" || not_ok "list, both headers bad: no '$want'"
done
expect_rc 1 "pmtool badblocks clear, both headers bad" \
	pmtool badblocks clear "$P"
grep -q "header A: refused: both pool header copies" "$T/out" ||
	not_ok "clear did not refuse the last header copies"
expect_rc 0 "pmtool badblocks clear --force, both headers bad" \
	pmtool badblocks clear --force "$P"
grep -q "^pool headers lost: the file is no longer a libpm pool$" "$T/out" ||
	not_ok "clear --force does not say that the pool is lost"

bb_dev=${PM_BB_DEV:-/dev/null}
echo "# device list now: $(tr '\n' ' ' </sys/block/"${bb_dev#/dev/}"/badblocks)"
exit $fail
