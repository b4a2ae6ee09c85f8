#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make bench, part: noise reduction with a noise profile (issue 9).  One
# minute of music plus white noise at 20 dB SNR goes through
#   lathe clean --denoise 20 --noise-profile NOISE.wav
#   ffmpeg afftdn (nr=20, its noise floor set to the measured noise level)
#   sox noisered (profile from the same NOISE.wav, amounts 0.21 and 0.5)
# Reported: SNR improvement against the clean music (left channel, at the
# lag that fits best, by a small C helper built here) and x realtime (best
# of REPS), side by side.
# Called by bench/run.sh with LATHE, OUT, MATERIAL, REPS set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${LATHE:?}" "${OUT:?}" "${REPS:=3}"
MATERIAL=${MATERIAL:-}
D=$OUT/clean
mkdir -p "$D"

rms() { sox -V1 "$1" -n stat 2>&1 | awk '/RMS +amplitude/{print $3}'; }
# SNR of a file against the clean music, at the lag (0..16384 frames) that
# fits best: a tool that does not compensate its latency is not penalised.
cat >"$D/snr.c" <<'C'
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
static float *rd(const char *p, long *n) {
    FILE *f = fopen(p, "rb"); if (!f) { perror(p); exit(1); }
    fseek(f, 0, SEEK_END); *n = ftell(f) / 4; fseek(f, 0, SEEK_SET);
    float *x = malloc(*n * 4); if (fread(x, 4, *n, f) != (size_t)*n) exit(1); fclose(f); return x;
}
int main(int argc, char **argv) {
    long n, m; float *c = rd(argv[1], &n), *y = rd(argv[2], &m);
    long best = 0; double be = INFINITY;
    for (long d = 0; d <= 16384; d++) { /* coarse: a 1 s stretch */
        double e = 0; long a = 441000 < n - 44100 - d ? 441000 : 0;
        for (long i = a; i < a + 44100 && i + d < m; i++) { double q = y[i + d] - c[i]; e += q * q; }
        if (e < be) { be = e; best = d; }
    }
    double ps = 0, pe = 0;
    for (long i = 0; i + best < m && i < n; i++) { double q = y[i + best] - c[i]; ps += (double)c[i] * c[i]; pe += q * q; }
    printf("%.2f %ld\n", 10 * log10(ps / pe), best);
    return 0;
}
C
cc -O2 -o "$D/snr" "$D/snr.c" -lm
raw() { sox -V1 "$1" -t f32 -c 1 "$2" remix 1; } # left channel, raw float
snr() { # "SNR lag" of $1 against the clean music
  raw "$1" "$D/y.f32"
  "$D/snr" "$D/music.f32" "$D/y.f32"
}

echo "== clean: noise reduction with a profile, lathe vs ffmpeg afftdn vs sox noisered (issue 9) =="
if [ -n "$MATERIAL" ] && [ -f "$MATERIAL/music/lincity-ng_02_robert-van-herk_city-blues.ogg" ]; then
  ffmpeg -nostdin -v error -y -ss 30 -t 60 -i "$MATERIAL/music/lincity-ng_02_robert-van-herk_city-blues.ogg" \
    -c:a pcm_f32le "$D/music.wav"
else
  sox -n -r 44100 -c 2 -b 32 -e float "$D/music.wav" synth 60 sine 220 sine 330 tremolo 0.5 60 gain -12
fi
# white noise 20 dB below the music (RMS), and a separate 3 s noise-only file
sox -V1 -R -n -r 44100 -c 2 -b 32 -e float "$D/n.wav" synth 60 whitenoise gain -10
sox -V1 -n -r 44100 -c 2 -b 32 -e float "$D/n2.wav" synth 3 whitenoise gain -10
g=$(awk "BEGIN{print $(rms "$D/music.wav")/$(rms "$D/n.wav")/10}")
sox -V1 -v "$g" "$D/n.wav" "$D/noise.wav"
sox -V1 -v "$g" "$D/n2.wav" "$D/noise-only.wav"
sox -V1 -m -v 1 "$D/music.wav" -v 1 "$D/noise.wav" -b 32 -e float "$D/noisy.wav"
raw "$D/music.wav" "$D/music.f32"
nf=$(awk "BEGIN{v=20*log($(rms "$D/noise.wav"))/log(10); if (v < -80) v = -80; if (v > -20) v = -20; printf \"%.1f\", v}")
sox -V1 "$D/noise-only.wav" -n noiseprof "$D/sox.prof"
dur=60
read -r in_snr _ < <(snr "$D/noisy.wav")

tl=$(best_time "$LATHE" clean "$D/noisy.wav" -o "$D/lathe.wav" --denoise 20 --noise-profile "$D/noise-only.wav" --force --quiet)
tf=$(best_time ffmpeg -nostdin -v error -y -i "$D/noisy.wav" -af "afftdn=nr=20:nf=$nf" -c:a pcm_f32le "$D/ffmpeg.wav")
ts=$(best_time sox -V1 "$D/noisy.wav" -b 32 -e float "$D/sox.wav" noisered "$D/sox.prof" 0.21)
ts5=$(best_time sox -V1 "$D/noisy.wav" -b 32 -e float "$D/sox5.wav" noisered "$D/sox.prof" 0.5)
printf '  input: 60 s of music + white noise, SNR %s dB (noise %s dBFS RMS)\n' "$in_snr" "$nf"
printf '  %-44s %12s %12s %10s\n' "tool" "SNR gain" "x realtime" "lag"
for t in lathe ffmpeg sox sox5; do
  case $t in
    lathe) name="lathe clean --denoise 20 --noise-profile FILE"; tt=$tl ;;
    ffmpeg) name="ffmpeg afftdn=nr=20:nf=$nf"; tt=$tf ;;
    sox) name="sox noisered PROFILE 0.21"; tt=$ts ;;
    sox5) name="sox noisered PROFILE 0.5"; tt=$ts5 ;;
  esac
  read -r o lag < <(snr "$D/$t.wav")
  printf '  %-44s %+9.2f dB %11.0fx %10s\n' "$name" "$(awk "BEGIN{print $o-$in_snr}")" "$(awk "BEGIN{print $dur/$tt}")" "$lag"
done
echo "  (SNR of the left channel against the clean music at the best lag in frames: afftdn does"
echo "   not compensate its delay; its noise floor is set to the measured noise level; lathe and"
echo "   sox take their profile from the same separate noise-only file)"
echo
