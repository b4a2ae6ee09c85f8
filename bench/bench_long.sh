#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make bench, part (issue 10): memory stays flat with duration. A 3-hour and a
# 3-minute 96 kHz stereo 24-bit WAV (the long one is RF64: 6.2 GB) of the
# same generated signal (pink noise and a tremolo sine, by sox), each mastered
# by `lathe master` to a 24-bit WAV and to a 24-bit FLAC; wall time,
# x realtime and peak RSS (/usr/bin/time %M) side by side. Fails when the
# 3-hour master's peak RSS passes 150 MB.
#
# Called by bench/run.sh with LATHE and OUT set, or on its own:
#   bash bench/bench_long.sh path/to/lathe        (BENCH_OUT: the scratch folder)
# BENCH_LONG_S sets the long file's length in seconds (default 10800), for
# trying the script on a shorter file.
#
# Disk: the long input (6.2 GB), lathe's pre-render of the chain in $TMPDIR
# (32-bit float, 8.3 GB; TMPDIR is pointed at the scratch folder so the check
# below counts it) and the output (6.2 GB, a candidate next to it at most):
# about 30 GB. Less free space skips the long file with a message. Every
# generated file is deleted afterwards.
set -euo pipefail
LATHE=${LATHE:-${1:-}}
[ -n "$LATHE" ] || { echo "usage: bench_long.sh path/to/lathe" >&2; exit 64; }
LATHE=$(readlink -f "$LATHE")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-${BENCH_OUT:-$ROOT/build/bench}}
LONG_S=${BENCH_LONG_S:-10800}
SHORT_S=180
RATE=96000
LIMIT_MB=150
mkdir -p "$OUT"
W=$OUT/long
rm -rf "$W"
mkdir -p "$W"
trap 'rm -rf "$W"' EXIT

dur() { awk "BEGIN{s=$1; if (s>=3600) printf \"%g h\", s/3600; else printf \"%g min\", s/60}"; }
echo "== memory with duration: lathe master, 96 kHz stereo 24-bit, $(dur "$SHORT_S") against $(dur "$LONG_S") (issue 10) =="

# Free space needed: input 3 B + pre-render 4 B + output 2 x 3 B per sample, 2 channels, plus 1 GB.
need_gb=$(awk "BEGIN{printf \"%.0f\", $LONG_S*$RATE*2*(3+4+6)/1e9 + 1}")
free_gb=$(df -Pk "$W" | awk 'NR==2{printf "%.0f", $4/1e6}')
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "  skipped: $free_gb GB free under $OUT, the long file needs about $need_gb GB (set BENCH_OUT)"
  exit 0
fi

# The signal: pink noise and a 90 Hz sine with a 3 Hz tremolo, -20 dB, the
# same for both lengths. sox writes raw samples; ffmpeg puts them in a WAV
# that becomes RF64 past 4 GB (sox's WAV writer stops at 4 GB).
gen() { # gen SECONDS FILE
  sox -n -r "$RATE" -c 2 -b 24 -e signed-integer -t raw - \
      synth "$1" pinknoise synth "$1" sine mix 90 tremolo 3 50 gain -20 |
    ffmpeg -nostdin -v error -y -f s24le -ar "$RATE" -ac 2 -i - -c:a pcm_s24le -rf64 auto "$2"
}

# One master: "seconds peak_MB" (one run: the long one takes minutes).
run() { # run IN OUT [ARGS...]
  local in=$1 out=$2 s k
  shift 2
  TMPDIR=$W /usr/bin/time -f "%e %M" -o "$W/time.txt" \
    "$LATHE" master "$in" -o "$out" --force --quiet "$@" >"$W/stdout.txt" 2>"$W/stderr.txt" || {
    echo "bench: failed: lathe master $in -o $out $*" >&2; cat "$W/stderr.txt" >&2; exit 1; }
  read -r s k <"$W/time.txt"
  rm -f "$out"
  echo "$s $(awk "BEGIN{printf \"%.1f\", $k/1024}")"
}

printf '  %-10s %-22s %10s %10s %12s\n' "input" "output" "wall" "realtime" "peak RSS"
declare -A rss
for len in "$SHORT_S" "$LONG_S"; do
  in=$W/in-$len.wav
  gen "$len" "$in"
  label=$(dur "$len")
  for out in "wav 24-bit" "flac 24-bit"; do
    ext=${out%% *}
    read -r s m < <(run "$in" "$W/master.$ext" --bits 24)
    printf '  %-10s %-22s %9.1fs %9.0fx %9.1f MB\n' "$label" "$out" "$s" "$(awk "BEGIN{print $len/$s}")" "$m"
    rss[$len-$ext]=$m
  done
  rm -f "$in"
done

worst=$(awk "BEGIN{a=${rss[$LONG_S-wav]}; b=${rss[$LONG_S-flac]}; print (a>b)?a:b}")
short=$(awk "BEGIN{a=${rss[$SHORT_S-wav]}; b=${rss[$SHORT_S-flac]}; print (a>b)?a:b}")
printf '  peak RSS: %.1f MB for %s s against %.1f MB for %s s (%+.1f MB); target <= %d MB\n\n' \
  "$worst" "$LONG_S" "$short" "$SHORT_S" "$(awk "BEGIN{print $worst-$short}")" "$LIMIT_MB"
if awk "BEGIN{exit !($worst > $LIMIT_MB)}"; then
  echo "bench: lathe master peaked at $worst MB on the long file (limit $LIMIT_MB MB)" >&2
  exit 1
fi
