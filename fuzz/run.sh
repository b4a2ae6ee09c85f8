#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs every libFuzzer target (docs/fuzzing.md), one after the other, each
# as one process (no -jobs/-fork: the machine is shared).
#
#   fuzz/run.sh BUILD SECONDS [--smoke] [TARGET...]
#
# Each target first replays its committed seeds (fuzz/corpus/<target>/) and
# regressions (fuzz/regress/<target>/), then mutates for SECONDS.  New
# inputs go to fuzz/out/corpus/<target>/ (--smoke: BUILD/fuzz-smoke/, thrown
# away), crashes, leaks and timeouts to fuzz/out/<target>/.  Prints the
# executions per target; exits 1 when any target found something.
set -uo pipefail
build=${1:?usage: fuzz/run.sh BUILD SECONDS [--smoke] [TARGET...]}
seconds=${2:?usage: fuzz/run.sh BUILD SECONDS [--smoke] [TARGET...]}
shift 2
smoke=0
if [ "${1:-}" = --smoke ]; then smoke=1; shift; fi
targets=${*:-session param audio album chain}
src=$(cd "$(dirname "$0")/.." && pwd)
out=$src/fuzz/out
logs=$build/fuzz-logs
mkdir -p "$logs"

# the largest input worth mutating: audio seeds are a few KB, texts smaller
max_len() { case $1 in audio) echo 16384 ;; param) echo 256 ;; *) echo 8192 ;; esac; }

status=0
printf '%-8s %12s %9s %7s %8s  %s\n' target executions exec/s corpus cov result
for t in $targets; do
    exe=$build/lathe-fuzz-$t
    [ -x "$exe" ] || { echo "fuzz/run.sh: $exe is missing (build with -DLATHE_FUZZ=ON)" >&2; exit 2; }
    if [ $smoke = 1 ]; then work=$build/fuzz-smoke/$t; rm -rf "$work"; else work=$out/corpus/$t; fi
    mkdir -p "$work" "$out/$t"
    dict=()
    [ -f "$src/fuzz/$t.dict" ] && dict=(-dict="$src/fuzz/$t.dict")
    seeds=("$src/fuzz/corpus/$t")
    [ -n "$(ls -A "$src/fuzz/regress/$t" 2>/dev/null)" ] && seeds+=("$src/fuzz/regress/$t")
    log=$logs/$t.log
    ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$src/fuzz/lsan.supp:print_suppressions=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$exe" -max_total_time="$seconds" -max_len="$(max_len "$t")" \
        -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$out/$t/" "$work" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "$work" -type f | wc -l)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    result=ok
    if [ $rc -ne 0 ]; then
        result="FAILED (exit $rc; see $log)"
        status=1
        grep -m3 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|Test unit written' "$log" >&2
    fi
    printf '%-8s %12s %9s %7s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "${cov:-?}" "$result"
done
exit $status
