#!/usr/bin/env bash
# tests/fuzz/run.sh — runs each libFuzzer harness for SECONDS from its
# committed seeds (tests/fuzz/seeds/<name>) with its dictionary
# (tests/fuzz/dict/<name>.dict), one after another, and prints executions,
# coverage and corpus size per harness. New inputs go to
# build-fuzz/corpus/<name> (never into the committed seeds), crash inputs to
# build-fuzz/crash/<name>/. Exit status: 1 if any harness found a crash.
#
# Usage: tests/fuzz/run.sh SECONDS NAME...
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs="$1"; shift
failed=0
# libFuzzer's ASan/UBSan: stop at the first finding with a stack
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for name in "$@"; do
    bin="build-fuzz/fuzz/$name"
    corpus="build-fuzz/corpus/$name"
    crash="build-fuzz/crash/$name"
    mkdir -p "$corpus" "$crash"
    dict=()
    [[ -f "tests/fuzz/dict/$name.dict" ]] && dict=(-dict="tests/fuzz/dict/$name.dict")
    # the loader's harness also starts from the example configs and the
    # Flink CDC corpus already in the tree
    extra=()
    [[ "$name" == fuzz_config ]] && extra=(configs tests/flink_corpus)
    log="build-fuzz/$name.log"
    "$bin" "$corpus" "tests/fuzz/seeds/$name" "${extra[@]}" "${dict[@]}" -max_total_time="$secs" -max_len=65536 \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$crash/" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    cov="$(grep -E '^#[0-9]+' "$log" | tail -n1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1 ft \2 corpus \3/p')"
    if ((rc)); then
        failed=1
        echo "== $name: FAILED after ${execs:-?} executions ($cov); input in $crash/, log $log"
        grep -E 'ERROR: |runtime error|SUMMARY' "$log" | head -n 5
    else
        echo "== $name: ${execs:-?} executions in ${secs}s, $cov"
    fi
done
exit $failed
