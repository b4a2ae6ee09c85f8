#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerates the audio seed corpus (fuzz/corpus/audio/): a few hundred
# frames of a tone in every container and encoding lathe reads, each a few
# KB.  Needs sox and ffmpeg.  The files are committed; run this only to
# change them.
set -euo pipefail
out=$(dirname "$0")/corpus/audio
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sox -n -r 8000 -c 1 -b 16 "$tmp/m.wav" synth 0.05 sine 440
sox -n -r 8000 -c 2 -b 16 "$tmp/s.wav" synth 0.05 sine 440 sine 660
sox -n -r 48000 -c 2 -b 16 "$tmp/s48.wav" synth 0.12 sine 440 sine 660

cp "$tmp/m.wav" "$out/pcm16-mono.wav"
sox "$tmp/s.wav" -b 24 "$out/pcm24-stereo.wav"
sox "$tmp/s.wav" -e floating-point -b 32 "$out/float32.wav"
sox "$tmp/m.wav" -e floating-point -b 64 "$out/float64.wav"
sox "$tmp/m.wav" -b 8 -e unsigned-integer "$out/pcm8.wav"
sox "$tmp/m.wav" -e u-law "$out/ulaw.wav"
sox "$tmp/m.wav" -e a-law "$out/alaw.wav"
sox "$tmp/m.wav" -e ima-adpcm "$out/ima-adpcm.wav"
sox "$tmp/m.wav" -e ms-adpcm "$out/ms-adpcm.wav"
sox "$tmp/m.wav" -e gsm-full-rate "$out/gsm.wav"
sox -n -r 8000 -c 4 -b 16 "$out/wavex-4ch.wav" synth 0.02 sine 440
ffmpeg -v error -i "$tmp/m.wav" -rf64 always -y "$out/rf64.wav"
sox "$tmp/s.wav" "$out/pcm16.aiff"
sox "$tmp/m.wav" -e floating-point -b 32 "$out/float.aifc"
sox "$tmp/m.wav" "$out/pcm16.au"
sox "$tmp/m.wav" "$out/pcm16.w64"
sox "$tmp/s.wav" -b 24 "$out/pcm24.flac"
sox "$tmp/m.wav" "$out/pcm16.caf" 2>/dev/null || ffmpeg -v error -i "$tmp/m.wav" -y "$out/pcm16.caf"
ffmpeg -v error -i "$tmp/m.wav" -c:a alac -y "$tmp/alac.caf" && cp "$tmp/alac.caf" "$out/alac.caf"
sox "$tmp/m.wav" "$out/pcm16.voc"
ffmpeg -v error -i "$tmp/s48.wav" -c:a libvorbis -q:a 0 -y "$out/vorbis.ogg"
ffmpeg -v error -i "$tmp/s48.wav" -c:a libopus -b:a 16k -y "$out/opus.opus"
ffmpeg -v error -i "$tmp/s48.wav" -c:a libmp3lame -b:a 32k -y "$out/mp3-id3.mp3"
ffmpeg -v error -i "$tmp/s48.wav" -c:a libmp3lame -b:a 32k -write_xing 0 -id3v2_version 0 -y "$out/mp3-bare.mp3"
# libsndfile content-sniffs; drop what it cannot open (it would only waste runs)
ls -l "$out"
