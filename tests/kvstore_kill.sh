#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# kvstore_kill.sh - examples/kvstore on the heap: keys and values of any
# length, a table that grows and shrinks, and 120 SIGKILLs in the middle of
# random puts, deletes and rehashes (KVSTORE_KILLS of them if set).  After
# each kill the map is whole (every value is its key repeated, as churn
# writes them) and the heap holds exactly the map's objects; pmck finds the
# pool clean at the end.
set -e
K=${top_builddir:-.}/examples/kvstore
f=${TMPDIR:-/dev/shm}/kvstore-kill.$$
trap 'rm -f "$f"' EXIT
rm -f "$f"

whole() {
	"$K" "$f" check >/dev/null || { "$K" "$f" check; exit 1; }
	"$K" "$f" list | awk '{
		i = index($0, "="); k = substr($0, 1, i - 1); v = substr($0, i + 1)
		w = ""; while (length(w) < length(v)) w = w k
		if (substr(w, 1, length(v)) != v) { print "torn: " $0; exit 1 }
	}'
}

# A 3000-byte key and a 40000-byte value, then hundreds of keys: the table
# grows from 16 slots; deleting them all shrinks it again.
long=$(printf '%03000d' 7)
val=$(printf '%040000d' 9)
"$K" "$f" put "$long" "$val"
[ "$("$K" "$f" get "$long")" = "$val" ] || { echo "long value lost"; exit 1; }
"$K" "$f" del "$long"
slots() { "$K" "$f" check | sed -n 's/.* of \([0-9]*\) slots: ok$/\1/p'; }
[ "$(slots)" -eq 16 ]
"$K" "$f" churn 1000 1
whole
[ "$(slots)" -ge 1024 ] || { "$K" "$f" check; exit 1; }
keys=$("$K" "$f" list | cut -d= -f1)
# shellcheck disable=SC2086 # one argument per key (no spaces in them)
"$K" "$f" del $keys
"$K" "$f" check | grep -q "^0 keys.* of 16 slots: ok" ||
	{ "$K" "$f" check; exit 1; }

kills=${KVSTORE_KILLS:-120}
i=0
while [ "$i" -lt "$kills" ]; do
	"$K" "$f" churn 100000000 "$i" 2>/dev/null &
	pid=$!
	sleep 0.0$((i % 7 + 1))
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	whole
	i=$((i + 1))
done
"$K" "$f" check
"${top_builddir:-.}/tools/pmck" "$f" >/dev/null || "${top_builddir:-.}/tools/pmck" "$f"
echo "kvstore: $kills kills, map whole, no leak"
