#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The ABI three ways must agree: what libpm.so exports (nm -D), what
# libpm.sym lists, what the PM_EXPORT definitions say, and what the man
# pages document (NAME sections and .so links).  libpm.sym may list names
# whose modules are not written yet; everything implemented must be in it
# and must have a man page, and no page may document what is not exported.
set -eu
src=${top_srcdir:-.}
bld=${top_builddir:-.}
so=$bld/.libs/libpm.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -f "$so" ] || { echo "SKIP: $so not built (static-only build)"; exit 77; }

${NM:-nm} -D --defined-only "$so" | awk '$2 ~ /^[TW]$/ { sub(/@.*/, "", $3); print $3 }' |
	grep '^pm_' | sort -u >"$tmp/so"
sed -n 's/^[[:space:]]*\(pm_[a-z0-9_]*\);$/\1/p' "$src/libpm/libpm.sym" | sort -u >"$tmp/sym"
cat "$src"/libpm/*.c "$src"/libpm/*/*.c | tr '\n' ' ' |
	grep -o 'PM_EXPORT[^(;{]*(' | grep -o 'pm_[a-z0-9_]*($' | tr -d '(' |
	sort -u >"$tmp/def"
for f in "$src"/libpm/man/*.3; do
	if head -n 1 "$f" | grep -q '^\.so '; then
		basename "$f" .3
	else
		awk '/^\.SH/ { on = ($2 == "NAME"); next } on' "$f" |
			tr '\n' ' ' | sed 's/\\-.*//' | tr ',' '\n'
		echo
	fi
done | tr -d ' ' | grep . | sort -u >"$tmp/man"

fail=0
report() {
	if [ -s "$2" ]; then
		echo "FAIL: $1:"; sed 's/^/  /' "$2"; fail=1
	fi
}
comm -23 "$tmp/so" "$tmp/sym" >"$tmp/x"; report "exported but not in libpm.sym" "$tmp/x"
comm -23 "$tmp/so" "$tmp/man" >"$tmp/x"; report "exported but no man page" "$tmp/x"
comm -23 "$tmp/so" "$tmp/def" >"$tmp/x"; report "exported without a PM_EXPORT definition" "$tmp/x"
comm -23 "$tmp/def" "$tmp/so" >"$tmp/x"; report "PM_EXPORT but not exported (missing from libpm.sym?)" "$tmp/x"
comm -23 "$tmp/man" "$tmp/so" >"$tmp/x"; report "documented but not exported" "$tmp/x"
n=$(wc -l <"$tmp/so")
[ "$n" -gt 0 ] || { echo "FAIL: no pm_ symbol exported by $so"; fail=1; }
[ $fail = 0 ] && echo "ok: $n exported symbols, each in libpm.sym and documented"
exit $fail
