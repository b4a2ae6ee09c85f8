#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make demo: the main job on the bundled demo. Needs no ../shared.
# Today: make a short spoken clip (espeak-ng) and measure it with lathe analyze.
# The mixing (issue 4) and mastering (issue 5) stages extend this script.
set -euo pipefail
LATHE=$(readlink -f "${1:-build/lathe}")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/out
mkdir -p "$OUT"
espeak-ng -w "$OUT/voice.wav" -s 150 \
  "lathe measures loudness to E B U R one twenty eight, true peak, and what every platform will do to your song."
echo "== lathe analyze demo/out/voice.wav =="
"$LATHE" analyze "$OUT/voice.wav"
