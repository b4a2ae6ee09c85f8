#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Every lathe command once under valgrind memcheck, on inputs of a second or
# two: any invalid read or write, use of an uninitialised value, bad free, or
# definite/indirect leak fails the test ("still reachable" blocks of FFTW,
# libsndfile, TagLib and fontconfig do not count). The cheap CI piece of
# `make valgrind` (tests/valgrind/run.sh), which runs the whole e2e suite so.
# Skips (77) without valgrind, and in the sanitizer run (LATHE_SANITIZED=1):
# valgrind cannot run an ASan binary.
set -euo pipefail
LATHE=${LATHE_EXE:?}
[ -z "${LATHE_SANITIZED:-}" ] || { echo "valgrind.sh: skipped (ASan build)"; exit 77; }
command -v valgrind >/dev/null || { echo "valgrind.sh: skipped (no valgrind)"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
SUPP=$HERE/../valgrind/lathe.supp
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "valgrind.sh: $*" >&2; exit 1; }

# tiny inputs: a stereo mix, a mono kick, a stereo pad at 44.1 kHz, a reference
sox -n -r 48000 -c 2 -b 24 mix.wav synth 1.5 pinknoise synth 1.5 sine mix 110 tremolo 3 50 gain -18
sox -n -r 48000 -c 1 -b 24 kick.wav synth 0.05 sine 60 pad 0 0.45 repeat 3 gain -6
sox -n -r 44100 -c 2 -b 24 pad.wav synth 1.5 brownnoise gain -20
sox -n -r 48000 -c 2 -b 24 ref.wav synth 1.5 pinknoise gain -10
sox -n -r 48000 -c 2 -b 24 song2.wav synth 1 pinknoise synth 1 sine mix 220 gain -20
cat >s.yaml <<'EOF'
lathe: 1
tracks:
  - { name: kick, file: kick.wav, out: drums }
  - name: pad
    file: pad.wav
    chain: [ { compressor: { threshold: -30 dB, ratio: 4, key: kick } } ]
    sends: { plate: -10 dB }
buses:
  - { name: drums, chain: [ { eq: { bands: [ { type: highpass, freq: 30 Hz } ] } } ] }
  - { name: plate, chain: [ { reverb: { decay: 0.5 s, mix: 100 % } } ] }
master:
  chain: [ { limiter: { ceiling: -1 dB } } ]
automation:
  - { target: pad.gain, points: [ [0:00, -20 dB], [0:01, 0 dB] ] }
EOF
cat >a.yaml <<'EOF'
songs:
  - { file: mix.wav, meta: { title: One } }
  - { file: song2.wav, meta: { title: Two }, crossfade: { length: 0.5 } }
EOF

n=0
vg() { # vg NAME ARGS...: lathe ARGS under memcheck; any error fails
  local name=$1 rc=0
  shift
  n=$((n + 1))
  LATHE_NO_PROGRESS=1 valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 --track-origins=no --suppressions="$SUPP" --log-file="$T/$name.vg" \
    "$LATHE" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
  if [ "$rc" = 99 ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$T/$name.vg"; then
    sed -n '/HEAP SUMMARY/q;p' "$T/$name.vg" | head -60 >&2
    grep -A30 'definitely lost in\|indirectly lost in' "$T/$name.vg" | head -60 >&2 || true
    fail "lathe $* (exit $rc): memcheck errors"
  fi
  [ "$rc" = 0 ] || { cat "$T/$name.err" >&2; fail "lathe $*: exit $rc"; }
}

vg analyze analyze --json mix.wav pad.wav
vg mix mix s.yaml -o m.wav --stems . --threads 2 --report m.html
vg master master mix.wav -o master.flac --bits 24
vg master-mp3 master mix.wav -o master.mp3
vg master-ref master mix.wav -o ref-master.wav --reference ref.wav
vg album album a.yaml -o album
vg clean clean mix.wav -o clean.wav --denoise --dehum auto --declick --declip --report clean.html
vg processors processors compressor --json
vg targets targets
echo "valgrind.sh: $n commands clean under memcheck"
