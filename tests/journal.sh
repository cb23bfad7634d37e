#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# journal.sh - run examples/journal through restarts, checkpoints and laps
# of its log: the balance is always the sum of every deposit.
set -e
J=${top_builddir:-.}/examples/journal
f=${TMPDIR:-/dev/shm}/journal.$$
trap 'rm -f "$f"' EXIT
rm -f "$f"
expect() {
	got=$("$J" "$f" balance)
	[ "$got" = "balance $1" ] || { echo "want balance $1, got '$got'"; exit 1; }
}
"$J" "$f" add 100 -30 5 >/dev/null
expect 75
"$J" "$f" checkpoint
"$J" "$f" add 10 >/dev/null
expect 85
"$J" "$f" checkpoint
"$J" "$f" checkpoint
expect 85
# ~2 laps of the 64 KiB log (32-byte records), with a checkpoint each round
total=85
i=0
while [ "$i" -lt 70 ]; do
	"$J" "$f" add $(seq 1 64) >/dev/null
	total=$((total + 2080))
	if [ $((i % 3)) -eq 2 ]; then "$J" "$f" checkpoint; fi
	i=$((i + 1))
done
expect "$total"
# Without checkpoints the log fills up and the journal says so.
i=0
while "$J" "$f" add $(seq 1 64) >/dev/null 2>&1; do i=$((i + 1)); done
[ "$i" -lt 40 ] || { echo "log never filled"; exit 1; }
"$J" "$f" checkpoint
"$J" "$f" add 1 >/dev/null
expect $((total + 2080 * i + 1))
echo "journal: balance $((total + 2080 * i + 1)) after $((70 + i)) batches"
