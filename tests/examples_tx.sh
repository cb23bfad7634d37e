#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# examples_tx.sh - examples/bank and examples/kvstore: results, and the
# bank's total after being killed with SIGKILL in the middle of transfers.
set -e
B=${top_builddir:-.}/examples/bank
K=${top_builddir:-.}/examples/kvstore
f=${TMPDIR:-/dev/shm}/bank.$$
k=${TMPDIR:-/dev/shm}/kvstore.$$
trap 'rm -f "$f" "$k"' EXIT
rm -f "$f" "$k"

"$B" "$f" init 1000 >/dev/null
"$B" "$f" transfer 2000 1 | grep -q "2000 transfers, total 1000000 (ok)"
i=0
while [ "$i" -lt 10 ]; do
	"$B" "$f" transfer 100000000 "$i" >/dev/null 2>&1 &
	pid=$!
	sleep 0.0$((i % 7 + 1))
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	"$B" "$f" --check >/dev/null || { "$B" "$f" --check; exit 1; }
	i=$((i + 1))
done
"$B" "$f" --check

"$K" "$k" put alpha 1
"$K" "$k" put beta 2
"$K" "$k" put alpha 3
[ "$("$K" "$k" get alpha)" = 3 ] || { echo "alpha != 3"; exit 1; }
"$K" "$k" del beta
if "$K" "$k" get beta >/dev/null; then echo "beta not deleted"; exit 1; fi
[ "$("$K" "$k" list)" = "alpha=3" ] || { echo "list wrong"; exit 1; }
echo "kvstore: ok"
