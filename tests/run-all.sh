#!/bin/sh
# Runs the whole suite: every CUnit binary, then every end-to-end test, and ends with
# one line "N passed, M failed" (tests, summed over all of them).
# Usage: tests/run-all.sh [unit|e2e] [NAME-FILTER]
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
what=${1:-all}
filter=${2:-}
PY=/usr/bin/python3
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:print_summary=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
passed=0
failed=0
failed_names=""
log=$B/test-logs
mkdir -p "$log"

count_cunit() {   # $1 = output file: add the "tests" row of the CUnit run summary
    row=$(grep -E '^ +tests +[0-9]' "$1" | tail -n 1)
    if [ -z "$row" ]; then echo "0 1"; return; fi
    set -- $row
    echo "$4 $5"    # Passed Failed
}

if [ "$what" = all ] || [ "$what" = unit ]; then
    for t in $B/asan/tests/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        case "$name" in *"$filter"*) ;; *) continue ;; esac
        echo "=== unit: $name"
        "$t" > "$log/$name.out" 2>&1
        rc=$?
        tail -n 8 "$log/$name.out"
        set -- $(count_cunit "$log/$name.out")
        p=$1; f=$2
        if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
        passed=$((passed + p)); failed=$((failed + f))
        [ "$f" = 0 ] || { failed_names="$failed_names $name"; grep -B2 -A6 -E 'FAILED|ERROR|runtime error' "$log/$name.out" | head -n 60; }
    done
fi

if [ "$what" = all ] || [ "$what" = e2e ]; then
    for t in tests/e2e/test_*.py; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .py)
        case "$name" in *"$filter"*) ;; *) continue ;; esac
        echo "=== e2e: $name"
        $PY tests/e2e/runner.py "$name" > "$log/$name.out" 2>&1
        rc=$?
        res=$(sed -n 's/^E2E_RESULT \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$log/$name.out" | tail -n 1)
        [ -n "$res" ] || res="0 1"
        set -- $res
        p=$1; nf=$2
        if [ $rc -ne 0 ] && [ "$nf" = 0 ]; then nf=1; fi
        passed=$((passed + p)); failed=$((failed + nf))
        grep -E '^(test_|Ran |OK|FAILED)' "$log/$name.out" | grep -v ' ok$' | tail -n 20
        [ "$nf" = 0 ] || { failed_names="$failed_names $name"; grep -A30 -E '^(FAIL|ERROR):' "$log/$name.out" | head -n 80; }
    done
fi

[ -z "$failed_names" ] || echo "failing:$failed_names (logs in $log/)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
