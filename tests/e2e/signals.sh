#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# SIGINT and SIGTERM during a render: lathe prints one line, "lathe:
# interrupted", exits 130 (SIGINT) or 143 (SIGTERM), and leaves nothing:
# no output, no .NAME.lathe-* temporary beside it, nothing in $TMPDIR; the
# input is unchanged.  For mix, master (plain, with --reference, MP3 and Ogg
# out), album, clean and analyze --report, on a generated input long enough
# that every render is still running when the signal comes (0.3 s in).
# Also: a signal that arrives after the output is complete (while the
# report is written) leaves the output whole (tried on a shorter input).
set -uo pipefail
LATHE=${LATHE_EXE:?}
command -v sox >/dev/null || { echo "signals.sh: sox missing"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
IN=$T/in OUT=$T/out
export TMPDIR=$T/tmp LATHE_NO_PROGRESS=1 NO_COLOR=1
mkdir -p "$IN" "$OUT" "$TMPDIR"
# Background jobs of a script ignore SIGINT unless job control is on (and
# lathe keeps an ignored SIGINT ignored, as nohup expects).
set -m
fail=0

# long.wav for the signal at 0.3 s: 5 minutes (1 under the sanitizers, which
# run several times slower); mid.wav for the signals at a temporary file
# (the stages before it need not be long); short.wav for the finished output.
LONG=300 MID=60 SHORT=20
[ -n "${LATHE_SANITIZED:-}" ] && LONG=60 MID=8 SHORT=5
cd "$IN" || exit 1
sox -n -r 48000 -c 2 -b 16 long.wav synth "$LONG" sine 220 sine 330 remix 1 2 tremolo 3 60 gain -9
sox long.wav mid.wav trim 0 "$MID"
sox long.wav short.wav trim 0 "$SHORT"
sox -n -r 48000 -c 2 -b 16 ref.wav synth 20 pinknoise gain -12
# the session's chain makes the mix slow enough on a fast machine too
printf 'lathe: 1\ntracks:\n  - { name: a, file: long.wav, chain: [ { reverb: { decay: 2 s } }, { multiband: {} } ] }\n' >long.yaml
sed 's/long.wav/mid.wav/' long.yaml >mid.yaml
printf 'songs:\n  - file: long.wav\n' >album.yaml
printf 'songs:\n  - file: mid.wav\n' >mid-album.yaml
HASH=$(sha256sum long.wav mid.wav short.wav ref.wav long.yaml mid.yaml album.yaml mid-album.yaml)

leftovers() { ls -A "$OUT" "$TMPDIR" "$IN" | grep -v -x -e "$OUT:" -e "$TMPDIR:" -e "$IN:" -e '' \
    -e long.wav -e mid.wav -e short.wav -e ref.wav -e long.yaml -e mid.yaml -e album.yaml -e mid-album.yaml; }

# The signal comes 0.3 s in, or (WHEN = a find(1) -name pattern) as soon as
# a file of that name exists under OUT or TMPDIR: the temporary output, the
# master's cache, a candidate, so the later stages are hit as well.
WHEN=
shopt -s dotglob # the album's work folder is hidden
appeared() { # a non-empty file named $WHEN in OUT, a folder of it, or TMPDIR (shell globs: no fork)
    local f
    for f in "$OUT"/$WHEN "$OUT"/*/$WHEN "$OUT"/*/*/$WHEN "$TMPDIR"/$WHEN; do
        [ -s "$f" ] && return 0
    done
    return 1
}
interrupt() { # SIGNAL EXIT COMMAND...
    local sig=$1 want=$2
    shift 2
    "$LATHE" "$@" >/dev/null 2>"$T/err" &
    local pid=$!
    # first, lathe's handlers are in place (SIGINT's bit in SigCgt): a loaded
    # machine can take longer than 0.3 s to start a sanitizer build, and a
    # signal before main() is the default action, which is not under test
    local cgt=0
    while kill -0 "$pid" 2>/dev/null; do
        cgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ $((0x${cgt:-0} & 2)) != 0 ] && break
        sleep 0.005
    done
    if [ -n "$WHEN" ]; then
        while kill -0 "$pid" 2>/dev/null && ! appeared; do sleep 0.005; done
    else
        sleep 0.3
    fi
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    local rc=$? err
    err=$(cat "$T/err")
    if [ "$rc" != "$want" ] || [ "$err" != "lathe: interrupted" ]; then
        printf 'FAIL: SIG%s to lathe %s: exit %s (want %s), stderr: %s\n' "$sig" "$*" "$rc" "$want" "$err" >&2
        [ "$rc" = 0 ] && echo "  (it finished before the signal: the input is too short for this machine)" >&2
        fail=$((fail + 1))
    fi
    local left
    left=$(leftovers)
    if [ -n "$left" ]; then
        printf 'FAIL: SIG%s to lathe %s left: %s\n' "$sig" "$*" "$left" >&2
        fail=$((fail + 1))
        rm -rf "${OUT:?}"/* "${OUT:?}"/.[!.]* "${TMPDIR:?}"/* "${TMPDIR:?}"/.[!.]*
    fi
    if [ "$(sha256sum long.wav mid.wav short.wav ref.wav long.yaml mid.yaml album.yaml mid-album.yaml)" != "$HASH" ]; then
        printf 'FAIL: SIG%s to lathe %s changed the input\n' "$sig" "$*" >&2
        fail=$((fail + 1))
    fi
    echo "SIG$sig${WHEN:+ (at $WHEN)} lathe $*: exit $rc ($SECONDS s)"
}

for s in INT:130 TERM:143; do
    sig=${s%:*} rc=${s#*:}
    interrupt "$sig" "$rc" mix long.yaml -o "$OUT/m.wav"
    interrupt "$sig" "$rc" master long.wav -o "$OUT/m.wav"
    interrupt "$sig" "$rc" master long.wav -o "$OUT/m.wav" --reference ref.wav
    interrupt "$sig" "$rc" master long.wav -o "$OUT/m.mp3"
    interrupt "$sig" "$rc" master long.wav -o "$OUT/m.ogg"
    interrupt "$sig" "$rc" album album.yaml -o "$OUT/album"
    interrupt "$sig" "$rc" clean long.wav -o "$OUT/c.wav" --declick
    interrupt "$sig" "$rc" analyze long.wav --report "$OUT/r.html"
done

# later: while a temporary output is being written
WHEN='.m.wav.lathe-*' interrupt INT 130 mix mid.yaml -o "$OUT/m.wav"
WHEN='lathe-master-*' interrupt TERM 143 master mid.wav -o "$OUT/m.wav"
WHEN='..m.lathe-final.wav.lathe-*' interrupt INT 130 master mid.wav -o "$OUT/m.wav"
WHEN='.m.lathe-final.mp3' interrupt TERM 143 master mid.wav -o "$OUT/m.mp3"
WHEN='.m.lathe-final.ogg' interrupt INT 130 master mid.wav -o "$OUT/m.ogg"
WHEN='..master-01.lathe-final.wav.lathe-*' interrupt INT 130 album mid-album.yaml -o "$OUT/album"
WHEN='.c.wav.lathe-*' interrupt TERM 143 clean mid.wav -o "$OUT/c.wav" --declick

# After the output is complete: master renames OUT into place, then writes
# the report (which analyses the input again). A SIGINT as soon as OUT
# appears stops the report, not the master: OUT stays, whole; no report and
# no temporary are left. (Should lathe finish first, the exit is 0.)
"$LATHE" master short.wav -o "$OUT/done.wav" --report "$OUT/done.html" >/dev/null 2>"$T/err" &
pid=$!
while [ ! -e "$OUT/done.wav" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
kill -s INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
frames=$(sox --i -s "$OUT/done.wav" 2>/dev/null)
want=$(sox --i -s short.wav)
echo "SIGINT after the output: exit $rc, $frames of $want frames, stderr: $(cat "$T/err")"
if [ "$frames" != "$want" ]; then
    echo "FAIL: the finished output is gone or cut: $frames frames (want $want)" >&2
    fail=$((fail + 1))
fi
case $rc in
130) [ "$(cat "$T/err")" = "lathe: interrupted" ] && [ ! -e "$OUT/done.html" ] ||
    { echo "FAIL: interrupted report: $(cat "$T/err"), $(ls -A "$OUT")" >&2; fail=$((fail + 1)); } ;;
0) [ -s "$OUT/done.html" ] || { echo "FAIL: exit 0 without the report" >&2; fail=$((fail + 1)); } ;;
*) echo "FAIL: exit $rc" >&2; fail=$((fail + 1)) ;;
esac
rm -f "$OUT/done.wav" "$OUT/done.html"
left=$(leftovers)
[ -z "$left" ] || { echo "FAIL: left after the report was interrupted: $left" >&2; fail=$((fail + 1)); }

echo "signals.sh: $fail failures"
[ $fail = 0 ]
