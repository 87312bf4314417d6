#!/usr/bin/env bash
# OpenBLAS's core type and convviz's speed: trains the seed's MNIST CNN for
# one epoch on LIMIT images with convviz under each OPENBLAS_CORETYPE
# setting, alternating the settings run by run, and prints the median
# seconds per epoch of each, the kernel each run used (as `predict
# --timings` reports it) and the speed ratio of convviz's own choice
# (variable unset) to Prescott.
#
# Why: Debian 12's OpenBLAS 0.3.21 falls back to its generic "Prescott"
# kernels on CPUs newer than it knows (Sapphire Rapids and later), which is
# what convviz ran on such CPUs before it picked the core itself from
# CPUID (cvz_openblas.h). The dense layers' products and the hand-written
# convolutions' im2col products run on OpenBLAS; on AVX-512 CPUs the
# convolutions with 8 or more input channels run on oneDNN.
#
# Usage: bench/openblas_core.sh [DATA_DIR] [LIMIT] [RUNS]
#   DATA_DIR  MNIST IDX files, default ../shared/data/mnist when present,
#             else data/mnist
#   LIMIT     training images (default 6000); RUNS per setting (default 3)
# CORES lists the settings (default "Prescott unset Haswell SkylakeX
# Cooperlake"; "unset" is convviz's choice). CONVVIZ=path skips the build.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

data="${1:-}"
if [[ -z "$data" ]]; then
  if [[ -d "$root/../shared/data/mnist" ]]; then data="$root/../shared/data/mnist"
  else data="$root/data/mnist"; fi
fi
limit="${2:-6000}"
runs="${3:-3}"
read -r -a cores <<< "${CORES:-Prescott unset Haswell SkylakeX Cooperlake}"
[[ -d "$data" ]] || { echo "bench: no data folder at $data" >&2; exit 1; }

if [[ -z "${CONVVIZ:-}" ]]; then
  echo "bench: building convviz (release)…" >&2
  swift build -c release --product convviz >/dev/null
  CONVVIZ="$(swift build -c release --show-bin-path)/convviz"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# with_core CORE COMMAND...: runs COMMAND with OPENBLAS_CORETYPE=CORE, or
# without the variable for "unset".
with_core() {
  local core="$1"; shift
  if [[ "$core" == unset ]]; then env -u OPENBLAS_CORETYPE "$@"
  else env OPENBLAS_CORETYPE="$core" "$@"; fi
}

echo "load average at start$(uptime | sed 's/.*load average//')"
for ((run = 1; run <= runs; run++)); do
  for core in "${cores[@]}"; do
    echo "== run $run, OPENBLAS_CORETYPE=$core" >&2
    with_core "$core" "$CONVVIZ" train --model mnist-cnn --data "$data" --limit "$limit" \
      --epochs 1 --batch-size 100 --validation-split 0.1 --optimizer adadelta \
      --learning-rate 1.0 --seed 0 --threads 2 -o "$work/$core-$run.bin" >/dev/null
    # Seconds of the epoch (training + validation), column 6 of the history.
    awk -F, 'NR == 2 { print $6 }' "$work/$core-$run.csv" >> "$work/$core.seconds"
  done
done
echo "load average at end$(uptime | sed 's/.*load average//')"

sample="$root/samples/camera.png"
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "mnist-cnn, 1 epoch on $limit images (batch 100, Adadelta, 2 threads), median of $runs"
printf "%-20s %-12s %-60s\n" "OPENBLAS_CORETYPE" "s per epoch" "kernels (predict --timings)"
for core in "${cores[@]}"; do
  kernels=$(with_core "$core" "$CONVVIZ" predict "$work/$core-1.bin" "$sample" --timings 2>&1 \
    | sed -n 's/^timing kernels //p')
  printf "%-20s %-12s %-60s\n" "$core" "$(median "$work/$core.seconds")" "$kernels"
done
if [[ -f "$work/Prescott.seconds" && -f "$work/unset.seconds" ]]; then
  awk -v a="$(median "$work/Prescott.seconds")" -v b="$(median "$work/unset.seconds")" \
    'BEGIN { printf "speed ratio (Prescott / convviz'"'"'s choice, seconds per epoch): %.2fx\n", a / b }'
fi
