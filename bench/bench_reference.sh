#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make bench, part: reference mastering (issue 8).  lathe master --reference
# on a 4-minute song with another song as the reference, and the plain master
# of the same file, in the same run: wall time (best of REPS), CPU time
# (user + sys of that run), x realtime and peak RSS.  Then where the time
# goes (the master's JSON time_s: both analyses, the chain render, the
# loudness solve and its renders) and the floor that follows from it.
# The issue's peer, matchering (15-26x realtime, 1.4-1.8 GB), is a Python
# package; PyPI is not reachable from this machine, so it is not run here.
# Called by bench/run.sh with LATHE, OUT, MATERIAL, REPS set.
set -euo pipefail
: "${LATHE:?}" "${OUT:?}" "${REPS:=3}"
MATERIAL=${MATERIAL:-}

run_best() { # best wall of REPS runs of "$@": "wall cpu mb median" (cpu and RSS of the best run)
  local best="" line="" walls=""
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/rtime.txt" "$@" >"$OUT/rstdout.txt" 2>"$OUT/rstderr.txt" || {
      echo "bench: command failed: $*" >&2; cat "$OUT/rstderr.txt" >&2; exit 1; }
    read -r e u s k <"$OUT/rtime.txt"
    walls="$walls $e"
    if [ -z "$best" ] || awk "BEGIN{exit !($e < $best)}"; then
      best=$e
      line=$(awk "BEGIN{printf \"%.2f %.2f %.1f\", $e, $u + $s, $k / 1024}")
      cp "$OUT/rstdout.txt" "$OUT/rbest.json"
    fi
  done
  echo "$line $(echo $walls | tr ' ' '\n' | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"
}

json() { # a number from the JSON of the best run: json KEY [OBJECT]
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d=d[sys.argv[3]] if len(sys.argv)>3 else d; print(d[sys.argv[2]])" \
    "$OUT/rbest.json" "$@"
}

echo "== reference: lathe master --reference, a 4-minute song toward another (issue 8) =="
if [ -n "$MATERIAL" ] && [ -f "$MATERIAL/music/lincity-ng_02_robert-van-herk_city-blues.ogg" ] &&
   [ -f "$MATERIAL/music/wesnoth_journeys_end.ogg" ]; then
  mix=$OUT/lincity-ng_02_robert-van-herk_city-blues.wav
  ref=$OUT/wesnoth_journeys_end.wav
  [ -f "$mix" ] || ffmpeg -nostdin -v error -y -i "$MATERIAL/music/$(basename "$mix" .wav).ogg" -c:a pcm_s16le "$mix"
  [ -f "$ref" ] || ffmpeg -nostdin -v error -y -i "$MATERIAL/music/$(basename "$ref" .wav).ogg" -c:a pcm_s16le "$ref"
else
  # no material: 4 minutes of a dull, pumping mix and a brighter, steadier reference
  mix=$OUT/ref-synth-mix.wav
  ref=$OUT/ref-synth-ref.wav
  [ -f "$mix" ] || sox -n -r 44100 -c 2 -b 16 "$mix" synth 240 pinknoise synth 240 sine mix 110 \
    tremolo 2 60 lowpass 4000 gain -20
  [ -f "$ref" ] || sox -n -r 44100 -c 2 -b 16 "$ref" synth 240 pinknoise tremolo 4 20 highshelf 3 6k gain -12
fi
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$mix")
dr=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$ref")
printf '  mix %s (%.0f s), reference %s (%.0f s), 16-bit WAV\n' "$(basename "$mix" .wav)" "$d" \
  "$(basename "$ref" .wav)" "$dr"
printf '  %-40s %8s %8s %10s %9s\n' "" "wall" "cpu" "realtime" "peak RSS"
row() { # name best cpu mb [median]: x realtime of the best run (and of the median)
  local med=""
  [ -n "${5:-}" ] && med=$(printf '  (median of %d: %.2f s, %.0fx)' "$REPS" "$5" "$(awk "BEGIN{print $d/$5}")")
  printf '  %-40s %7.2fs %7.2fs %9.0fx %7.1f MB%s\n' "$1" "$2" "$3" "$(awk "BEGIN{print $d/$2}")" "$4" "$med"
}

read -r rw rc rm rmed < <(run_best "$LATHE" master "$mix" -o "$OUT/ref-master.wav" --reference "$ref" --force --json)
ta=$(json analysis time_s); tc=$(json chain time_s); ts=$(json solve time_s); passes=$(json passes)
lufs=$(json integrated_lufs after); tp=$(json true_peak_dbtp after); target=$(json target_lufs)
row "lathe master --reference" "$rw" "$rc" "$rm" "$rmed"
read -r w1 c1 m1 _ < <(run_best "$LATHE" master "$mix" -o "$OUT/ref-master.wav" --reference "$ref" --threads 1 --force --json)
row "lathe master --reference --threads 1" "$w1" "$c1" "$m1"
read -r pw pc pm _ < <(run_best "$LATHE" master "$mix" -o "$OUT/ref-plain.wav" --force --json)
row "lathe master (plain, same file)" "$pw" "$pc" "$pm"
read -r aw ac am _ < <(run_best "$LATHE" analyze --threads 2 "$mix" "$ref")
row "lathe analyze, both files (loudness only)" "$aw" "$ac" "$am"
printf '  the master: %.2f LUFS (the reference: %.2f), true peak %.2f dBTP (ceiling -1)\n' "$lufs" "$target" "$tp"
printf '  where the time goes (--reference, the best run): analysis of both files %.2f s, chain render\n' "$ta"
printf '  %.2f s, loudness solve %.2f s (%d render(s) of drive + limiter, %.2f s each)\n' "$tc" "$ts" "$passes" \
  "$(awk "BEGIN{print $ts/$passes}")"
fl=$(awk "BEGIN{print $ta + $tc + $ts/$passes}")
printf '  floor with these parts (analyses + chain render + one limiter render): %.2f s, %.0fx realtime\n' \
  "$fl" "$(awk "BEGIN{print $d/$fl}")"
printf '  goal: >= 300x realtime in < 100 MB: %.0fx, %.1f MB\n' "$(awk "BEGIN{print $d/$rw}")" "$rm"
# every pair of the material songs and the tone targets, one run each: the
# figure is not one pair's
if [ -n "$MATERIAL" ] && [ -d "$MATERIAL/music" ]; then
  echo "  every pair of the material songs (mix <- reference) and the built-in tone targets, one run each:"
  songs=""
  for s in hedgewars_nature lincity-ng_02_robert-van-herk_city-blues wesnoth_journeys_end; do
    [ -f "$OUT/$s.wav" ] || ffmpeg -nostdin -v error -y -i "$MATERIAL/music/$s.ogg" -c:a pcm_s16le "$OUT/$s.wav"
    songs="$songs $s"
  done
  for m in $songs; do
    dm=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$OUT/$m.wav")
    for r in $songs neutral warm bright; do
      [ "$m" = "$r" ] && continue
      case $r in neutral|warm|bright) a=(--tone-target "$r");; *) a=(--reference "$OUT/$r.wav");; esac
      /usr/bin/time -f "%e %M" -o "$OUT/rtime.txt" "$LATHE" master "$OUT/$m.wav" -o "$OUT/ref-pair.wav" \
        "${a[@]}" --force --json >"$OUT/rpair.json"
      read -r e k <"$OUT/rtime.txt"
      python3 - "$OUT/rpair.json" "$m" "$r" "$e" "$dm" "$k" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e, dm, k = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
print("    %-18s <- %-18s %6.2f s %5.0fx %6.1f MB  %6.2f LUFS (target %6.2f), %5.2f dBTP, %d render(s)" % (
    sys.argv[2][:18], sys.argv[3][:18], e, dm / e, k / 1024, d["after"]["integrated_lufs"],
    d["target_lufs"], d["after"]["true_peak_dbtp"], d["passes"]))
PY
    done
  done
  rm -f "$OUT/ref-pair.wav" "$OUT/rpair.json"
fi
echo "  matchering (the issue's figures: 15-26x realtime, 1.4-1.8 GB) is not measured here: it is a"
echo "  Python package and PyPI is not reachable from this machine"
echo
rm -f "$OUT/ref-master.wav" "$OUT/ref-plain.wav" "$OUT/rbest.json" "$OUT/rstdout.txt"
