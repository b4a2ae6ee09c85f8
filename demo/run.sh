#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make demo: the main job on the bundled demo song. Needs no ../shared.
#
#   1. compose   demo/compose.c writes one MIDI file per instrument (one tempo map)
#   2. render    fluidsynth + FluidR3_GM renders each into a 48 kHz 24-bit stem
#   3. vocal     espeak-ng speaks the lyric; sox places the lines on their bars
#   4. analyse   lathe analyze measures every stem
#   5. mix       lathe mix demo/session.yaml -> demo/out/mix.wav (once `lathe mix` exists)
#
# Everything lands in demo/out/ (git-ignored). The content is fixed, so every
# run makes the same stems. Usage: bash demo/run.sh [path/to/lathe]
set -euo pipefail
LATHE=$(readlink -f "${1:-build/lathe}")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/out
SF2=/usr/share/sounds/sf2/FluidR3_GM.sf2
RATE=48000
PARTS=(kick snare hats bass keys pad lead strings)

for tool in cc fluidsynth espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "demo: $tool is missing (run: make deps)" >&2; exit 1; }
done
[ -r "$SF2" ] || { echo "demo: $SF2 is missing (run: make deps)" >&2; exit 1; }
[ -x "$LATHE" ] || { echo "demo: $LATHE is missing (run: make build)" >&2; exit 1; }

rm -rf "$OUT/midi" "$OUT/stems" "$OUT/vocal"
mkdir -p "$OUT/midi" "$OUT/stems" "$OUT/vocal"

# 1. compose ----------------------------------------------------------------
echo "== compose: demo/compose.c -> demo/out/midi/ =="
cc -O2 -Wall -Wextra -o "$OUT/compose" "$HERE/compose.c"
"$OUT/compose" "$OUT/midi"
# every stem gets the same length: the MIDI files' length (the song plus two
# bars of release tails) plus 1 s; fluidsynth renders about 2 s past the end
LEN=$(awk -v s="$("$OUT/compose" --length)" -v r=$RATE 'BEGIN { printf "%d", (s + 1) * r + 0.5 }')

# 2. render -------------------------------------------------------------------
# -g 0.8 with the parts' MIDI volumes keeps every stem's peak between about
# -10 and -3 dBFS. The files send nothing to fluidsynth's reverb and chorus:
# the stems are dry, the session adds the space. sox trims every stem to LEN
# samples (a short fade at the very end catches the crash's last ring). The
# FluidR3 saw lead is two layers in opposite polarity (correlation -0.9), which
# would cancel in mono: the lead stem keeps the left layer only, in mono.
render() {
  local p=$1 remix=()
  [ "$p" = lead ] && remix=(remix 1)
  fluidsynth -ni -q -F "$OUT/stems/$p.raw.wav" -r $RATE -g 0.8 -O s24 -T wav "$SF2" "$OUT/midi/$p.mid"
  sox "$OUT/stems/$p.raw.wav" -b 24 "$OUT/stems/$p.wav" "${remix[@]}" trim 0 "${LEN}s" fade 0 "${LEN}s" 0.3
  rm -f "$OUT/stems/$p.raw.wav"
}
echo "== render: fluidsynth + FluidR3_GM -> demo/out/stems/ =="
# two workers (the machine has two cores); each renders every other part
pids=()
for w in 0 1; do
  ( for i in "${!PARTS[@]}"; do [ $((i % 2)) = $w ] && render "${PARTS[$i]}"; done; true ) &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# 3. vocal --------------------------------------------------------------------
# The lyric, one line per phrase: bar;beat;espeak pitch(es);speed;text.
# Two pitches make a doubled line (espeak keeps the timing when only -p
# changes, so the two voices stay together). Each line is rendered, its lead-in
# silence trimmed so the first word lands on the beat, resampled to 48 kHz and
# delayed to its bar; sox -m (at unity: -v 1) adds the lines into one mono stem.
echo "== vocal: espeak-ng lines placed on their bars -> demo/out/stems/vocal.wav =="
VOICE=en-us+f3
LYRIC="5;1;48;160;Turn the wheel, and feel it move.
7;1;48;160;Shavings falling in the groove.
9;1;52;160;Every layer, every line,
11;1;52;160;cut by hand, and set in time.
13;1;70 38;165;Spin it round, spin it round,
15;1;70 38;165;shape the sound.
17;1;70 38;165;Spin it round, spin it round,
19;1;70 38;165;hear it all come back around.
21;1;44;150;Spin it round."
mixin=()
n=0
while IFS=';' read -r bar beat pitches speed text; do
  t=$("$OUT/compose" --time "$bar" "$beat")
  for p in $pitches; do
    n=$((n + 1))
    f=$OUT/vocal/line$n
    espeak-ng -v $VOICE -p "$p" -s "$speed" -w "$f.espeak.wav" "$text"
    # the doubled (lower) voice sits 6 dB under the main one
    g=0
    [ "$p" != "${pitches%% *}" ] && g=-6
    sox "$f.espeak.wav" -b 24 "$f.wav" silence 1 0.005 1% gain $g rate -v $RATE pad "$t"
    mixin+=(-v 1 "$f.wav")
  done
done <<<"$LYRIC"
sox -m "${mixin[@]}" -b 24 "$OUT/vocal/sum.wav"
# level: peak at -6 dBFS; then the common stem length
rest=$((LEN - $(soxi -s "$OUT/vocal/sum.wav")))
[ $rest -ge 0 ] || { echo "demo: the vocal runs past the end of the song" >&2; exit 1; }
sox "$OUT/vocal/sum.wav" -b 24 "$OUT/stems/vocal.wav" gain -n -6 pad 0 "${rest}s"

# 4. analyse ------------------------------------------------------------------
echo "== lathe analyze: the stems =="
stems=()
for p in "${PARTS[@]}" vocal; do stems+=("$OUT/stems/$p.wav"); done
"$LATHE" analyze "${stems[@]}" | awk '
  function flush() { if (name != "") printf "  %-12s %5s s  %3s ch  %7s LUFS  %7s dBTP  LRA %5s LU  clipped %s\n", name, dur, ch, i, tp, lra, clip }
  /^[^ ]/ { flush(); name = $0; sub(/.*\//, "", name); next }
  /Hz,/ { ch = $(NF - 2); dur = $NF; sub(/^0:/, "", dur) }
  /integrated/ { i = $2; lra = $(NF - 1) }
  /true peak/ { tp = $3 }
  /clipped samples/ { clip = $3 }
  END { flush() }'
frames=$(for s in "${stems[@]}"; do soxi -s "$s"; done | sort -u)
if [ "$(echo "$frames" | wc -l)" = 1 ]; then
  echo "  all stems start at 0 and are $frames frames long ($(soxi -d "${stems[0]}"))"
else
  echo "demo: the stems differ in length: $frames" >&2
  exit 1
fi

# 5. mix ----------------------------------------------------------------------
if "$LATHE" mix --help >/dev/null 2>&1; then
  echo "== lathe mix demo/session.yaml -> demo/out/mix.wav =="
  "$LATHE" mix "$HERE/session.yaml" -o "$OUT/mix.wav" --force
  echo "== lathe analyze demo/out/mix.wav =="
  "$LATHE" analyze "$OUT/mix.wav"
else
  echo "== mix: not yet: mixing demo/session.yaml arrives with the mix engine (lathe mix) =="
fi

# 6. master -------------------------------------------------------------------
echo "== lathe master demo/out/mix.wav -> demo/out/master.flac (Spotify: -14 LUFS, -1 dBTP) =="
"$LATHE" master "$OUT/mix.wav" -o "$OUT/master.flac" --target spotify --force
