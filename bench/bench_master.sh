#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make bench, part: lathe master --target spotify against ffmpeg's two-pass
# loudnorm (I=-14:TP=-1:LRA=11; pass 1 measures, pass 2 applies measured_*
# with linear=true, the input rate kept), on the same files in the same run.
# Reported per file: wall time of each (all passes), the output's loudness
# error and true peak, both read by ffmpeg's ebur128=peak=true (192 kHz).
# Then memory: a 3-minute and a 1-hour file mastered, peak RSS of each.
# Called by bench/run.sh with LATHE, OUT, MATERIAL, REPS set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${LATHE:?}" "${OUT:?}" "${REPS:=3}"
MATERIAL=${MATERIAL:-}

ebur() { # "I TP" of a file by ffmpeg
  ffmpeg -nostdin -nostats -hide_banner -i "$1" -af ebur128=peak=true -f null - 2>&1 |
    awk '/Summary/{s=1} s&&/^ *I:/{i=$2} s&&/^ *Peak:/{p=$2} END{print i, p}'
}

loudnorm2() { # two-pass ffmpeg loudnorm of $1 into $2, both passes
  local in=$1 out=$2 rate json
  rate=$(ffprobe -v error -select_streams a:0 -show_entries stream=sample_rate -of csv=p=0 "$in")
  json=$(ffmpeg -nostdin -hide_banner -nostats -i "$in" \
           -af loudnorm=I=-14:TP=-1:LRA=11:print_format=json -f null - 2>&1 | sed -n '/^{/,/^}/p')
  get() { echo "$json" | sed -n "s/.*\"$1\" : \"\\([^\"]*\\)\".*/\\1/p"; }
  ffmpeg -nostdin -v error -y -i "$in" -af "loudnorm=I=-14:TP=-1:LRA=11:measured_I=$(get input_i):measured_TP=$(get input_tp):measured_LRA=$(get input_lra):measured_thresh=$(get input_thresh):offset=$(get target_offset):linear=true" \
    -ar "$rate" -c:a pcm_s24le "$out"
}
export -f loudnorm2

echo "== master: lathe master --target spotify vs ffmpeg loudnorm, two passes (issue 5) =="
files=()
if [ -n "$MATERIAL" ] && [ -d "$MATERIAL/music" ]; then
  for f in "$MATERIAL"/music/*.ogg; do
    w=$OUT/$(basename "$f" .ogg).wav
    [ -f "$w" ] || ffmpeg -nostdin -v error -y -i "$f" -c:a pcm_s16le "$w"
    files+=("$w")
  done
else
  w=$OUT/synth-song.wav
  [ -f "$w" ] || sox -n -r 44100 -c 2 -b 16 "$w" synth 200 pinknoise synth 200 sine mix 110 tremolo 2 60 gain -18
  files+=("$w")
fi
printf '  %-40s %8s %8s %6s | %9s %9s | %9s %9s\n' "file (duration)" "lathe" "ffmpeg" "ratio" \
  "lathe dLU" "ffm dLU" "lathe TP" "ffm TP"
tl=0 tf=0 total=0
for w in "${files[@]}"; do
  d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$w")
  lt=$(best_time "$LATHE" master "$w" -o "$OUT/master-lathe.wav" --target spotify --force --quiet)
  ft=$(best_time bash -c 'loudnorm2 "$0" "$1"' "$w" "$OUT/master-ffmpeg.wav")
  read -r li lp < <(ebur "$OUT/master-lathe.wav")
  read -r fi fp < <(ebur "$OUT/master-ffmpeg.wav")
  printf '  %-40s %7.2fs %7.2fs %5.1fx | %+9.2f %+9.2f | %9.1f %9.1f\n' \
    "$(basename "$w" .wav | cut -c1-32) ($(printf '%.0f' "$d") s)" "$lt" "$ft" \
    "$(awk "BEGIN{print $ft/$lt}")" "$(awk "BEGIN{print $li+14}")" "$(awk "BEGIN{print $fi+14}")" "$lp" "$fp"
  tl=$(awk "BEGIN{print $tl+$lt}"); tf=$(awk "BEGIN{print $tf+$ft}"); total=$(awk "BEGIN{print $total+$d}")
done
printf '  total: lathe %.2f s (%.0fx realtime), ffmpeg %.2f s (%.0fx realtime): lathe is %.1fx ffmpeg (target >= 5x)\n' \
  "$tl" "$(awk "BEGIN{print $total/$tl}")" "$tf" "$(awk "BEGIN{print $total/$tf}")" "$(awk "BEGIN{print $tf/$tl}")"
echo "  (dLU: output integrated loudness minus -14 LUFS; TP: output true peak in dBTP; both by ffmpeg ebur128=peak=true)"

# memory: flat with duration
long=$OUT/long-1h.wav
short=$OUT/short-3min.wav
[ -f "$short" ] || sox -n -r 48000 -c 2 -b 16 "$short" synth 180 pinknoise synth 180 sine mix 90 tremolo 3 50 gain -20
[ -f "$long" ] || sox -n -r 48000 -c 2 -b 16 "$long" synth 3600 pinknoise synth 3600 sine mix 90 tremolo 3 50 gain -20
REPS=1
ts=$(best_time "$LATHE" master "$short" -o "$OUT/m-short.wav" --force --quiet); ms=$(cat "$OUT/rss.txt")
tlg=$(best_time "$LATHE" master "$long" -o "$OUT/m-long.wav" --force --quiet); ml=$(cat "$OUT/rss.txt")
printf '  memory: 3-minute file %.1f MB peak RSS (%.2f s), 1-hour file %.1f MB (%.1f s, %.0fx realtime; target <= 150 MB)\n\n' \
  "$ms" "$ts" "$ml" "$tlg" "$(awk "BEGIN{print 3600/$tlg}")"
rm -f "$OUT/m-long.wav" "$OUT/m-short.wav"
