#!/usr/bin/env bash
# Crash-safety check for `convviz train`: trains once without interruption,
# then trains the same run while killing it with SIGKILL at random moments
# and resuming, until it finishes. Checks that
#   - after every kill the checkpoint is either absent (killed before the
#     first epoch ended) or a valid model file (`convviz summary` reads it);
#   - the resumed run ends with exactly the same model as the straight one
#     (same evaluation output: weights are bit-identical).
#   scripts/kill-resume.sh [KILLS]      (default 6)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
kills=${1:-6}
swift build -c release --static-swift-stdlib --product convviz >&2
convviz="$root/.build/release/convviz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run=(train --model mnist-cnn --data data/mnist --limit 3000 --epochs 5 --batch-size 100 --seed 11)
echo "straight run: ${run[*]}"
start=$(date +%s.%N)
"$convviz" "${run[@]}" -o "$work/straight.bin" > "$work/straight.log"
duration=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
echo "straight run took ${duration}s; kills fall at random moments within that span"

checkpoint="$work/killed.bin"
killed=0
attempt=0
while :; do
  attempt=$((attempt + 1))
  extra=()
  [ -f "$checkpoint" ] && extra=(--resume)
  "$convviz" "${run[@]}" "${extra[@]}" -o "$checkpoint" > "$work/attempt-$attempt.log" 2>&1 &
  pid=$!
  if [ "$killed" -lt "$kills" ]; then
    # A random moment between 10% and 95% of the straight run's duration, so
    # kills land while loading data, mid-epoch and while checkpoints are written.
    sleep "$(awk -v r=$RANDOM -v d="$duration" 'BEGIN { printf "%.2f", d * (0.10 + 0.85 * (r % 1000) / 1000) }')"
    if kill -9 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      killed=$((killed + 1))
      if [ -f "$checkpoint" ]; then
        if ! "$convviz" summary "$checkpoint" > /dev/null 2> "$work/summary.err"; then
          echo "FAIL: checkpoint corrupt after kill $killed: $(cat "$work/summary.err")"
          exit 1
        fi
        echo "kill $killed: checkpoint valid"
      else
        echo "kill $killed: before the first checkpoint"
      fi
      continue
    fi
  fi
  if ! wait "$pid"; then
    echo "FAIL: resumed run exited non-zero:"; cat "$work/attempt-$attempt.log"; exit 1
  fi
  if [ "$killed" -lt "$kills" ]; then
    # The run outlived its kill: start a fresh round to reach the kill count.
    rm -f "$checkpoint"
    echo "run $attempt finished before its kill; starting a new round"
    continue
  fi
  break
done
echo "finished after $killed kills and $attempt runs"

eval_args=(--data data/mnist --limit 2000 -o "$work/confusion.png")
"$convviz" evaluate "$work/straight.bin" "${eval_args[@]}" > "$work/straight.eval"
"$convviz" evaluate "$checkpoint" "${eval_args[@]}" > "$work/killed.eval"
sed -i "s#$work/[a-z]*\.bin#MODEL#g" "$work/straight.eval" "$work/killed.eval"
if ! diff -u "$work/straight.eval" "$work/killed.eval"; then
  echo "FAIL: the interrupted run's model differs from the straight run's"
  exit 1
fi
leftovers=$(find "$work" -name '.*.tmp-*' | wc -l)
echo "temporary files left by kills during a write: $leftovers"
head -n 3 "$work/killed.eval"
echo "PASS: $killed kills, no corrupt checkpoint, final model identical to an uninterrupted run"
