# shellcheck shell=sh
# Helpers shared by the tests/pmck_*.sh scripts (sourced, not run).
#
# Each script makes small pools in a private directory, damages one thing,
# and asserts pmck's exact finding and exit code, the repair, and a clean
# check after it.  Dry runs must leave the file byte-for-byte unchanged.

set -u
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
PMCK=$top_builddir/tools/pmck
# shellcheck disable=SC2034 # used by the scripts that source this file
PMTOOL=$top_builddir/tools/pmtool
FIXTURE=$top_builddir/tests/pmck_fixture
T=$(mktemp -d "${TMPDIR:-/tmp}/pmck.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
OUT=$T/out
NTESTS=0

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$OUT" ]; then
		echo "---- pmck output:" >&2
		cat "$OUT" >&2
	fi
	exit 1
}

# Size in bytes of the test pools: 4 lanes of 4 KiB, an 8 KiB log, data.
POOL_SIZE=$((256 * 1024))

# mkpool FILE: a pool closed cleanly, with transactions and log records.
mkpool() {
	rm -f "$1"
	"$FIXTURE" make "$1" "$POOL_SIZE" || fail "cannot make pool $1"
}

# poke FILE OFFSET HEXBYTES: overwrite bytes in place ("poke f 8 ff00").
# Octal escapes: \xHH is not POSIX, and dash's printf prints it as is.
poke() {
	printf '%b' "$(echo "$3" | sed 's/../ 0x&/g' | xargs printf '\\0%03o')" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none ||
		fail "poke $1 $2"
}

# peek FILE OFFSET LEN: the bytes as hex.
peek() {
	od -An -tx1 -v -j "$2" -N "$3" "$1" | tr -d ' \n'
}

# le64 FILE OFFSET: an on-media little-endian 64-bit value, in decimal.
le64() {
	od -An -tu8 -j "$2" -N 8 "$1" | tr -d ' '
}

# fill FILE OFFSET LEN BYTE: overwrite a range with one byte value (hex).
fill() {
	head -c "$3" /dev/zero | tr '\0' "\\$(printf %o 0x"$4")" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none ||
		fail "fill $1"
}

sum() {
	cksum < "$1"
}

# run_pmck CODE ARGS...: run pmck, assert its exit code, keep its output.
run_pmck() {
	want=$1
	shift
	NTESTS=$((NTESTS + 1))
	"$PMCK" "$@" > "$OUT" 2>&1
	rc=$?
	[ "$rc" -eq "$want" ] ||
		fail "pmck $* exited $rc, expected $want"
}

# expect REGEX: pmck's last output must match (grep -E).
expect() {
	grep -Eq -- "$1" "$OUT" || fail "output does not match: $1"
}

# expect_not REGEX
expect_not() {
	! grep -Eq -- "$1" "$OUT" || fail "output matches: $1"
}

# dry_run_unchanged CODE FILE: a dry run exits CODE and changes nothing;
# the text output of the last run is kept.
dry_run_unchanged() {
	before=$(sum "$2")
	run_pmck "$1" -n --json "$2"
	[ "$(sum "$2")" = "$before" ] || fail "dry run --json changed $2"
	run_pmck "$1" "$2"
	[ "$(sum "$2")" = "$before" ] || fail "dry run changed $2"
}

# check_repair FILE REGEX: damage found by a dry run (exit 4, REGEX), fixed
# by --repair (exit 1, "[repaired]"), then clean (exit 0).
check_repair() {
	dry_run_unchanged 4 "$1"
	expect "$2"
	expect "run with --repair"
	run_pmck 1 --repair "$1"
	expect "$2.*\\[repaired\\]"
	expect "corrected"
	run_pmck 0 "$1"
	expect "$1: clean"
}

done_tests() {
	echo "PASS: $NTESTS pmck runs"
	exit 0
}
