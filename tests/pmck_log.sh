#!/bin/sh
# pmck on a damaged append log.  A record that fails its checks after the
# last valid one is a torn append only if it was never acknowledged (an
# append a crash cut short): repair drops it and says which seqs.  Damage
# to an acknowledged record, or one that cuts acknowledged records off, is
# fatal: open refuses, and repair changes nothing.  A damaged header slot
# (either one, the newer included) is rewritten from the other one, which
# holds the same log; no valid slot at all cannot be repaired.
. "${top_srcdir:-.}/tests/pmck_lib.sh"

P=$T/pool
LOG_OFF=24576 # 8192 + 4 lanes of 4096 (see mkpool)
REC=48        # bytes of records 16, 17 and 18 (see pmck_fixture.c)

mkpool "$P"
run_pmck 0 -v "$P"
expect "ok: log: 16 records \(seq 1\.\.16\)"

# a crash tore the last append (records 17 and 18 were never closed)
mkpool "$P"
off16=$("$FIXTURE" recoff "$P" 16) || fail "no record 16"
"$FIXTURE" logcrash "$P" 2 || fail "logcrash"
off=$((off16 + 2 * REC))
poke "$P" $((off + 24 + 3)) 21
check_repair "$P" "error: log record at offset $off \(24 bytes\): records from seq 18 after the last valid one are an append a crash cut short; repair: drop 1 record \(seq 18\.\.18, never acknowledged\): the log ends at seq 17"
run_pmck 0 -v "$P"
expect "ok: log: 17 records \(seq 1\.\.17\)"

# the last record of a closed pool damaged: acknowledged, so not torn
mkpool "$P"
off=$("$FIXTURE" recoff "$P" 16) || fail "no record 16"
poke "$P" $((off + 24 + 3)) 21
dry_run_unchanged 4 "$P"
expect "fatal: log record at offset $off \(24 bytes\): acknowledged record seq 16 is damaged; repair: none: open refuses the log; --discard-damaged drops 1 record \(seq 16\.\.16\)"
before=$(sum "$P")
run_pmck 4 --repair "$P"
[ "$(sum "$P")" = "$before" ] || fail "repair dropped an acknowledged record"
"$PMTOOL" log dump "$P" > "$OUT" 2>&1 && fail "pmtool log dump opened it"
expect "seq 16"

# record 5's seq field, then its payload, damaged: 6..16 are cut off
for at in 0 40; do
	mkpool "$P"
	off=$("$FIXTURE" recoff "$P" 5) || fail "no record 5"
	poke "$P" $((off + at)) 7f
	dry_run_unchanged 4 "$P"
	expect "fatal: log record at offset [0-9]+ \(24 bytes\): the log ends at seq 4 before a damaged record: acknowledged records seq 5\.\.16 are lost or cut off; repair: none: open refuses the log; --discard-damaged drops 12 records \(seq 5\.\.16\)"
	before=$(sum "$P")
	run_pmck 4 --repair "$P"
	[ "$(sum "$P")" = "$before" ] || fail "repair dropped records 6..16"
	"$PMTOOL" log dump "$P" > "$OUT" 2>&1 && fail "pmtool log dump opened it"
done

# either header slot damaged, the newer one included, in a pool closed
# (both slots alike) or left open by a crash after two more appends: the
# other slot holds the same log, so nothing is lost
for crashed in 0 1; do
	for newer in 1 0; do
		mkpool "$P"
		[ $crashed = 0 ] || "$FIXTURE" logcrash "$P" 2 ||
			fail "logcrash"
		g0=$(le64 "$P" $((LOG_OFF + 16)))
		g1=$(le64 "$P" $((LOG_OFF + 32 + 16)))
		i=$(( (g1 > g0) == newer ? 1 : 0 ))
		poke "$P" $((LOG_OFF + 32 * i + 8)) 09
		check_repair "$P" "error: log header slot $i at offset $((LOG_OFF + 32 * i)) \(32 bytes\): checksum or fields wrong \(slot $((1 - i)), gen [0-9]+, is used\); repair: recovery rewrites it from slot $((1 - i))"
		run_pmck 0 -v "$P"
		n=$((16 + 2 * crashed))
		expect "ok: log: $n records \(seq 1\.\.$n\)"
	done
done

# both slots damaged: the pool cannot be opened, nothing to rebuild from
mkpool "$P"
poke "$P" $((LOG_OFF + 8)) 09
poke "$P" $((LOG_OFF + 32 + 8)) 09
dry_run_unchanged 4 "$P"
expect "fatal: log header at offset $LOG_OFF \(64 bytes\): neither header slot is valid; repair: none"
before=$(sum "$P")
run_pmck 4 --repair "$P"
[ "$(sum "$P")" = "$before" ] || fail "repair changed an unrepairable log"

done_tests
