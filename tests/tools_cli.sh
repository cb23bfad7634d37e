#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pmck and pmtool as their peers behave: --version names the tool and
# libpm's version, an error names the file and the cause on one line, and
# the bash completion offers their commands and options.
set -eu
src=${top_srcdir:-.}
bld=${top_builddir:-.}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

ver=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$bld/config.h")
for t in pmck pmtool; do
	out=$("$bld/tools/$t" --version)
	echo "$out"
	[ "$out" = "$t (libpm) $ver" ] || fail "$t --version"
	[ "$("$bld/tools/$t" -V)" = "$out" ] || fail "$t -V"
done

# One line on stderr: tool, file, the error, what the library found.
err() { # EXPECTED-START TOOL ARGS...
	want=$1
	shift
	if "$@" >/dev/null 2>"$d/err"; then fail "$* succeeded"; fi
	cat "$d/err"
	[ "$(wc -l <"$d/err")" -eq 1 ] || fail "$*: not one line"
	case $(cat "$d/err") in "$want"*) ;; *) fail "$*: want '$want'" ;; esac
}
head -c 65536 /dev/zero >"$d/zero"
err "pmck: $d/none: No such file or directory" "$bld/tools/pmck" "$d/none"
err "pmck: $d: " "$bld/tools/pmck" "$d"
err "pmck: $d/zero: not a libpm pool: no pool magic in either header copy" \
	"$bld/tools/pmck" "$d/zero"
err "pmtool: $d/none: No such file or directory" \
	"$bld/tools/pmtool" info "$d/none"
err "pmtool: $d/zero: not a libpm pool" "$bld/tools/pmtool" stats "$d/zero"

command -v bash >/dev/null || exit 0
comp() { # SCRIPT WORDS... -> the completions of the last word
	bash -c '. "$1"; shift; f=_$1; COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1)); $f; echo "${COMPREPLY[*]}"' \
		comp "$src/tools/completion/$1" "$@"
}
[ "$(comp pmck --re)" = --repair ] || fail "pmck completion"
[ "$(comp pmck --vers)" = --version ] || fail "pmck --version completion"
[ "$(comp pmtool --json bad)" = badblocks ] || fail "pmtool command"
[ "$(comp pmtool log d)" = dump ] || fail "pmtool log dump"
[ "$(comp pmtool create --lane)" = "--lanes --lane-size" ] ||
	fail "pmtool create options"
echo ok
