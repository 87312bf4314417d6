#!/usr/bin/env bash
# What --augment adds to a training epoch on CIFAR-like data (32×32×3).
#
# Trains a model that costs almost nothing (flatten + dense 10) for one
# epoch on the same images with and without augmentation, alternating the
# runs, and prints each epoch's seconds (the history CSV's `seconds`, which
# excludes loading) and the mean difference: the augmentation's cost per
# epoch, which does not depend on the model.
#
#   bash bench/augment_cost.sh DATA [REPEATS] [AUGMENT...]
#
# DATA is any data set convviz reads with 32×32 colour images (an unpacked
# cifar10-jpeg). Uses .build/release/convviz (swift build -c release), or
# $CONVVIZ.
set -euo pipefail
data=${1:?usage: augment_cost.sh DATA [REPEATS] [AUGMENT...]}
repeats=${2:-2}
shift $(( $# >= 2 ? 2 : 1 ))
augments=("$@")
[ ${#augments[@]} -gt 0 ] || augments=(standard "flip,shift=0.1,crop=4,rotate=10,brightness=0.1")
convviz=${CONVVIZ:-.build/release/convviz}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'input 32 32 3\nflatten\ndense 10 softmax\n' > "$work/tiny.txt"

epoch_seconds() {  # AUGMENT (none for no augmentation) → seconds of the epoch
  local name=$1 args=()
  [ "$1" = none ] || args=(--augment "$1")
  "$convviz" train --model "$work/tiny.txt" --data "$data" --epochs 1 --batch-size 100 \
    --validation-split 0 --seed 0 "${args[@]}" -o "$work/m.bin" --overwrite > /dev/null
  tail -1 "$work/m.csv" | awk -F, '{print $6}'
}

echo "one epoch of $(basename "$data"), flatten + dense 10, batch 100; $(nproc) cores"
for augment in "${augments[@]}"; do
  base=0 augmented=0
  for _ in $(seq "$repeats"); do
    b=$(epoch_seconds none)
    a=$(epoch_seconds "$augment")
    echo "  none ${b}s   $augment ${a}s"
    base=$(echo "$base + $b" | bc -l)
    augmented=$(echo "$augmented + $a" | bc -l)
  done
  printf '%s: adds %.2f s an epoch (%.2f s → %.2f s, mean of %d)\n' "$augment" \
    "$(echo "($augmented - $base) / $repeats" | bc -l)" "$(echo "$base / $repeats" | bc -l)" \
    "$(echo "$augmented / $repeats" | bc -l)" "$repeats"
done
