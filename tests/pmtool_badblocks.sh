#!/bin/sh
# pmtool badblocks list|clear on a real pool file whose device is named by
# a fake sysfs tree (PM_SYSFS_ROOT): exact offsets and the structure hit.
set -e
B=${top_builddir:-.}/tools/pmtool
T=$(mktemp -d /tmp/pmtool_bb.XXXXXX)
trap 'rm -rf "$T"' EXIT
command -v filefrag >/dev/null || { echo "no filefrag: skip"; exit 77; }
DISK=/sys/devices/ndbus0/region0/namespace0.0/block/pmem0
mkdir -p "$T/root/sys/dev/block" "$T/root$DISK"
ln -s "../../..$DISK" "$T/root/sys/dev/block/$(stat -c %Hd:%Ld "$T")"
"$B" create "$T/pool" 8M >/dev/null
BS=$(stat -f -c %S "$T")

# sector_of FILE FILE_OFFSET: the device sector holding that byte
sector_of() {
	filefrag -v -b"$BS" "$1" | awk -v b=$(($2 / BS)) -v r=$(($2 % BS)) -v bs="$BS" '
		$1 ~ /^[0-9]+:$/ && b >= $2 + 0 && b <= $3 + 0 {
			printf "%.0f\n", int((($4 + b - $2) * bs + r) / 512); exit }'
}

# sector FILE_OFFSET: the device sector holding that byte of the pool
sector() {
	filefrag -v -b"$BS" "$T/pool" | awk -v b=$(($1 / BS)) -v r=$(($1 % BS)) -v bs="$BS" '
		$1 ~ /^[0-9]+:$/ && b >= $2 + 0 && b <= $3 + 0 {
			printf "%.0f\n", int((($4 + b - $2) * bs + r) / 512); exit }'
}
[ -n "$(sector 0)" ] || { echo "no FIEMAP here: skip"; exit 77; }
export PM_SYSFS_ROOT="$T/root"
printf '%s 1\n%s 1\n' "$(sector 4196)" "$(sector $((8 * 1048576 - 100)))" \
	>"$T/root$DISK/badblocks"

out=$("$B" badblocks list "$T/pool")
echo "$out"
echo "$out" | grep -qx "offset 4096 length $BS header B"
echo "$out" | grep -qx "offset $((8 * 1048576 - BS)) length $BS data"
"$B" --json badblocks list "$T/pool" | grep -q '"status":"ok","pool":true'

out=$("$B" badblocks clear "$T/pool" || true)
echo "$out"
echo "$out" | grep -q "header B: rebuilt from the other header copy"
echo "$out" | grep -q "data: cleared, contents lost"
"$B" info "$T/pool" >/dev/null

# Both header copies on bad blocks (they read as zeros here; a real device
# fails the read): still a pool, whose headers are lost; clear refuses to
# zero them (exit 1, nothing changed) unless --force, which says so.
L=$T/lost
"$B" create "$L" 1M >/dev/null
dd if=/dev/zero of="$L" bs=4096 count=2 conv=notrunc 2>/dev/null
printf '%s 1\n%s 1\n' "$(sector_of "$L" 100)" "$(sector_of "$L" 4196)" \
	>"$T/root$DISK/badblocks"
out=$("$B" badblocks list "$L")
echo "$out"
echo "$out" | grep -q "^offset 0 length [0-9]* header A$"
echo "$out" | grep -q "^offset 4096 length [0-9]* header B$"
echo "$out" | grep -q "^note: both pool header copies are on bad blocks"
"$B" --json badblocks list "$L" | grep -q '"pool":true.*"headers_lost":true'
before=$(cksum <"$L")
rc=0
out=$("$B" badblocks clear "$L") || rc=$?
echo "$out"
[ $rc -eq 1 ]
echo "$out" | grep -q "header A: refused: both pool header copies"
echo "$out" | grep -q "^refused: 2 ranges of pool metadata"
[ "$(cksum <"$L")" = "$before" ]
out=$("$B" badblocks clear --force "$L" || true)
echo "$out"
echo "$out" | grep -q "header A: cleared (--force), lost: [0-9]* bytes of pool header"
echo "$out" | grep -q "^pool headers lost: the file is no longer a libpm pool$"
"$B" --json badblocks clear --force "$L" | grep -q '"headers_lost":true'

# A lane has no copy: refused without --force, then rebuilt empty.
L=$T/lane
"$B" create --lanes 2 --lane-size 8K "$L" 1M >/dev/null
printf '%s 1\n' "$(sector_of "$L" 8292)" >"$T/root$DISK/badblocks"
before=$(cksum <"$L")
out=$("$B" badblocks clear "$L" || true)
echo "$out"
echo "$out" | grep -q "lane 0: refused: a lane has no copy"
[ "$(cksum <"$L")" = "$before" ]
out=$("$B" badblocks clear --force "$L" || true)
echo "$out"
echo "$out" | grep -q "lane 0: cleared (--force), lost: $BS bytes of lane header"
echo "$out" | grep -q "^lost with --force: $BS bytes of pool metadata$"
if echo "$out" | grep -q "pool headers lost"; then exit 1; fi

rm "$T/root$DISK/badblocks"
"$B" badblocks list "$T/pool" | grep -q "cannot report bad blocks"
"$B" --json badblocks list "$T/pool" | grep -q '"status":"unsupported"'
