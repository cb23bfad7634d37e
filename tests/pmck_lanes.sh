#!/bin/sh
# pmck on transaction lanes: committed transactions not yet applied are
# replayed by --repair exactly as recovery would; one damaged lane header
# slot is rewritten from the other; a lane header with both slots damaged,
# and committed entries cut off by a damaged one, cannot be repaired.
. "${top_srcdir:-.}/tests/pmck_lib.sh"

P=$T/pool
LANES=8192
LANE=4096
DATA=32768 # lanes end at 24576, then the 8 KiB log

# data_str OFFSET: the NUL-terminated string at a data-area offset
data_str() {
	dd if="$P" bs=1 skip=$((DATA + $1)) count=24 status=none | tr -d '\0'
}

# killed right after three commit fences, before applying them
mkpool "$P"
"$FIXTURE" crash "$P" || fail "crash fixture"
[ "$(data_str 0)" = "transaction 0.0" ] || fail "data applied before replay"
check_repair "$P" "error: lane [0-9] at offset [0-9]+ \([0-9]+ bytes\): 3 committed transactions not yet retired \(seq 5\.\.7\); repair: replay them in seq order, as recovery does"
for i in 0 1 2; do
	[ "$(data_str $((128 * i)))" = "transaction 1.$i" ] ||
		fail "transaction 1.$i not replayed"
done
run_pmck 0 -v "$P"
expect "ok: lane 0: retired 7, nothing to replay"

# one lane header slot damaged: the other one is used, and recovery
# rewrites the damaged one
mkpool "$P"
poke "$P" $((LANES + 2 * LANE + 8)) 0d
check_repair "$P" "error: lane 2 header slot 0 at offset $((LANES + 2 * LANE)) \(32 bytes\): invalid \(checksum mismatch\): torn by a crash or damaged; repair: recovery rewrites it from slot 1"
poke "$P" $((LANES + 1 * LANE + 32)) ff
check_repair "$P" "error: lane 1 header slot 1 at offset $((LANES + LANE + 32)) \(32 bytes\): invalid .*; repair: recovery rewrites it from slot 0"

# both slots damaged: recovery refuses the pool; so does pmck
mkpool "$P"
poke "$P" $((LANES + 2 * LANE + 8)) 0d
poke "$P" $((LANES + 2 * LANE + 32 + 8)) 0d
dry_run_unchanged 4 "$P"
expect "fatal: lane 2 at offset $((LANES + 2 * LANE)) \(64 bytes\): lane header damaged: neither slot is valid \(slot 0: checksum mismatch; slot 1: checksum mismatch\); repair: none"
before=$(sum "$P")
run_pmck 4 --repair "$P"
[ "$(sum "$P")" = "$before" ] || fail "repair changed the pool"

# the first of three pending entries damaged: the other two are cut off
mkpool "$P"
"$FIXTURE" crash "$P" || fail "crash fixture"
run_pmck 4 --json "$P"
lane=$(sed -n 's/.*"structure":"lane \([0-9]\)".*/\1/p' "$OUT")
# both header slots hold hint 0: the fixture's commits never advance it
hint=$(le64 "$P" $((LANES + lane * LANE + 8)))
poke "$P" $((LANES + lane * LANE + 64 + hint + 40)) ff
dry_run_unchanged 4 "$P"
expect "fatal: lane $lane at offset .*: 2 committed transactions from seq 6 cut off by a damaged entry at the chain's end; repair: none"
run_pmck 4 --repair "$P"
expect "left uncorrected"
expect "cut off by a damaged entry.*\\[not repaired\\]"

# the same plus a repairable finding in the same area: --repair changes
# nothing that the fatal finding protects, and says so
other=$(((lane + 1) % 4))
poke "$P" $((LANES + other * LANE + 8)) 0d
before=$(sum "$P")
run_pmck 4 --repair "$P"
expect "fatal: lane $lane .*cut off.*\\[not repaired\\]"
expect "error: lane $other header slot 0 .*\\[not repaired\\]"
[ "$(sum "$P")" = "$before" ] || fail "repair touched a pool with a fatal finding"
run_pmck 4 -n "$P"
expect "fatal: lane $lane .*2 committed transactions from seq 6 cut off"

# dropping them is asked for by name, and counted
run_pmck 16 --discard-damaged "$P"
run_pmck 1 --repair --discard-damaged "$P"
expect "fatal|error: lane $lane .*cut off.*repair: discard 2 committed transactions \\(seq 6\\.\\.7, [0-9]+ bytes\\) \\[data dropped by a destructive repair\\]"
expect "discarded 2 committed transactions \\(seq 6\\.\\.7, [0-9]+ bytes\\)"
expect "lane $other header slot 0 .*\\[repaired\\]"
run_pmck 0 -n "$P"
# 1.0 (seq 5) was the damaged one; 1.1 and 1.2 were dropped, not applied
for i in 0 1 2; do
	[ "$(data_str $((128 * i)))" = "transaction 0.$i" ] ||
		fail "a dropped transaction was applied"
done

done_tests
