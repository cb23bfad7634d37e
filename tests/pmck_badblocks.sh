#!/bin/sh
# pmck and bad blocks, named by a fake sysfs tree (PM_SYSFS_ROOT) for the
# real blocks of the pool file (FIEMAP): each is reported with the
# structure it hits; --repair clears it through the bad-block module, a
# header copy on one is rebuilt from the other.
. "${top_srcdir:-.}/tests/pmck_lib.sh"

DISK=/sys/devices/ndbus0/region0/namespace0.0/block/pmem0
command -v filefrag > /dev/null || { echo "no filefrag: skip"; exit 77; }
dev=$(stat -c '%Hd:%Ld' "$T") || exit 77
mkdir -p "$T/root/sys/dev/block" "$T/root$DISK"
ln -s "../../..$DISK" "$T/root/sys/dev/block/$dev"
: > "$T/root$DISK/badblocks"
PM_SYSFS_ROOT=$T/root
export PM_SYSFS_ROOT

P=$T/pool
DATA=32768

# bad_at FILE OFFSET: list the device sector holding a file offset as bad
bad_at() {
	s=$(($2 / 512))
	sector=$(filefrag -v -b512 "$1" | awk -v s="$s" '
		$1 ~ /^[0-9]+:$/ {
			gsub(/\.\./, " "); gsub(/:/, " ");
			if (s >= $2 && s <= $3) { print $4 + s - $2; exit }
		}')
	[ -n "$sector" ] || fail "no physical sector for offset $2"
	echo "$sector 1" > "$T/root$DISK/badblocks"
}

mkpool "$P"
sync "$P" 2> /dev/null || sync
run_pmck 0 -v "$P"
expect "ok: bad blocks: none reported by the device"

# user data: its bytes are lost, nothing else
bad_at "$P" $((DATA + 8192))
dry_run_unchanged 4 "$P"
expect "error: bad block in data at offset $((DATA + 8192)) \([0-9]+ bytes\): [0-9]+ bytes the device reports unreadable; repair: clear it; its bytes are lost and read as zero"
"$PMCK" --repair "$P" > "$OUT" 2>&1
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 4 ] || fail "repair exited $rc"
# the driver forgets a bad block once it is written; so does the fake
: > "$T/root$DISK/badblocks"
run_pmck 0 "$P"

# header B: rebuilt from header A by the clear
mkpool "$P"
bad_at "$P" 4096
dry_run_unchanged 4 "$P"
expect "error: bad block in header B at offset 4096 .*repair: clear it; header B is rewritten from header A"
"$PMCK" --repair "$P" > "$OUT" 2>&1
: > "$T/root$DISK/badblocks"
run_pmck 0 "$P"
[ "$(peek "$P" 4096 8)" = "$(peek "$P" 0 8)" ] || fail "header B not rebuilt"

# a lane header over a committed, unretired transaction: both slots
# share the sector, so it is fatal and --repair leaves it; only
# --discard-damaged clears it, and open refuses until then
LANES=8192
mkpool "$P"
"$FIXTURE" crash "$P" || fail "crash fixture"
run_pmck 4 --json "$P"
lane=$(sed -n 's/.*"structure":"lane \([0-9]\)".*/\1/p' "$OUT")
bad_at "$P" $((LANES + lane * 4096))
before=$(sum "$P")
run_pmck 4 --repair "$P"
expect "fatal: bad block in lane $lane at .*over lane $lane's header; repair: none.*\\[not repaired\\]"
[ "$(sum "$P")" = "$before" ] || fail "repair cleared a lane header"
"$PMTOOL" stats "$P" > /dev/null 2>&1 && fail "the pool opened"
"$PMCK" --repair --discard-damaged "$P" > "$OUT" 2>&1
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 4 ] || fail "repair exited $rc"
expect "bad block in lane $lane .*repair: clear it; the lane header is lost"
: > "$T/root$DISK/badblocks"
run_pmck 0 "$P"
"$PMTOOL" stats "$P" > /dev/null 2>&1 || fail "the pool does not open"

done_tests
