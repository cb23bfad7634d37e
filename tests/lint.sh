#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# lint.sh CHECK - the tree's habits, over the files git tracks; CHECK is
# the make target of the same name:
#   format-check  clang-format --dry-run -Werror (.clang-format) over the C
#                 files of libpm/ tools/ tests/ examples/; lists offenders
#   format        clang-format -i over the same files
#   (shellcheck)  every shell script: *.sh, a #! naming a shell, or a
#                 "shell=" directive for shellcheck
#   spellcheck    codespell over every file (.codespellrc: domain words)
# Exit 0 clean, 1 findings, 77 (skipped, with the reason) when the tool or
# git is missing.  CLANG_FORMAT names another clang-format (the style is
# tuned for clang-format 14, Debian 12's).
set -euo pipefail
cd "${top_srcdir:-$(dirname "$0")/..}"
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}

skip() {
	echo "$1: skipped: $2" >&2
	exit 77
}

need() { # CHECK TOOL
	command -v "$2" >/dev/null || skip "$1" "$2 is not installed"
	git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
		skip "$1" "not a git checkout (the file list is git's)"
}

c_files() {
	git ls-files -- 'libpm/*.[ch]' 'tools/*.[ch]' 'tests/*.[ch]' \
		'examples/*.[ch]'
}

shell_scripts() {
	{
		git ls-files -- '*.sh'
		git ls-files -z | xargs -0 awk '
			FNR == 1 && /^#!.*[ \/](ba)?sh( |$)/ ||
			/^# shellcheck shell=/ { print FILENAME; nextfile }'
	} | sort -u
}

format_check() {
	local f bad=0

	need format-check "$CLANG_FORMAT"
	"$CLANG_FORMAT" --version
	while IFS= read -r f; do
		if ! "$CLANG_FORMAT" --dry-run -Werror "$f" 2>/dev/null; then
			echo "needs clang-format: $f"
			bad=$((bad + 1))
		fi
	done < <(c_files)
	[ "$bad" -eq 0 ] || {
		echo "format-check: $bad files differ (make format fixes them)"
		exit 1
	}
}

case ${1:-} in
format-check)
	format_check
	;;
format)
	need format "$CLANG_FORMAT"
	mapfile -t files < <(c_files)
	"$CLANG_FORMAT" -i "${files[@]}"
	;;
shellcheck)
	need shellcheck shellcheck
	mapfile -t files < <(shell_scripts)
	# One run over all of them: a sourced file is then followed.
	shellcheck "${files[@]}" || exit 1
	;;
spellcheck)
	need spellcheck codespell
	# All but the binary plot and abidw's output.
	mapfile -t files < <(git ls-files -- . ':!:*.png' ':!:libpm/libpm.abi')
	codespell "${files[@]}" || exit 1
	;;
*)
	echo "usage: $0 format-check|format|shellcheck|spellcheck" >&2
	exit 2
	;;
esac
