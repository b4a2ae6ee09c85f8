#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The terminal: colours only on a terminal and never with NO_COLOR; the
# progress bar only when stderr is a terminal; --quiet prints nothing.
# A pseudo-terminal comes from script(1) (util-linux).
set -euo pipefail
LATHE=${LATHE_EXE:?}
command -v script >/dev/null || { echo "terminal.sh: script(1) missing"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
sox -n -r 48000 -c 2 n.wav synth 3 pinknoise gain -20
printf 'lathe: 1\ntracks:\n  - { name: a, file: n.wav }\n' >s.yaml
esc=$(printf '\033')
fail() { echo "terminal.sh: $*" >&2; exit 1; }

# errors: red "lathe:" on a terminal, plain with NO_COLOR or through a pipe
out=$(script -qec "'$LATHE' frobnicate" /dev/null || true)
case $out in *"${esc}[1;31mlathe:${esc}[0m unknown command"*) ;; *) fail "no colour on a terminal: $out" ;; esac
out=$(NO_COLOR=1 script -qec "'$LATHE' frobnicate" /dev/null || true)
case $out in *"$esc"*) fail "colour despite NO_COLOR" ;; esac
out=$("$LATHE" frobnicate 2>&1 || true)
case $out in *"$esc"*) fail "colour into a pipe" ;; esac
[ "$(printf '%s' "$out" | head -1)" = "lathe: unknown command 'frobnicate'" ] || fail "plain error: $out"

# progress: a bar on a terminal, none into a pipe or with --quiet
out=$(script -qec "'$LATHE' mix s.yaml -o m1.wav" /dev/null)
case $out in *"mixing"*"100% ["*) ;; *) fail "no progress bar on a terminal" ;; esac
err=$("$LATHE" mix s.yaml -o m2.wav 2>&1 >/dev/null)
[ -z "$err" ] || fail "progress into a pipe: $err"
out=$(script -qec "'$LATHE' mix s.yaml -o m3.wav --quiet" /dev/null)
[ -z "$(printf '%s' "$out" | tr -d '\r\n')" ] || fail "--quiet printed: $out"
cmp -s m1.wav m2.wav || fail "the bar changed the audio"
echo "terminal.sh: ok"
