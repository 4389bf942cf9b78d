#!/usr/bin/env bash
# tests/sanitize_e2e.sh — the crash, snapshot and large-transaction e2e
# scenarios against the sanitizer builds: build-asan/sluice (ASan + UBSan)
# and build-tsan/sluice (ThreadSanitizer), after the unit tests under TSan.
#
# Every sanitizer report goes to a file (log_path) in a fresh directory, and
# the run fails when any report was written, whatever the tests concluded:
# the crash tests kill sluice on purpose and accept how it ended, so a
# report on stderr alone could pass unnoticed.
#
# Usage: tests/sanitize_e2e.sh ci|full    (make sanitize-e2e SANITIZE=ci|full)
#   SANITIZE_ONLY=asan|tsan runs one build's half only (a full run of both
#   takes 40-80 min on 2 cores; the halves can go on separate occasions)
#   ci   per build one large transaction and one crash during a snapshot,
#        the two builds covering both sources (`make test` runs it)
#   full every scenario below (the run before a release note)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODE="${1:-ci}"

# ci: each build runs one crash during a snapshot and one large transaction,
# the two builds covering both sources in both roles
CI_ASAN=(
    tests/e2e/test_mysql_stream.py::test_large_transaction_streams_through
    tests/e2e/test_pg_snapshot.py::test_kill9_during_snapshot
)
CI_TSAN=(
    tests/e2e/test_mysql_snapshot.py::test_crash_loop_during_snapshot
    tests/e2e/test_pg_stream.py::test_large_streamed_transaction
)
FULL_TESTS=(
    tests/e2e/test_mysql_snapshot.py
    tests/e2e/test_pg_snapshot.py
    tests/e2e/test_mysql_stream.py::test_large_transaction_streams_through
    tests/e2e/test_mysql_stream.py::test_kill9_and_restart_loses_and_repeats_nothing
    tests/e2e/test_mysql_stream.py::test_server_restart_mid_stream
    tests/e2e/test_pg_stream.py::test_large_streamed_transaction
    tests/e2e/test_pg_stream.py::test_large_transaction_without_streaming
    tests/e2e/test_pg_stream.py::test_kill9_loop_loses_and_repeats_nothing
    tests/e2e/test_pg_stream.py::test_kill9_in_the_middle_of_a_streamed_transaction
    tests/e2e/test_pg_stream.py::test_server_restart_mid_stream
    tests/e2e/test_pg_operations.py::test_kill9_before_the_second_checkpoint
    tests/e2e/test_kafka_sink.py::test_crash_loop_exactly_once
    tests/e2e/test_kafka_sink.py::test_pipelined_epochs_keep_per_key_order_across_crashes
    tests/e2e/test_pg_kafka.py::test_crash_loop_exactly_once
    tests/e2e/test_clickhouse_crash.py
    tests/e2e/test_clickhouse_pg.py::test_kill9_loop_during_snapshot_and_streaming
    tests/e2e/test_clickhouse_pg.py::test_truncate_in_an_epoch_replayed_after_a_crash
)
case "$MODE" in
    ci) ASAN_TESTS=("${CI_ASAN[@]}"); TSAN_TESTS=("${CI_TSAN[@]}") ;;
    full) ASAN_TESTS=("${FULL_TESTS[@]}"); TSAN_TESTS=("${FULL_TESTS[@]}") ;;
    *) echo "usage: $0 ci|full" >&2; exit 2 ;;
esac

for b in build-asan/sluice build-tsan/sluice; do
    [[ -x "$b" ]] || { echo "$b is missing: run make asan tsan" >&2; exit 2; }
done

REPORTS="$(mktemp -d /tmp/sluice-sanitize-XXXXXX)"
failed=0

# reports written under $1 since it was created: print them, count a failure
check_reports() {
    local dir="$1" what="$2" n
    n="$(find "$dir" -type f -size +0 | wc -l)"
    if ((n)); then
        failed=1
        echo "== $what: $n sanitizer report(s) in $dir"
        find "$dir" -type f -size +0 | head -n 3 | while read -r f; do
            grep -m1 -E 'ERROR|WARNING|runtime error' "$f"
            grep -m1 -E '^ +#[0-9]+ .* /work|^ +#0 ' "$f" || true
        done
    else
        echo "== $what: no sanitizer reports"
    fi
}

# TSan: librdkafka is not instrumented and starts its threads with C11
# thrd_create, which TSan does not intercept: tests/tsan.supp ignores what
# is called from it
TSAN_BASE="suppressions=$PWD/tests/tsan.supp:halt_on_error=0:second_deadlock_stack=1:history_size=4"

echo "== unit tests under ThreadSanitizer"
mkdir -p "$REPORTS/tsan-unit"
for t in build-tsan/tests/test_*; do
    [[ "$t" == *.d ]] && continue
    TSAN_OPTIONS="$TSAN_BASE:log_path=$REPORTS/tsan-unit/$(basename "$t")" "$t" >/dev/null 2>&1 ||
        { echo "   $t failed"; failed=1; }
done
check_reports "$REPORTS/tsan-unit" "unit tests (TSan)"

# a failed test runs once more, listed as RERUN (as in make e2e); a sanitizer
# report of either try still fails the run (check_reports reads them all);
# SANITIZE_RERUNS= runs each test exactly once; a test that hangs fails
# alone after SANITIZE_TIMEOUT seconds (the sanitized binaries run slower
# than make e2e's TEST_TIMEOUT allows)
run_e2e() {
    local name="$1" bin="$2" dir="$REPORTS/$1"
    shift 2
    mkdir -p "$dir"
    echo "== e2e ($MODE) against $bin"
    SLUICE_BIN="$bin" \
        ASAN_OPTIONS="log_path=$dir/asan:detect_leaks=1:abort_on_error=1" \
        UBSAN_OPTIONS="log_path=$dir/ubsan:print_stacktrace=1" \
        TSAN_OPTIONS="$TSAN_BASE:log_path=$dir/tsan" \
        .venv/bin/pytest -q -p no:cacheprovider --timeout "${SANITIZE_TIMEOUT:-1800}" \
        ${SANITIZE_RERUNS---reruns 1 --reruns-delay 5 -rR} "$@" || failed=1
    check_reports "$dir" "e2e $name"
}
ONLY="${SANITIZE_ONLY:-}"
case "$ONLY" in ""|asan|tsan) ;; *) echo "SANITIZE_ONLY must be asan or tsan" >&2; exit 2 ;; esac
[[ "$ONLY" == tsan ]] || run_e2e asan build-asan/sluice "${ASAN_TESTS[@]}"
[[ "$ONLY" == asan ]] || run_e2e tsan build-tsan/sluice "${TSAN_TESTS[@]}"

if ((failed)); then
    echo "sanitize-e2e ($MODE): FAILED (reports kept in $REPORTS)"
    exit 1
fi
rm -rf "$REPORTS"
echo "sanitize-e2e ($MODE): clean"
