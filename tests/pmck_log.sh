#!/bin/sh
# pmck on a damaged append log: a torn or damaged record ends the log
# there (repair drops it for good), a damaged header slot is rewritten by
# recovery, and no valid slot at all cannot be repaired.
. "${top_srcdir:-.}/tests/pmck_lib.sh"

P=$T/pool
LOG_OFF=24576 # 8192 + 4 lanes of 4096 (see mkpool)

mkpool "$P"
run_pmck 0 -v "$P"
expect "ok: log: 16 records \(seq 1\.\.16\)"

# the last record damaged: it looks exactly like a torn append
off=$("$FIXTURE" recoff "$P" 16) || fail "no record 16"
poke "$P" $((off + 24 + 3)) 21
check_repair "$P" "error: log record at offset $off \(24 bytes\): record seq 16 after the last valid one fails its checks.*repair: drop it: the log ends at seq 15"
run_pmck 0 -v "$P"
expect "ok: log: 15 records \(seq 1\.\.15\)"
[ "$(peek "$P" "$off" 8)" = 0000000000000000 ] ||
	fail "the torn record's seq word was not cleared"

# a record in the middle: the log ends before it, and says so
mkpool "$P"
off=$("$FIXTURE" recoff "$P" 8) || fail "no record 8"
poke "$P" $((off + 20)) 00000000
check_repair "$P" "error: log record at offset $off .*record seq 8 .*the log ends at seq 7"
run_pmck 0 -v "$P"
expect "ok: log: 7 records \(seq 1\.\.7\)"

# the slot not in use (slot 0 after create and one open) is rewritten
mkpool "$P"
poke "$P" $((LOG_OFF + 8)) 09
check_repair "$P" "error: log header slot 0 at offset $LOG_OFF \(32 bytes\): checksum or fields wrong \(slot 1, gen [0-9]+, is used\); repair: recovery rewrites it from slot 1"

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
