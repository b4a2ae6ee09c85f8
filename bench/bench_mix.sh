#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 4: the 26-stem Francium session (EQ + compressor on every track, drum bus,
# reverb send, master limiter) against ffmpeg doing per-track equalizer + acompressor
# + amix on the same files, and the decoding floor (the 26 FLAC stems decoded only).
# Called by bench/run.sh with LATHE, OUT, MATERIAL, REPS set.
set -euo pipefail
[ -d "$MATERIAL/francium" ] || { echo "== mix: skipped (no ../shared/material) =="; exit 0; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SES=$ROOT/tests/e2e/francium.yaml
STEMS=$(grep -o 'francium/[a-z_]*\.flac' "$SES" | sed "s|^|$MATERIAL/|")
N=$(echo "$STEMS" | wc -l)
DUR=60
best() {
  local b=""
  for _ in $(seq "$REPS"); do
    local t0 t1 s
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }; t1=$(date +%s.%N)
    s=$(awk "BEGIN{print $t1-$t0}")
    if [ -z "$b" ] || awk "BEGIN{exit !($s < $b)}"; then b=$s; fi
  done
  echo "$b"
}
# ffmpeg: the same per-track EQ (high-pass + bell) and compressor, summed
inputs=() ; graph="" ; i=0
for f in $STEMS; do
  inputs+=(-i "$f")
  graph+="[$i:a]highpass=f=40,equalizer=f=1000:t=q:w=1:g=1,acompressor=threshold=0.125:ratio=3:attack=5:release=80[t$i];"
  i=$((i+1))
done
mixin=""; for ((k=0;k<i;k++)); do mixin+="[t$k]"; done
graph+="${mixin}amix=inputs=$i:normalize=0[m]"
lt=$(best "$LATHE" mix "$SES" -o "$OUT/francium-mix.wav" --force --quiet)
lt1=$(best "$LATHE" mix "$SES" -o "$OUT/francium-mix.wav" --force --quiet --threads 1)
ft=$(best ffmpeg -nostdin -v error -y "${inputs[@]}" -filter_complex "$graph" -map "[m]" -c:a pcm_f32le "$OUT/francium-ffmpeg.wav")
# the floors: lathe summing the same stems with no processing at all (decode + resample-free
# sum), and libFLAC's own tool decoding them, both cores
PLAIN=$OUT/francium-plain.yaml
{ echo "lathe: 1"; echo "tail: 0 s"; echo "tracks:"
  for f in $STEMS; do echo "  - { name: $(basename "$f" .flac), file: $f }"; done; } >"$PLAIN"
pt=$(best "$LATHE" mix "$PLAIN" -o "$OUT/francium-plain.wav" --force --quiet)
dt=$(best bash -c "echo '$STEMS' | xargs -P 2 -n 1 flac -s -d -c >/dev/null")
echo "== mix: Francium, $N stems x ${DUR} s, 48 kHz 24-bit FLAC (issue 4) =="
printf '  %-46s %6.2f s %6.0fx realtime\n' "lathe mix (all cores)" "$lt" "$(awk "BEGIN{print $DUR/$lt}")"
printf '  %-46s %6.2f s %6.0fx realtime\n' "lathe mix --threads 1" "$lt1" "$(awk "BEGIN{print $DUR/$lt1}")"
printf '  %-46s %6.2f s %6.0fx realtime\n' "ffmpeg equalizer+acompressor per track, amix" "$ft" "$(awk "BEGIN{print $DUR/$ft}")"
printf '  %-46s %6.2f s %6.0fx realtime\n' "floor: lathe mix with no processing" "$pt" "$(awk "BEGIN{print $DUR/$pt}")"
printf '  %-46s %6.2f s %6.0fx realtime\n' "floor: decoding the stems only (flac -d, 2 jobs)" "$dt" "$(awk "BEGIN{print $DUR/$dt}")"
printf '  lathe is %.1fx ffmpeg (target >= 5x), %.0fx realtime (target >= 100x)\n\n' \
  "$(awk "BEGIN{print $ft/$lt}")" "$(awk "BEGIN{print $DUR/$lt}")"
