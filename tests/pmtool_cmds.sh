#!/bin/sh
# pmtool create, info, log dump, stats and heap, in text and JSON.
. "${top_srcdir:-.}/tests/pmck_lib.sh"

json_ok() {
	command -v python3 > /dev/null || return 0
	python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$1" || fail "not JSON: $1"
}

P=$T/pool
"$PMTOOL" create --layout demo --lanes 4 --lane-size 8K --log-size 64K \
	"$P" 4M > "$OUT" 2>&1 || fail "create"
[ "$(stat -c %s "$P")" -eq 4194304 ] || fail "create: wrong size"
"$PMTOOL" create "$P" 4M > "$OUT" 2>&1 && fail "create over a pool"
"$PMTOOL" create "$T/bad" 12Q > "$OUT" 2>&1
[ $? -eq 2 ] || fail "create: bad size not a usage error"

"$PMTOOL" info "$P" > "$OUT" 2>&1 || fail "info"
expect "^layout: +demo$"
expect "^lanes: +4 x 8192 bytes at 8192$"
expect "^log: +65536 bytes at "
expect "^granularity: "
"$PMTOOL" --json info "$P" > "$OUT" 2>&1 || fail "info --json"
json_ok "$OUT"
expect '"pool":\{"version":2,'
expect '"nlanes":4,'

# not a pool: the mapping only, exit 0
echo hello > "$T/text"
"$PMTOOL" --json info "$T/text" > "$OUT" 2>&1 || fail "info on a file"
json_ok "$OUT"
expect_not '"pool"'

mkpool "$P"
"$PMTOOL" log dump "$P" > "$OUT" 2>&1 || fail "log dump"
[ "$(wc -l < "$OUT")" -eq 16 ] || fail "log dump: not 16 records"
expect "^ +1 +19  log record number 0$"
"$PMTOOL" --json log dump --from 15 "$P" > "$OUT" 2>&1 || fail "dump --json"
json_ok "$OUT"
[ "$(wc -l < "$OUT")" -eq 2 ] || fail "log dump --from 15: not 2 records"

"$PMTOOL" stats "$P" > "$OUT" 2>&1 || fail "stats"
expect "^log records: +16 \(seq 1\.\.16\)$"
"$PMTOOL" --json stats "$P" > "$OUT" 2>&1 || fail "stats --json"
json_ok "$OUT"
expect '"records":16,'

# a heap pool: empty, in text and JSON; a pool without a heap refuses
"$PMTOOL" create --heap "$T/heap" 8M > "$OUT" 2>&1 || fail "create --heap"
"$PMTOOL" heap stats "$T/heap" > "$OUT" 2>&1 || fail "heap stats"
expect "^allocated: +0 bytes in 0 objects$"
expect "^fragmentation: +0\.0 %$"
"$PMTOOL" --json heap stats "$T/heap" > "$OUT" 2>&1 || fail "heap --json"
json_ok "$OUT"
expect '"objects":0,'
"$PMTOOL" heap walk "$T/heap" > "$OUT" 2>&1 || fail "heap walk"
[ ! -s "$OUT" ] || fail "heap walk of an empty heap printed something"
"$PMTOOL" heap stats "$P" > "$OUT" 2>&1 && fail "heap stats, no heap"
expect "not a heap pool"
"$PMTOOL" heap list "$T/heap" > "$OUT" 2>&1
[ $? -eq 2 ] || fail "heap list: not a usage error"

"$PMTOOL" log dump "$T/text" > "$OUT" 2>&1 && fail "log dump on a file"
expect "not a pool"

# numbers: overflow, junk, negative, out of range are usage errors (2)
# naming the option; --lanes 4294967300 once made 4 lanes
bad_number() {
	"$PMTOOL" "$@" > "$OUT" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "pmtool $*: exit $rc, expected 2"
	[ ! -e "$T/n" ] || fail "pmtool $*: created a pool"
}
bad_number create --lanes 4294967300 "$T/n" 1M
expect "^pmtool: --lanes: '4294967300' is out of range \(1\.\.4294967295\)$"
bad_number create --lanes -1 "$T/n" 1M
expect "^pmtool: --lanes: '-1' is negative$"
bad_number create --lanes 0 "$T/n" 1M
expect "out of range"
bad_number create --lanes 4x "$T/n" 1M
expect "^pmtool: --lanes: '4x' is not a number$"
bad_number create --lane-size 99999999999999999999 "$T/n" 1M
expect "^pmtool: --lane-size: '99999999999999999999' is out of range"
bad_number create --log-size 17179869184G "$T/n" 1M
expect "^pmtool: --log-size: '17179869184G' is out of range"
bad_number create "$T/n" 16777216T
expect "^pmtool: SIZE: '16777216T' is out of range"
bad_number create "$T/n" ""
expect "^pmtool: SIZE: '' is not a number$"
# SIZE 0 is all of a device-dax device: a file is refused, none is made
"$PMTOOL" create "$T/n" 0 > "$OUT" 2>&1 && fail "create with SIZE 0"
[ ! -e "$T/n" ] || fail "create with SIZE 0 made a file"
expect "size 0 \(all of it\) is only for a device-dax device"
bad_number log dump --from 1K "$P"
expect "^pmtool: --from: '1K' is not a number$"
if [ -x "${top_builddir:-.}/tools/pmbench" ]; then
	for bad in "--reps 0" "--reps 1x" "--secs -1" "--secs nan"; do
		# shellcheck disable=SC2086
		"${top_builddir:-.}/tools/pmbench" $bad > "$OUT" 2>&1
		[ $? -eq 2 ] || fail "pmbench $bad: not a usage error"
		expect "^pmbench: ${bad%% *}: '${bad#* }' "
	done
fi

# a FIFO without a writer (a plain open for reading blocks): every command
# refuses it at once; timeout turns a hang into a failure (124)
mkfifo "$T/fifo"
for cmd in info stats "log dump" "badblocks list" "badblocks clear"; do
	# shellcheck disable=SC2086
	timeout 10 "$PMTOOL" $cmd "$T/fifo" > "$OUT" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || fail "pmtool $cmd on a FIFO exited $rc, expected 1"
	expect "pmtool: .*/fifo: Invalid argument: a FIFO, not a regular file"
done

echo "PASS: pmtool"
