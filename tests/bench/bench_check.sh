#!/bin/sh
# bench_check - a full pmck check of a 1 GiB pool, beside `pmempool check`
# on a libpmemobj pool of the same size (which checks its headers only).
# Pools on /dev/shm (page cache speed: the cost measured is the checker's
# own, not the disk's).  Median of 5 runs each, after one warm-up run.
# Not part of make check.
#
#   bench_check.sh [DIR]      (run from the build tree; DIR: /dev/shm)
set -eu
dir=${1:-/dev/shm}
bld=${top_builddir:-.}
size=$((1 << 30))
pool=$dir/bench_check.$$.pm
obj=$dir/bench_check.$$.obj
trap 'rm -f "$pool" "$obj"' EXIT

now() { date +%s.%N; }

# median_time CMD...: median wall seconds of 5 runs after a warm-up
median_time() {
	"$@" > /dev/null 2>&1 || true
	for i in 1 2 3 4 5; do
		t0=$(now)
		"$@" > /dev/null 2>&1 || true
		t1=$(now)
		echo "$t1 - $t0" | bc -l
	done | sort -n | sed -n 3p
}

"$bld/tools/pmtool" create --log-size 16M "$pool" 1G
# Give the data area real contents, so no page reads as a hole.
"$bld/tools/pmtool" --json info "$pool" > /dev/null
dd if=/dev/urandom of="$pool" bs=1M seek=512 count=256 conv=notrunc \
	status=none
"$bld/tools/pmck" -q "$pool" || { echo "pool not clean"; exit 1; }
t=$(median_time "$bld/tools/pmck" -q "$pool")
printf "pmck (full check: headers, lanes, log, every byte read): %.3f s, %.2f GB/s\n" \
	"$t" "$(echo "$size / $t / 1000000000" | bc -l)"

if command -v pmempool > /dev/null; then
	pmempool create obj --size=1G "$obj"
	t=$(median_time pmempool check "$obj")
	printf "pmempool check (pmemobj, headers only):                  %.3f s, %.2f GB/s\n" \
		"$t" "$(echo "$size / $t / 1000000000" | bc -l)"
else
	echo "pmempool not installed: no peer measurement"
fi
