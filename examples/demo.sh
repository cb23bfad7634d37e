#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# demo.sh - the make demo: a bank kept in a pool file, moved by
# transactions, killed with SIGKILL in mid-transfer and checked after each
# kill; then a crash-safe key-value store on the pool's heap, killed the
# same way in the middle of its puts, deletes and rehashes.
set -e
B=${top_builddir:-.}/examples/bank
K=${top_builddir:-.}/examples/kvstore
# tmpfs when there is one: without DAX every flush is an msync, cheap there
dir=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp)/libpm-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
pool=$dir/bank.pool

echo "== a bank of 1000 accounts of 1000 each, in $pool"
"$B" "$pool" init 1000
"$B" "$pool" transfer 20000 1
echo "== transfers killed with SIGKILL at random moments; the total must hold"
for i in 1 2 3 4 5; do
	"$B" "$pool" transfer 1000000000 "$i" &
	pid=$!
	sleep 0.$((i + 1))
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	printf 'killed %d: ' "$i"
	"$B" "$pool" --check
done
echo "== a key-value store on the heap: every put and delete is one transaction"
kv=$dir/kv.pool
"$K" "$kv" put pmem "persistent memory"
"$K" "$kv" put dax "direct access"
"$K" "$kv" del dax
"$K" "$kv" list
echo "== random puts and deletes killed with SIGKILL; the map must stay whole"
echo "   and the heap must hold exactly its objects (no leak)"
for i in 1 2 3 4 5 6 7 8 9 10; do
	"$K" "$kv" churn 1000000000 "$i" &
	pid=$!
	sleep 0.0$((i % 7 + 2))
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	printf 'killed %d: ' "$i"
	"$K" "$kv" check
done
echo "== what the store's heap holds: its keys, the table and the root"
"${top_builddir:-.}/tools/pmtool" heap stats "$kv"
echo "== pmck: a full check of both pools after the kills"
"${top_builddir:-.}/tools/pmck" "$pool"
"${top_builddir:-.}/tools/pmck" "$kv"
