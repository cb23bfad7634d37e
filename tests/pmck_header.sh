#!/bin/sh
# pmck on damaged pool headers: one field or one whole copy damaged is
# rewritten from the other copy; both copies damaged cannot be repaired.
. "${top_srcdir:-.}/tests/pmck_lib.sh"

A=0
B=4096
P=$T/pool

# set64 FILE OFFSET VALUE: store a little-endian 64-bit value.
set64() {
	poke "$1" "$2" "$(printf %016x "$3" |
		sed 's/\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)/\8\7\6\5\4\3\2\1/')"
}

# a stray byte in the checksummed part of copy B
mkpool "$P"
poke "$P" $((B + 200)) 5a
check_repair "$P" "error: header B at offset 4096 \(512 bytes\): checksum mismatch; repair: rewrite header B from header A"

# the checksum field itself
mkpool "$P"
poke "$P" $((A + 508)) 00000000
check_repair "$P" "error: header A at offset 0 .*checksum mismatch; repair: rewrite header A from header B"

# copy A's magic gone, then all of copy A zeroed, then random
mkpool "$P"
poke "$P" $A 00
check_repair "$P" "error: header A .*no pool magic; repair: rewrite header A from header B"
fill "$P" $A 4096 00
check_repair "$P" "error: header A .*no pool magic"
head -c 512 /dev/urandom | dd of="$P" conv=notrunc status=none
check_repair "$P" "error: header A .*(no pool magic|checksum)"

# fields damaged with a valid checksum: pool.c's own geometry checks
mkpool "$P"
poke "$P" $((B + 8)) 03000000
"$FIXTURE" seal "$P" $B
check_repair "$P" "error: header B .*format version not supported"
set64 "$P" $((A + 104)) 12345
"$FIXTURE" seal "$P" $A
check_repair "$P" "error: header A .*data_size does not match pool_size"
poke "$P" $((B + 136)) 00000000
"$FIXTURE" seal "$P" $B
check_repair "$P" "error: header B .*nlanes out of range"
set64 "$P" $((A + 120)) 4096
"$FIXTURE" seal "$P" $A
check_repair "$P" "error: header A .*lanes_off is not 8192"

# a valid but older copy (an update cut between B and A) is rewritten
mkpool "$P"
set64 "$P" $((A + 16)) 7
"$FIXTURE" seal "$P" $A
check_repair "$P" "error: header B .*valid but older than header A \(gen 1 < 7\); repair: rewrite header B from header A"
[ "$(le64 "$P" $((B + 16)))" = 7 ] || fail "header B gen not rewritten"

# both copies damaged: fatal, and --repair leaves the file alone
mkpool "$P"
poke "$P" $((A + 300)) 11
poke "$P" $((B + 300)) 22
dry_run_unchanged 4 "$P"
expect "fatal: header A .*checksum mismatch; repair: none"
expect "fatal: header B .*checksum mismatch; repair: none"
expect "2 errors left uncorrected$"
before=$(sum "$P")
run_pmck 4 --repair "$P"
[ "$(sum "$P")" = "$before" ] || fail "repair changed an unrepairable pool"

# both copies claim more than the file holds: truncated, fatal
mkpool "$P"
for h in $A $B; do
	set64 "$P" $((h + 104)) $((POOL_SIZE * 2))
	set64 "$P" $((h + 168)) $((POOL_SIZE * 2 - $(le64 "$P" $((h + 160)))))
	"$FIXTURE" seal "$P" "$h"
done
dry_run_unchanged 4 "$P"
expect "fatal: header A .*file is $POOL_SIZE bytes but pool_size is $((POOL_SIZE * 2))"

# a newer format version in both copies: not checkable here, exit 8
mkpool "$P"
for h in $A $B; do
	poke "$P" $((h + 8)) 09000000
	"$FIXTURE" seal "$P" "$h"
done
run_pmck 8 "$P"
expect "unsupported pool format version"

done_tests
