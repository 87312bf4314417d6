#!/usr/bin/env bash
# OpenBLAS's core type and convviz's speed: trains two networks for one
# epoch on LIMIT MNIST images with convviz under each OPENBLAS_CORETYPE
# setting, alternating the settings run by run, and prints for each the
# median seconds per epoch, the kernels the runs used (as `predict
# --timings` reports them) and the speed ratio of convviz's own choice
# (variable unset) to Prescott. The networks: the seed's MNIST CNN, and a
# multilayer perceptron (784-1024-1024-10) whose epoch is all OpenBLAS
# products (forward and both backward products of each Dense layer).
#
# Why: Debian 12's OpenBLAS 0.3.21 falls back to its generic "Prescott"
# kernels on CPU models newer than it knows (such as Emerald Rapids Xeons), which is
# what convviz ran on such CPUs before it picked the core itself from
# CPUID (cvz_openblas.h). The dense layers' products and the hand-written
# convolutions' im2col products run on OpenBLAS; on AVX-512 CPUs the CNN's
# convolutions with 8 or more input channels run on oneDNN.
#
# Usage: bench/openblas_core.sh [DATA_DIR] [LIMIT] [RUNS]
#   DATA_DIR  MNIST IDX files, default ../shared/data/mnist when present,
#             else data/mnist
#   LIMIT     training images (default 6000); RUNS per setting (default 3)
# CORES lists the settings (default "Prescott unset Haswell SkylakeX
# Cooperlake"; "unset" is convviz's choice). CONVVIZ=path skips the build.
set -euo pipefail

source "$(dirname "$0")/common.sh"

data="$(bench_mnist_dir "${1:-}")"
limit="${2:-6000}"
runs="${3:-3}"
read -r -a cores <<< "${CORES:-Prescott unset Haswell SkylakeX Cooperlake}"
[[ -d "$data" ]] || { echo "bench: no data folder at $data" >&2; exit 1; }

bench_build_convviz
CONVVIZ="$convviz"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# with_core CORE COMMAND...: runs COMMAND with OPENBLAS_CORETYPE=CORE, or
# without the variable for "unset".
with_core() {
  local core="$1"; shift
  if [[ "$core" == unset ]]; then env -u OPENBLAS_CORETYPE "$@"
  else env OPENBLAS_CORETYPE="$core" "$@"; fi
}

printf 'input 28 28 1\nflatten\ndense 1024 relu\ndense 1024 relu\ndense 10 softmax\n' \
  > "$work/mlp.txt"
models=(mnist-cnn mlp)
model_argument() { [[ "$1" == mlp ]] && echo "$work/mlp.txt" || echo "$1"; }

echo "load average at start$(uptime | sed 's/.*load average//')"
for ((run = 1; run <= runs; run++)); do
  for model in "${models[@]}"; do
    for core in "${cores[@]}"; do
      echo "== run $run, $model, OPENBLAS_CORETYPE=$core" >&2
      name="$model-$core-$run"
      with_core "$core" "$CONVVIZ" train --model "$(model_argument "$model")" --data "$data" \
        --limit "$limit" --epochs 1 --batch-size 100 --validation-split 0.1 \
        --optimizer adadelta --learning-rate 1.0 --seed 0 --threads 2 -o "$work/$name.bin" \
        >/dev/null
      # Seconds of the epoch (training + validation), column 6 of the history.
      awk -F, 'NR == 2 { print $6 }' "$work/$name.csv" >> "$work/$model-$core.seconds"
    done
  done
done
echo "load average at end$(uptime | sed 's/.*load average//')"

sample="$root/samples/camera.png"
median() {
  sort -g "$1" | awk '{ v[NR] = $1 }
    END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "1 epoch on $limit MNIST images (batch 100, Adadelta, 2 threads), median of $runs runs"
for model in "${models[@]}"; do
  echo "-- $model"
  printf "%-18s %-12s %s\n" "OPENBLAS_CORETYPE" "s per epoch" "kernels (predict --timings)"
  for core in "${cores[@]}"; do
    kernels=$(with_core "$core" "$CONVVIZ" predict "$work/$model-$core-1.bin" "$sample" \
      --timings 2>&1 | sed -n 's/^timing kernels //p')
    printf "%-18s %-12s %s\n" "$core" "$(median "$work/$model-$core.seconds")" "$kernels"
  done
  if [[ -f "$work/$model-Prescott.seconds" && -f "$work/$model-unset.seconds" ]]; then
    awk -v a="$(median "$work/$model-Prescott.seconds")" \
      -v b="$(median "$work/$model-unset.seconds")" \
      'BEGIN { printf "speed ratio (Prescott / convviz'"'"'s choice, seconds per epoch): %.2fx\n", a / b }'
  fi
done
