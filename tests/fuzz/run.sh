#!/bin/sh
# Build the libFuzzer harness with clang and run it for a bounded time.
#   run.sh SECONDS SOURCE...   (called by `make fuzz`; SOURCE relative to
#                               $top_srcdir, headers are skipped)
# Environment: top_srcdir, top_builddir, FUZZ_CC (clang), NDCTL_LIBS,
# FUZZ_JOBS (1).  Exit 0 if the run found nothing, 1 if it crashed.
set -eu
secs=$1
shift
cc=${FUZZ_CC:-clang}
src=${top_srcdir:-.}
bld=${top_builddir:-.}
out=$bld/tests/fuzz
mkdir -p "$out/corpus" "$out/crashes"

if ! command -v "$cc" > /dev/null; then
	echo "fuzz: $cc not found" >&2
	exit 77
fi

files=
for f in "$@"; do
	case "$f" in
	*.c) files="$files $src/$f" ;;
	esac
done
# shellcheck disable=SC2086
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -std=gnu11 \
	-I"$src/libpm" -include "$bld/config.h" -DPM_FUZZ=1 \
	-o "$out/fuzz_check" $files "$src/tests/fuzz/fuzz_check.c" \
	${NDCTL_LIBS:-} -lpthread

# Seeds: valid pools in the states the tests use, made fresh each run.
# A clean pool of each size, and the small one after a crash with
# committed transactions not yet applied.
i=0
for size in 40960 65536; do
	f=$out/corpus/seed-$size
	rm -f "$f"
	"$bld/tests/pmck_fixture" make "$f" "$size" || exit 1
	i=$((i + 1))
done
f=$out/corpus/seed-crashed
cp "$out/corpus/seed-40960" "$f"
"$bld/tests/pmck_fixture" crash "$f" || exit 1
i=$((i + 1))
echo "fuzz: $i seed pools, $secs s"

cd "$out"
./fuzz_check -max_total_time="$secs" -max_len=65536 -timeout=10 \
	-artifact_prefix=crashes/ -print_final_stats=1 corpus
