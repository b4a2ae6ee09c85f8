#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make bench, part: lathe album (album mode, 24-bit WAV: three song files,
# the continuous album file, CUE, JSON) on the three material songs, against
# the floor of the same file work done by SoX in the same run: each song
# read and written as 24-bit WAV, and the three concatenated into one file
# (no analysis, no mastering). Reported: wall time, x realtime, peak RSS,
# and lathe's time as a multiple of that floor.
# Called by bench/run.sh with LATHE, OUT, MATERIAL, REPS set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${LATHE:?}" "${OUT:?}" "${REPS:=3}"
MATERIAL=${MATERIAL:-}

echo "== album: lathe album (album mode, 24-bit WAV) vs the SoX file-work floor =="
D=$OUT/album
mkdir -p "$D"
names=()
if [ -n "$MATERIAL" ] && [ -d "$MATERIAL/music" ]; then
  for f in "$MATERIAL"/music/*.ogg; do
    n=$(basename "$f" .ogg)
    [ -f "$D/$n.wav" ] || ffmpeg -nostdin -v error -y -i "$f" -c:a pcm_s16le "$D/$n.wav"
    names+=("$n")
  done
else
  for k in 1 2 3; do
    [ -f "$D/song$k.wav" ] || sox -n -r 44100 -c 2 -b 16 "$D/song$k.wav" synth $((60 * k)) pinknoise \
      synth $((60 * k)) sine mix $((110 * k)) gain -$((6 * k))
    names+=("song$k")
  done
fi
{
  echo "target: spotify"
  echo "format: wav"
  echo "bits: 24"
  echo "songs:"
  for n in "${names[@]}"; do echo "  - {file: $n.wav, meta: {title: $n}}"; done
} >"$D/album.yaml"
dur=0
for n in "${names[@]}"; do
  d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$D/$n.wav")
  dur=$(awk "BEGIN{print $dur + $d}")
done
lt=$(best_time "$LATHE" album "$D/album.yaml" -o "$D/out" --force --quiet)
lm=$(cat "$OUT/rss.txt")
# the floor as a script: each song to 24-bit, then the three joined
{
  echo "set -e"
  for n in "${names[@]}"; do echo "sox '$D/$n.wav' -b 24 '$D/floor-$n.wav'"; done
  printf 'sox'
  for n in "${names[@]}"; do printf " '%s'" "$D/$n.wav"; done
  echo " -b 24 '$D/floor-album.wav'"
} >"$D/floor.sh"
st=$(best_time bash "$D/floor.sh")
printf '  %-44s %6.2f s %5sx realtime %7.1f MB\n' "lathe album ($(printf '%.0f' "$dur") s, ${#names[@]} songs)" \
  "$lt" "$(awk "BEGIN{printf \"%.0f\", $dur/$lt}")" "$lm"
printf '  %-44s %6.2f s %5sx realtime\n' "sox: the same files copied and joined" "$st" \
  "$(awk "BEGIN{printf \"%.0f\", $dur/$st}")"
printf '  lathe album takes %sx the time of that file work\n\n' "$(awk "BEGIN{printf \"%.1f\", $lt/$st}")"
