#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make bench: lathe against its peers (ffmpeg, SoX) on the same input, in the
# same run.  Figures: x realtime, the ratio to the peer, peak memory (RSS).
# Usage: bench/run.sh path/to/lathe
set -euo pipefail
LATHE=$(readlink -f "${1:-build/lathe}")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${BENCH_OUT:-$ROOT/build/bench}
mkdir -p "$OUT"
MATERIAL=$ROOT/../shared/material

# A run's wall time (s) and peak RSS (MB): "secs mb", best of $REPS runs.
REPS=${BENCH_REPS:-3}
measure() {
  local best="" mem=""
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >/dev/null 2>"$OUT/stderr.txt" || {
      echo "bench: command failed: $*" >&2; cat "$OUT/stderr.txt" >&2; exit 1; }
    read -r s k <"$OUT/time.txt"
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; fi
    mem=$(awk "BEGIN{print $k/1024}")
  done
  echo "$best $mem"
}
ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
xrt() { awk "BEGIN{printf \"%.0f\", $1/$2}"; }

# ---- the input: at least 3 minutes of real music as 16-bit WAV ----
WAV=$OUT/music16.wav
if [ ! -f "$WAV" ]; then
  if [ -d "$MATERIAL/music" ]; then
    # the three songs back to back (about 9.5 minutes), decoded once
    ffmpeg -nostdin -v error -y -i "$MATERIAL/music/lincity-ng_02_robert-van-herk_city-blues.ogg" \
      -i "$MATERIAL/music/wesnoth_journeys_end.ogg" -i "$MATERIAL/music/hedgewars_nature.ogg" \
      -filter_complex "[0:a][1:a][2:a]concat=n=3:v=0:a=1" -c:a pcm_s16le "$WAV"
  else
    # no material: 4 minutes of band-limited noise and tones
    sox -n -r 44100 -c 2 -b 16 "$WAV" synth 240 pinknoise synth 240 sine mix 220 gain -12
  fi
fi
DUR=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$WAV")
printf 'input: %s (%.1f s, 16-bit WAV)\n\n' "$(basename "$WAV")" "$DUR"

echo "== analyze: lathe analyze vs ffmpeg -af ebur128=peak=true (issue 2) =="
read -r lt lm < <(measure "$LATHE" analyze --threads 1 "$WAV")
read -r ft fm < <(measure ffmpeg -nostdin -v error -i "$WAV" -af ebur128=peak=true -f null -)
printf '  %-34s %8.2f s %7sx realtime %8.1f MB\n' "lathe analyze" "$lt" "$(xrt "$DUR" "$lt")" "$lm"
printf '  %-34s %8.2f s %7sx realtime %8.1f MB\n' "ffmpeg ebur128=peak=true" "$ft" "$(xrt "$DUR" "$ft")" "$fm"
printf '  lathe is %sx ffmpeg (target >= 2x), peak memory %.1f MB (target <= 20 MB)\n\n' \
  "$(ratio "$ft" "$lt")" "$lm"

# The decoding floor: reading the WAV alone, for context.
read -r st sm < <(measure sox "$WAV" -n stat)
printf '  (for context: sox stat, a plain pass over the file: %.2f s, %sx realtime)\n\n' "$st" "$(xrt "$DUR" "$st")"

# Further benchmarks register themselves here (processors, mix, master).
for b in "$HERE"/bench_*.sh; do
  [ -e "$b" ] || continue
  LATHE="$LATHE" OUT="$OUT" WAV="$WAV" DUR="$DUR" MATERIAL="$MATERIAL" REPS="$REPS" \
    bash "$b"
done
