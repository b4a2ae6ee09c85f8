#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 3: processor throughput, and the channel strip against SoX.
# Called by bench/run.sh with LATHE, OUT, WAV, DUR, REPS set.
set -euo pipefail
BUILD=$(dirname "$LATHE")
cmake --build "$BUILD" --target lathe-procbench -- --no-print-directory >/dev/null
PB=$BUILD/lathe-procbench

echo "== processors: stereo, 48 kHz, 512-frame blocks, 60 s of noise (issue 3) =="
"$PB" table 60
echo

best() { # best wall time of REPS runs
  local b=""
  for _ in $(seq "$REPS"); do
    local t0 t1 s
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }; t1=$(date +%s.%N)
    s=$(awk "BEGIN{print $t1-$t0}")
    if [ -z "$b" ] || awk "BEGIN{exit !($s < $b)}"; then b=$s; fi
  done
  echo "$b"
}
echo "== channel strip: 4-band EQ + compressor, file to file, vs SoX (issue 3) =="
lt=$(best "$PB" strip "$WAV" "$OUT/strip-lathe.wav")
st=$(best sox "$WAV" "$OUT/strip-sox.wav" highpass 80 equalizer 250 1q -3 equalizer 2500 1.4q 2 \
  treble 2 8000 compand 0.01,0.12 6:-70,-70,-18,-18,0,-13.5 0 -90 0.01)
# the floor: copying the file alone
ct=$(best sox "$WAV" "$OUT/copy-sox.wav")
printf '  %-40s %7.2f s %7.0fx realtime\n' "lathe (eq 4 bands + compressor)" "$lt" "$(awk "BEGIN{print $DUR/$lt}")"
printf '  %-40s %7.2f s %7.0fx realtime\n' "sox (highpass, 2x equalizer, treble, compand)" "$st" "$(awk "BEGIN{print $DUR/$st}")"
printf '  %-40s %7.2f s %7.0fx realtime\n' "sox copy (read + write only)" "$ct" "$(awk "BEGIN{print $DUR/$ct}")"
printf '  lathe is %.2fx SoX (target >= 2x)\n\n' "$(awk "BEGIN{print $st/$lt}")"
