# SPDX-License-Identifier: GPL-3.0-or-later
# What the bench scripts share (sourced; they set OUT and REPS).

# best_time CMD...: the best wall time (s) of REPS runs of CMD (its output
# discarded; a failure stops the bench with CMD's stderr); the peak RSS (MB)
# of the last run into $OUT/rss.txt.
best_time() {
  local best="" s k=0
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/best-time.txt" "$@" >/dev/null 2>"$OUT/best-stderr.txt" || {
      echo "bench: command failed: $*" >&2; cat "$OUT/best-stderr.txt" >&2; exit 1; }
    read -r s k <"$OUT/best-time.txt"
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; fi
  done
  awk "BEGIN{print $k/1024}" >"$OUT/rss.txt"
  echo "$best"
}
