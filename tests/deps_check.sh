#!/bin/bash
# deps_check.sh SRCDIR BUILDDIR - the layers of libpm point one way.
#
# Two graphs between the modules of libpm/ (a module is a .c and the .h
# named after it; the table below maps the rest):
#  - includes: every #include "..." of SRCDIR/libpm; a module may not
#    include the header of a module of a higher layer, and the graph has
#    no cycle;
#  - calls: the objects of libpm.la in BUILDDIR/libpm (nm): an undefined
#    symbol is an edge to the module that defines it; no cycle, neither
#    in it nor in its union with the includes.
# Exits 1 naming every offending include and every cycle (with the names
# that tie it), 0 if both graphs are clean.
set -euo pipefail

src=${1:?usage: deps_check.sh SRCDIR BUILDDIR}/libpm
obj=${2:?usage: deps_check.sh SRCDIR BUILDDIR}/libpm

# Layer of each module: 0 platform, 1 mapping and persistence (1.0 the
# persistence tables, 1.1 the mapping, 1.2 what runs on a mapping: the
# public persist API, safe reads, the crash simulator), 2 pool structures
# (2.0 pool, 2.1 what runs on it, 2.2 open), 3 checker (3.0 reading and
# findings, 3.1 the area checkers, 3.2 the driver).
layers='
alloc 0 arch 0 crc 0 fault 0 os 0 sysfs 0 testhook 0 util 0
eadr 10 persist 10 map 11 flush 12 safe 12 sim 12
pool 20 badblocks 21 bbmap 21 heap 21 lane 21 log 21 redo 21 tx 21
txrecov 21 usc 21 halloc 21 hquery 21 open 22
check_scan 30 check_area 31 check 32
'
# Headers every module may include: no module of their own.
leaves=' internal layout arch libpm '

fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Module of a file given relative to libpm/ ("x86_64/init.c", "log.h").
module() {
	local f=$1 b
	case $f in
	x86_64/* | aarch64/* | generic/*) echo arch; return ;;
	esac
	b=${f##*/}
	b=${b%.*}
	case $b in
	badblocks_ndctl | badblocks_none) b=badblocks ;;
	usc_ndctl | usc_none) b=usc ;;
	sim_image | sim_trace) b=sim ;;
	esac
	echo "$b"
}

layer() {
	awk -v m="$1" '{ for (i = 1; i < NF; i += 2) if ($i == m) print $(i + 1) }' \
		<<<"$layers"
}

# Print every cycle of the edge list $1 ("from to why" lines) as the set
# of modules that reach each other (a strongly connected component), with
# the edges inside it, and fail.
cycles() {
	local edges=$1 what=$2
	awk -v what="$what" '
	$1 != $2 {
		n[$1]; n[$2]; r[$1, $2] = 1
		if (index(w[$1, $2], " " $3 " ") == 0) w[$1, $2] = w[$1, $2] " " $3 " "
	}
	END {
		for (k in n) for (i in n) if (r[i, k]) for (j in n)
			if (r[k, j]) r[i, j] = 1
		for (i in n) {
			if (done[i] || !r[i, i]) continue
			c = ""
			for (j in n) if (r[i, j] && r[j, i]) { c = c " " j; done[j] = 1 }
			print "deps-check: " what " cycle:" c
			split(c, m, " ")
			for (x in m) for (y in m) if (w[m[x], m[y]] != "") {
				t = w[m[x], m[y]]; gsub(/  +/, " ", t)
				print "    " m[x] " -> " m[y] ":" t
			}
			bad = 1
		}
		exit bad
	}' "$edges" || fail=1
}

# ---- includes ----------------------------------------------------------
: >"$work/inc"
while IFS= read -r f; do
	rel=${f#"$src"/}
	from=$(module "$rel")
	if [[ $leaves == *" $from "* && $rel == *.h && $rel != */* ]]; then
		from=leaf:$rel
	fi
	dir=${rel%/*}
	[ "$dir" = "$rel" ] && dir=.
	{ grep -o '^#include "[^"]*"' "$f" || true; } | sed 's/^#include "//; s/"$//' |
		while IFS= read -r inc; do
			if [ -e "$src/$dir/$inc" ]; then
				t=$(realpath -m --relative-to="$src" "$src/$dir/$inc")
			else
				t=$inc
			fi
			[ -e "$src/$t" ] || continue # a system or generated header
			to=$(module "$t")
			[[ $leaves == *" $to "* && $t != */* ]] && continue
			echo "$from $to $rel:$inc"
		done >>"$work/inc"
done < <(find "$src" -name '*.[ch]' | sort)

while read -r from to why; do
	[ "$from" = "$to" ] && continue
	if [[ $from == leaf:* ]]; then
		echo "deps-check: $why: the leaf header ${from#leaf:} includes" \
			"a module's header"
		fail=1
		continue
	fi
	lf=$(layer "$from")
	lt=$(layer "$to")
	for m in "$from:$lf" "$to:$lt"; do
		if [ -z "${m#*:}" ]; then
			echo "deps-check: module ${m%%:*} has no layer (add it to" \
				"the table in tests/deps_check.sh)"
			fail=1
		fi
	done
	if [ -z "$lf" ] || [ -z "$lt" ]; then
		continue
	fi
	if [ "$lt" -gt "$lf" ]; then
		echo "deps-check: $why: $from (layer $lf) includes $to" \
			"(layer $lt), which is above it"
		fail=1
	fi
done <"$work/inc"
cycles "$work/inc" include

# ---- calls -------------------------------------------------------------
# libtool's objects of libpm.la: PIC ones in .libs/, others beside them.
mapfile -t objs < <(find "$obj" -name 'la-*.o' | sort)
if [ "${#objs[@]}" -eq 0 ]; then
	echo "deps-check: no objects of libpm.la under $obj (build first)"
	exit 1
fi
: >"$work/def"
: >"$work/und"
for o in "${objs[@]}"; do
	rel=${o#"$obj"/}
	rel=${rel/.libs\//}
	rel=${rel/la-/}
	m=$(module "$rel")
	nm --defined-only -g "$o" | awk -v m="$m" 'NF == 3 { print $3, m }' \
		>>"$work/def"
	nm -u "$o" | awk -v m="$m" '{ print $NF, m }' >>"$work/und"
done
sort -u "$work/def" >"$work/def.s"
sort -u "$work/und" >"$work/und.s"
join "$work/und.s" "$work/def.s" | awk '{ print $2, $3, $1 }' >"$work/calls"
cycles "$work/calls" call
# A module may include another's header for its types and be called by
# it: together they tie the same knot.
cat "$work/inc" "$work/calls" >"$work/both"
cycles "$work/both" include+call

if [ "$fail" -ne 0 ]; then
	echo "deps-check: FAILED"
	exit 1
fi
edges() { awk '$1 != $2 { print $1, $2 }' "$1" | sort -u | wc -l; }
echo "deps-check: $(edges "$work/inc") include and $(edges "$work/calls")" \
	"call edges between modules: no cycle, no include upward"
