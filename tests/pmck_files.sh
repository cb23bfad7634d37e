#!/bin/sh
# pmck on things that are not (whole) pools, and its command line:
# usage errors exit 16, files it cannot check exit 8, a truncated pool
# is damage that cannot be repaired (4), several files OR their codes.
. "${top_srcdir:-.}/tests/pmck_lib.sh"

# usage
run_pmck 16
expect "usage: pmck"
run_pmck 16 -n -y "$T/x"
run_pmck 16 --no-such-option "$T/x"
run_pmck 16 -q -v "$T/x"
run_pmck 0 --help
expect "usage: pmck"

# cannot open
run_pmck 8 "$T/missing"
expect "No such file"
run_pmck 8 "$T"
expect "not a regular file"
# a FIFO without a writer (a plain open for reading blocks) and a device:
# refused at once; timeout turns a hang into a failure (124)
mkfifo "$T/fifo"
for f in "$T/fifo" /dev/null; do
	for opt in -n --repair; do
		NTESTS=$((NTESTS + 1))
		timeout 10 "$PMCK" $opt "$f" > "$OUT" 2>&1
		rc=$?
		[ "$rc" -eq 8 ] || fail "pmck $opt $f exited $rc, expected 8"
		expect "not a regular file"
	done
done
rm "$T/fifo"

# empty, zero-filled, random, text, another format: "not a pool", 8
: > "$T/empty"
run_pmck 8 "$T/empty"
expect "not a libpm pool"
head -c 1048576 /dev/zero > "$T/zero"
dry_run_unchanged 8 "$T/zero"
expect "not a libpm pool"
run_pmck 8 --repair "$T/zero"
head -c 65536 /dev/urandom > "$T/random"
before=$(sum "$T/random")
run_pmck 8 --repair "$T/random"
[ "$(sum "$T/random")" = "$before" ] || fail "repair changed a non-pool"
echo "hello, world" > "$T/text"
run_pmck 8 "$T/text"
expect "not a libpm pool"
if command -v pmempool > /dev/null &&
	pmempool create obj --size=8M "$T/obj" 2> /dev/null; then
	run_pmck 8 "$T/obj"
	expect "not a libpm pool"
	run_pmck 8 --json "$T/obj"
	expect '"result":"error","exit":8,"error":"not a libpm pool"'
fi

# a clean pool; several files OR their exit codes
mkpool "$T/pool"
dry_run_unchanged 0 "$T/pool"
expect "$T/pool: clean"
run_pmck 8 "$T/pool" "$T/zero"
expect "$T/pool: clean"
run_pmck 0 -q "$T/pool"
[ ! -s "$OUT" ] || fail "-q printed something"
run_pmck 0 -v "$T/pool"
expect "ok: header A"
expect "ok: header B"
expect "ok: data area"

# JSON: one object per file per line
run_pmck 8 --json "$T/pool" "$T/zero"
[ "$(wc -l < "$OUT")" -eq 2 ] || fail "--json: not one line per file"
expect '^\{"file":"[^"]*/pool","findings":\[\],"result":"clean","exit":0'
if command -v python3 > /dev/null; then
	python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$OUT" ||
		fail "--json output is not JSON"
fi

# open in another process: operational error, nothing touched
if command -v flock > /dev/null; then
	flock -x "$T/pool" sleep 5 &
	locker=$!
	sleep 0.3
	run_pmck 8 --repair "$T/pool"
	expect "open in another process"
	kill "$locker" 2> /dev/null
	wait "$locker" 2> /dev/null
fi

# truncated: the header says more than the file has; not repairable
mkpool "$T/trunc"
truncate -s $((POOL_SIZE - 4096)) "$T/trunc"
dry_run_unchanged 4 "$T/trunc"
expect "fatal: header A.*file is $((POOL_SIZE - 4096)) bytes"
run_pmck 4 --repair "$T/trunc"
expect "left uncorrected"
# cut inside the header area: still recognised as a damaged pool
mkpool "$T/short"
truncate -s 300 "$T/short"
run_pmck 4 "$T/short"
expect "fatal"

done_tests
