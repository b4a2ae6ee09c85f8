#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The bad-input corpus (tests/bad/): every command that takes a bad file,
# a bad YAML file or an impossible output gives its exact message and exit
# code, leaves no file behind (no output, no .NAME.lathe-* temporary,
# nothing in $TMPDIR) and leaves its inputs byte-identical.
#
# The corpus: tests/bad/*.yaml and text.wav are committed; the damaged audio
# is made here from a generated file (cutting and patching a known file is
# the point, and keeps binaries out of the repository). The table of cases
# is tests/bad/cases.txt.
#
# RECORD=1 prints every case with what lathe did, as table rows (for
# writing new rows: read each message before pasting it).
set -uo pipefail
LATHE=${LATHE_EXE:?}
SRC=${LATHE_SOURCE_DIR:?}
command -v sox >/dev/null || { echo "bad_input.sh: sox missing"; exit 1; }
T=$(mktemp -d)
SMALL=$T/small
cleanup() {
    mountpoint -q "$SMALL" 2>/dev/null && umount "$SMALL"
    chmod -R u+rwX "$T" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
IN=$T/in OUT=$T/out
export TMPDIR=$T/tmp
mkdir -p "$IN" "$OUT" "$TMPDIR"
export LATHE_NO_PROGRESS=1 NO_COLOR=1
fail=0 ran=0 skipped=0

# ---- the corpus ----
cd "$IN" || exit 1
cp "$SRC"/tests/bad/*.yaml "$SRC"/tests/bad/text.wav .
sox -n -r 48000 -c 2 -b 16 good.wav synth 1 sine 440 gain -6     # 44-byte header: data at 44
sox good.wav good.flac
sox -n -r 48000 -c 2 -b 32 -e floating-point float.wav synth 1 sine 440 gain -6
size() { stat -c %s "$1"; }
head -c $(($(size good.wav) / 2)) good.wav >trunc.wav
head -c 30 good.wav >trunc-header.wav
head -c $(($(size good.flac) / 2)) good.flac >trunc.flac
head -c 30 good.flac >trunc-header.flac
: >empty.wav
# patch FILE NEW OFFSET BYTES: a copy of FILE with BYTES (printf escapes) at OFFSET
patch() { cp "$1" "$2" && printf "$4" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none; }
patch good.wav zero-channels.wav 22 '\x00\x00'
patch good.wav nine-channels.wav 22 '\x09\x00'
patch good.wav rate-0.wav 24 '\x00\x00\x00\x00'
patch good.wav rate-1.wav 24 '\x01\x00\x00\x00'
patch good.wav rate-huge.wav 24 '\x00\x00\x00\x7f'
patch good.wav bits-0.wav 34 '\x00\x00'
patch good.wav data-size-0.wav 40 '\x00\x00\x00\x00'
patch good.wav data-size-small.wav 40 '\x10\x00\x00\x00'
patch good.wav data-size-huge.wav 40 '\xff\xff\xff\x7f'
patch good.wav fmt-size-huge.wav 16 '\xff\x00\x00\x00'
# float samples: NaN at frame 24000 (channel 2), -inf at frame 100 (channel 1)
data=$(grep -obUa data float.wav | head -1 | cut -d: -f1)
patch float.wav nan.wav $((data + 8 + 8 * 24000 + 4)) '\x00\x00\xc0\x7f'
patch float.wav inf.wav $((data + 8 + 8 * 100)) '\x00\x00\x80\xff'
mkdir folder.wav
cp good.wav unreadable.wav && chmod 000 unreadable.wav
ln -s good.wav link.wav
# a one-track session and a one-song album for every audio file
for f in *.wav *.flac missing.wav; do
    printf 'lathe: 1\ntracks:\n  - { name: a, file: %s }\n' "$f" >"$f.mix.yaml"
    printf 'songs:\n  - file: %s\n' "$f" >"$f.album.yaml"
done
rm -f float.wav.mix.yaml float.wav.album.yaml
# what every case must leave as it was (hashes include the hidden files)
snapshot() {
    (cd "$IN" && find . -mindepth 1 -printf '%p %y %m\n' | sort
     find . -type f -perm -u+r -exec sha256sum {} + | sort -k2)
}
BEFORE=$(snapshot)

# The unreadable file: root reads any file, so as root the case runs as nobody.
as_nobody=()
if [ "$(id -u)" = 0 ]; then
    if command -v setpriv >/dev/null; then
        as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
        chmod 755 "$T" "$IN" && chmod 777 "$OUT" "$TMPDIR"
    else
        as_nobody=(none)
    fi
fi
# The full disk: a 64 kB tmpfs when mounting is allowed (root, outside a
# locked-down container), else those cases are skipped.
have_tmpfs=0
mkdir -p "$SMALL" && mount -t tmpfs -o size=64k tmpfs "$SMALL" 2>/dev/null && have_tmpfs=1

# glob pattern from an expected text: literal, except XXXXXX (mkstemp's six characters)
pattern() {
    local s=$1 out="" i c
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in '*' | '?' | '[' | ']' | '\') out+="\\$c" ;; *) out+=$c ;; esac
    done
    printf '%s' "${out//XXXXXX/??????}"
}

run_case() { # TAGS CMD EXIT STDERR
    local tags=$1 cmd=$2 want_rc=$3 want_err=$4 pre=() outdir=$OUT
    case $tags in *nobody*)
        [ "${as_nobody[0]:-}" = none ] && { skipped=$((skipped + 1)); return; }
        pre=("${as_nobody[@]}") ;;
    esac
    case $tags in *tmpfs*)
        [ $have_tmpfs = 1 ] || { echo "skip (no tmpfs): $cmd"; skipped=$((skipped + 1)); return; }
        outdir=$SMALL ;;
    esac
    local c=${cmd//OUT/$outdir}
    local -a argv
    read -r -a argv <<<"$c"
    local err rc
    case $tags in
    *ulimit*) err=$( (ulimit -f 64; "${pre[@]}" "$LATHE" "${argv[@]}" 2>&1 >/dev/null)); rc=$? ;;
    *) err=$("${pre[@]}" "$LATHE" "${argv[@]}" 2>&1 >/dev/null); rc=$? ;;
    esac
    ran=$((ran + 1))
    err=${err//$outdir/OUT}
    err=${err//$TMPDIR/TMP}
    if [ -n "${RECORD:-}" ]; then
        printf '%s | %s | %s | %s\n' "$tags" "$cmd" "$rc" "$(printf '%s' "$err" | sed -z 's/\n/\\n/g')"
    else
        local want=${want_err//\\n/$'\n'}
        # shellcheck disable=SC2053
        if [ "$rc" != "$want_rc" ] || [[ $err != $(pattern "$want") ]]; then
            printf 'FAIL: lathe %s\n  exit %s (want %s)\n  stderr: %s\n  want:   %s\n' "$cmd" "$rc" \
                "$want_rc" "$err" "$want" >&2
            fail=$((fail + 1))
        fi
    fi
    local left
    left=$(ls -A "$outdir" "$TMPDIR")
    if [ "$left" != "$(printf '%s:\n\n%s:' "$outdir" "$TMPDIR")" ]; then
        printf 'FAIL: lathe %s left files:\n%s\n' "$cmd" "$left" >&2
        fail=$((fail + 1))
        rm -rf "${outdir:?}"/* "${outdir:?}"/.[!.]* "${TMPDIR:?}"/* "${TMPDIR:?}"/.[!.]*
    fi
    if [ "$(snapshot)" != "$BEFORE" ]; then
        printf 'FAIL: lathe %s changed its inputs\n' "$cmd" >&2
        diff <(printf '%s\n' "$BEFORE") <(snapshot) >&2
        fail=$((fail + 1))
        BEFORE=$(snapshot)
    fi
}

# ---- the table: TAGS | COMMAND | EXIT | STDERR ----
while IFS= read -r line; do
    case $line in '' | '#'*) continue ;; esac
    IFS='|' read -r tags cmd rc err <<<"$line"
    tags=$(echo $tags) cmd=$(echo $cmd) rc=$(echo $rc)
    err=${err# }
    run_case "$tags" "$cmd" "$rc" "$err"
done <"$SRC/tests/bad/cases.txt"

echo "bad_input.sh: $ran cases, $skipped skipped, $fail failures"
[ $fail = 0 ]
