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

rm "$T/root$DISK/badblocks"
"$B" badblocks list "$T/pool" | grep -q "cannot report bad blocks"
"$B" --json badblocks list "$T/pool" | grep -q '"status":"unsupported"'
