#!/bin/sh
# Runs one libFuzzer target for a bounded time; what ctest calls for each `fuzz` test.
#   run-fuzzer.sh <fuzzer> <seed corpus dir> <work dir> [libFuzzer options...]
# Fuzzes for $HERALD_FUZZ_SECONDS (default 60) starting from the seed corpus (read only: new
# inputs go to <work dir>/corpus, kept between runs of the same build) and fails on any crash,
# leak, sanitizer report, slow input (> 10 s) or out-of-memory. The input that failed is left in
# <work dir>/artifacts/; reproduce with: <fuzzer> <that file>.
set -eu
fuzzer=$1 seeds=$2 work=$3
shift 3
seconds=${HERALD_FUZZ_SECONDS:-60}
case $seconds in '' | *[!0-9]*) echo "HERALD_FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;; esac

mkdir -p "$work/corpus" "$work/artifacts"
rm -f "$work/artifacts/"*
# Leaks fail the run; undefined behaviour already stops it (-fno-sanitize-recover). Leaks inside
# libraries that are not ours are suppressed in one checked-in file, with a reason for each.
# malloc_context_size=2: ASan's fast unwinder walks garbage through Qt (built without frame
# pointers), so with deep allocation stacks nearly every allocation records a "new" stack and
# the fuzzer grows by ~1 KB per input (1 GB within minutes, at a third of the speed). Two frames
# is the least with which LeakSanitizer still reports a leak. For full stacks, run the fuzzer on
# the kept input without this script.
supp="$(cd "$(dirname "$0")/../sanitize" && pwd)/lsan.supp"
export ASAN_OPTIONS="detect_leaks=1:malloc_context_size=2:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
# Readable stacks: Debian's llvm-14 installs the symbolizer under a versioned name only.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && ! command -v llvm-symbolizer >/dev/null &&
    [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
    export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

# libFuzzer stops itself after max_total_time; `timeout` only guards against a hang outside it.
status=0
timeout -k 30 $((seconds + 300)) "$fuzzer" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" "$seeds" || status=$?
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
    echo "FUZZ FAILURE in $(basename "$fuzzer") (exit $status); inputs kept:" >&2
    ls -l "$work/artifacts" >&2
    echo "reproduce with full stacks: $fuzzer $work/artifacts/<file>" >&2
    exit 1
fi
