#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 4: the 26-stem Francium session (EQ + compressor on every track, drum bus,
# reverb send, master limiter) against ffmpeg doing per-track equalizer + acompressor
# + amix on the same files, and the decoding floor (the 26 FLAC stems decoded only).
# Called by bench/run.sh with LATHE, OUT, MATERIAL, REPS set, or on its own:
#   BENCH_OUT=/tmp/bench BENCH_REPS=3 bash bench/bench_mix.sh build/lathe
# Wall time is the best of REPS runs; CPU time (user + system) is that of the
# same run, so a busy machine shows up as wall >> CPU / threads.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LATHE=$(readlink -f "${LATHE:-${1:-$ROOT/build/lathe}}")
OUT=${OUT:-${BENCH_OUT:-$ROOT/build/bench}}
MATERIAL=${MATERIAL:-$ROOT/../shared/material}
REPS=${REPS:-${BENCH_REPS:-3}}
mkdir -p "$OUT"
[ -d "$MATERIAL/francium" ] || { echo "== mix: skipped (no ../shared/material) =="; exit 0; }
SES=$ROOT/tests/e2e/francium.yaml
STEMS=$(grep -o 'francium/[a-z_]*\.flac' "$SES" | sed "s|^|$MATERIAL/|")
N=$(echo "$STEMS" | wc -l)
DUR=60
# "wall cpu" of the run with the best wall time
best() {
  local b="" c=""
  for _ in $(seq "$REPS"); do
    local e u s
    /usr/bin/time -f "%e %U %S" -o "$OUT/mix-time.txt" "$@" >/dev/null 2>&1 ||
      { echo "bench: failed: $*" >&2; exit 1; }
    read -r e u s <"$OUT/mix-time.txt"
    if [ -z "$b" ] || awk "BEGIN{exit !($e < $b)}"; then b=$e; c=$(awk "BEGIN{print $u + $s}"); fi
  done
  echo "$b $c"
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
read -r lt lc < <(best "$LATHE" mix "$SES" -o "$OUT/francium-mix.wav" --force --quiet)
read -r lt1 lc1 < <(best "$LATHE" mix "$SES" -o "$OUT/francium-mix.wav" --force --quiet --threads 1)
read -r ft fc < <(best ffmpeg -nostdin -v error -y "${inputs[@]}" -filter_complex "$graph" -map "[m]" -c:a pcm_f32le "$OUT/francium-ffmpeg.wav")
# the floors: lathe summing the same stems with no processing at all (decode + resample-free
# sum), and libFLAC's own tool decoding them, both cores
PLAIN=$OUT/francium-plain.yaml
{ echo "lathe: 1"; echo "tail: 0 s"; echo "tracks:"
  for f in $STEMS; do echo "  - { name: $(basename "$f" .flac), file: $f }"; done; } >"$PLAIN"
read -r pt pc < <(best "$LATHE" mix "$PLAIN" -o "$OUT/francium-plain.wav" --force --quiet)
read -r pt1 pc1 < <(best "$LATHE" mix "$PLAIN" -o "$OUT/francium-plain.wav" --force --quiet --threads 1)
read -r dt dc < <(best bash -c "echo '$STEMS' | xargs -P 2 -n 1 flac -s -d -c >/dev/null")
echo "== mix: Francium, $N stems x ${DUR} s, 48 kHz 24-bit FLAC (issue 4) =="
row() { printf '  %-48s %6.2f s %6.0fx realtime  (CPU %5.2f s)\n' "$1" "$2" "$(awk "BEGIN{print $DUR/$2}")" "$3"; }
row "lathe mix (all cores)" "$lt" "$lc"
row "lathe mix --threads 1" "$lt1" "$lc1"
row "ffmpeg equalizer+acompressor per track, amix" "$ft" "$fc"
row "floor: lathe mix with no processing" "$pt" "$pc"
row "floor: the same, --threads 1" "$pt1" "$pc1"
row "floor: decoding the stems only (flac -d, 2 jobs)" "$dt" "$dc"
printf '  lathe is %.1fx ffmpeg (target >= 5x), %.0fx realtime (target >= 100x)\n\n' \
  "$(awk "BEGIN{print $ft/$lt}")" "$(awk "BEGIN{print $DUR/$lt}")"
