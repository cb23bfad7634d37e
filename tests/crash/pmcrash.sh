#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Bounded crash-simulation run for make check: every workload under the
# Px86 line model, a short 8-byte-word run, and every deliberate bug must
# be caught.  make check-crash runs the deep version (PMCRASH_DEEP=1).
# The word model covers every workload: nothing relies on same-line order
# any more (a lane header slot is checksummed whole).
# pmcrash runs on libpm.so; pmcrash-test, built with libpm's test hooks,
# runs the bugs inside libpm (--break log-fence, tx-fence) and the pool
# workload's header updates.
set -u
pmcrash=${top_builddir:-.}/tools/pmcrash
pmcrash_test=${top_builddir:-.}/tools/pmcrash-test
deep=
[ "${PMCRASH_DEEP:-0}" = 1 ] && deep=--deep
fail=0

run() {
	echo "+ pmcrash $*"
	"$pmcrash" "$@" || fail=1
}

run_test() {
	echo "+ pmcrash-test $*"
	"$pmcrash_test" "$@" || fail=1
}

# a number that overflows, has junk, is negative or out of range is a
# usage error naming the option, never a different number
for bad in "--ops 4294967296" "--threads 99" "--seed 1x" "--point -1" \
	"--samples 99999999999999999999"; do
	# shellcheck disable=SC2086
	msg=$("$pmcrash" $bad 2>&1 >/dev/null)
	rc=$?
	case "$rc:$msg" in
	"2:pmcrash: ${bad%% *}: '${bad#* }' "*) ;;
	*) echo "pmcrash $bad: exit $rc: $msg"; fail=1 ;;
	esac
done

# the release build says where the bugs inside libpm are
msg=$("$pmcrash" -w log --break log-fence 2>&1 >/dev/null)
case "$msg" in
*"needs the test build, pmcrash-test"*) ;;
*) echo "pmcrash --break log-fence: $msg"; fail=1 ;;
esac

# the first run also takes every 16th image (every 4th with --deep) of a
# pool through afterlife.h: open, wrap every ring, crash again, reopen
run $deep
run $deep --words -n 60 --afterlife 0
run_test $deep -w pool --afterlife 0
run_test $deep --words -w pool --afterlife 0
run_test $deep --all-breaks --afterlife 0
# the log with a 4 KiB window: recovery reads only part of the free space
run_test $deep -w log --afterlife 0
# a damaged newer lane-header slot never rolls committed data back
run $deep -w tx -w txmt -n 60 --damage --afterlife 0
exit $fail
