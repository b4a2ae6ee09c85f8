#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make valgrind: the CLI end-to-end tests with every `lathe` they start run
# under valgrind memcheck. Any invalid access (read, write, free, use of an
# uninitialised value in a branch) or definite/indirect leak is an error;
# "still reachable" and "possibly lost" blocks (FFTW plans, libsndfile,
# TagLib, fontconfig keep theirs to process exit) are not.
#
# Usage: tests/valgrind/run.sh BUILD_DIR [TEST...]
#   BUILD_DIR  a Debug tree built WITHOUT sanitizers (valgrind cannot run ASan
#              binaries); `make valgrind` builds build-valgrind
#   TEST       test programs to run (default: every tests/e2e/test_cli_*.c and
#              tests/e2e/terminal.sh); VALGRIND_JOBS=N runs N at a time (default 2)
#
# The tests find the CLI through $LATHE_EXE; here that is a wrapper script
# that execs valgrind on the real binary (the tests quote the path, so any
# path works). valgrind writes to one log per process (never to stderr: the
# tests compare the CLI's stderr byte for byte), and the summary below reads
# the logs. LATHE_SANITIZED=1 asks the tests for their shorter signals, as in
# the ASan run: valgrind is 20-50x slower than a Release build.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [TEST...]}" && pwd)
shift
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }
[ -x "$BUILD/lathe" ] || { echo "valgrind: $BUILD/lathe not built" >&2; exit 1; }
if nm -u "$BUILD/lathe" 2>/dev/null | grep -q __asan_init || nm "$BUILD/lathe" 2>/dev/null | grep -q __asan_init; then
  echo "valgrind: $BUILD/lathe is built with ASan; valgrind needs a build without LATHE_SANITIZE" >&2
  exit 1
fi

LOGS=$BUILD/valgrind-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
WRAP=$LOGS/lathe
cat >"$WRAP" <<WRAPPER
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \\
  --error-exitcode=99 --track-origins=no --num-callers=30 \\
  --suppressions="$HERE/lathe.supp" --log-file="$LOGS/vg.%p.log" \\
  "$BUILD/lathe" "\$@"
WRAPPER
chmod +x "$WRAP"

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  for t in "$ROOT"/tests/e2e/test_cli_*.c; do tests+=("$(basename "$t" .c)"); done
  tests+=(terminal.sh)
fi

# One test: its output into $LOGS/NAME.out, its status into $LOGS/NAME.rc.
run_one() {
  local t=$1 start rc=0
  start=$(date +%s)
  case $t in
    *.sh) LATHE_EXE=$WRAP LATHE_SOURCE_DIR=$ROOT LATHE_BINARY_DIR=$BUILD LATHE_SANITIZED=1 \
            bash "$ROOT/tests/e2e/$t" >"$LOGS/$t.out" 2>&1 || rc=$? ;;
    *) [ -x "$BUILD/$t" ] || { echo "valgrind: $BUILD/$t not built" >"$LOGS/$t.out"; echo 1 >"$LOGS/$t.rc"; return; }
       (cd "$BUILD" && LATHE_EXE=$WRAP LATHE_SOURCE_DIR=$ROOT LATHE_BINARY_DIR=$BUILD LATHE_SANITIZED=1 \
          "./$t" >"$LOGS/$t.out" 2>&1) || rc=$? ;;
  esac
  echo "$rc $(($(date +%s) - start))" >"$LOGS/$t.rc"
}
export -f run_one
export LOGS WRAP ROOT BUILD
printf '%s\n' "${tests[@]}" | xargs -P "${VALGRIND_JOBS:-2}" -I{} bash -c 'run_one "$1"' _ {}

status=0
for t in "${tests[@]}"; do
  rc=unfinished secs=-
  [ -e "$LOGS/$t.rc" ] && read -r rc secs <"$LOGS/$t.rc"
  case $rc in
    0) word=passed ;;
    77) word=skipped ;;
    *) word="FAILED (exit $rc)"; status=1 ;;
  esac
  printf '  %-24s %-18s %5s s\n' "$t" "$word" "$secs"
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || tail -n 30 "$LOGS/$t.out" | sed 's/^/    /'
done

# The logs: one per lathe process. Any error summary other than 0 fails.
n=0 bad=0
for log in "$LOGS"/vg.*.log; do
  [ -e "$log" ] || continue
  n=$((n + 1))
  if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
    bad=$((bad + 1))
    if [ "$bad" -le 5 ]; then
      echo "---- $log"
      grep -m1 'Command:' "$log" || true
      sed -n '/HEAP SUMMARY/q;p' "$log" | grep -v '^==[0-9]*== *$' | head -60
      grep -A40 'definitely lost in\|indirectly lost in' "$log" | head -80 || true
    fi
  fi
done
echo "valgrind: $n lathe processes, $bad with errors (logs in $LOGS)"
[ "$n" -gt 0 ] || { echo "valgrind: no lathe process ran under valgrind" >&2; status=1; }
[ "$bad" -eq 0 ] || status=1
exit $status
