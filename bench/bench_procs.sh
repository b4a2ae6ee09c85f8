#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 3: processor throughput, and the channel strip against SoX.
# Called by bench/run.sh with LATHE, OUT, WAV, DUR, REPS set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$LATHE")
cmake --build "$BUILD" --target lathe-procbench -- --no-print-directory >/dev/null
PB=$BUILD/lathe-procbench

echo "== processors: stereo, 48 kHz, 512-frame blocks, 60 s of noise (issue 3) =="
"$PB" table 60
echo

echo "== channel strip: 4-band EQ + compressor, file to file, vs SoX (issue 3) =="
lt=$(best_time "$PB" strip "$WAV" "$OUT/strip-lathe.wav")
st=$(best_time sox "$WAV" "$OUT/strip-sox.wav" highpass 80 equalizer 250 1q -3 equalizer 2500 1.4q 2 \
  treble 2 8000 compand 0.01,0.12 6:-70,-70,-18,-18,0,-13.5 0 -90 0.01)
# the floor: copying the file alone
ct=$(best_time sox "$WAV" "$OUT/copy-sox.wav")
printf '  %-40s %7.2f s %7.0fx realtime\n' "lathe (eq 4 bands + compressor)" "$lt" "$(awk "BEGIN{print $DUR/$lt}")"
printf '  %-40s %7.2f s %7.0fx realtime\n' "sox (highpass, 2x equalizer, treble, compand)" "$st" "$(awk "BEGIN{print $DUR/$st}")"
printf '  %-40s %7.2f s %7.0fx realtime\n' "sox copy (read + write only)" "$ct" "$(awk "BEGIN{print $DUR/$ct}")"
printf '  lathe is %.2fx SoX (target >= 2x)\n\n' "$(awk "BEGIN{print $st/$lt}")"
