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
# cifar10-jpeg). Uses .build/release/convviz (swift build -c release --static-swift-stdlib), or
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

epoch_seconds() {  # AUGMENT (none for no augmentation) → "wall cpu" seconds
  local args=()
  [ "$1" = none ] || args=(--augment "$1")
  /usr/bin/time -f '%U %S' -o "$work/time" "$convviz" train --model "$work/tiny.txt" \
    --data "$data" --epochs 1 --batch-size 100 --validation-split 0 --seed 0 "${args[@]}" \
    -o "$work/m.bin" --overwrite 2>&1 > /dev/null \
    | { grep -v "note: decoded images from the cache" >&2 || true; }
  echo "$(tail -1 "$work/m.csv" | awk -F, '{print $6}') $(awk '{print $1 + $2}' "$work/time")"
}

echo "one epoch of $(basename "$data"), flatten + dense 10, batch 100; $(nproc) cores"
echo "(wall: the epoch's seconds; cpu: the whole process's user + system seconds, whose"
echo " difference is the augmentation's work and suffers less from a busy machine)"
for augment in "${augments[@]}"; do
  sums=(0 0 0 0)
  for _ in $(seq "$repeats"); do
    read -r bw bc < <(epoch_seconds none)
    read -r aw ac < <(epoch_seconds "$augment")
    printf '  none %.2fs wall %.2fs cpu   %s %.2fs wall %.2fs cpu\n' "$bw" "$bc" "$augment" "$aw" "$ac"
    sums=("$(echo "${sums[0]} + $bw" | bc -l)" "$(echo "${sums[1]} + $bc" | bc -l)"
      "$(echo "${sums[2]} + $aw" | bc -l)" "$(echo "${sums[3]} + $ac" | bc -l)")
  done
  printf '%s: adds %.2f s wall (%.2f → %.2f), %.2f s cpu (%.2f → %.2f) an epoch, mean of %d\n' \
    "$augment" "$(echo "(${sums[2]} - ${sums[0]}) / $repeats" | bc -l)" \
    "$(echo "${sums[0]} / $repeats" | bc -l)" "$(echo "${sums[2]} / $repeats" | bc -l)" \
    "$(echo "(${sums[3]} - ${sums[1]}) / $repeats" | bc -l)" \
    "$(echo "${sums[1]} / $repeats" | bc -l)" "$(echo "${sums[3]} / $repeats" | bc -l)" "$repeats"
done
