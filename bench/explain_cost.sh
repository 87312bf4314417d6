#!/usr/bin/env bash
# What an explanation costs against one inference pass of the same image, as
# issue 11 asks (Grad-CAM: one forward and a partial backward, at most 3x the
# forward alone). Runs a release convviz on N MNIST test digits with
# `explain --timings` and every method, and prints each method's mean time
# per image and its ratio to the mean forward time (the first digit is a
# warm-up and left out). No peer: the comparison with pytorch-grad-cam and
# Captum waits for those packages (see docs/explain.md).
#
# Usage: bench/explain_cost.sh MODEL [MNIST_DIR] [N]
#   MODEL      a model.bin taking 28x28 gray images (convviz train --model mnist-cnn ...)
#   MNIST_DIR  default ../shared/data/mnist when present, else data/mnist
#   N          digits, default 50
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

model="${1:?usage: bench/explain_cost.sh MODEL [MNIST_DIR] [N]}"
data="${2:-}"
if [[ -z "$data" ]]; then
  if [[ -d "$root/../shared/data/mnist" ]]; then data="$root/../shared/data/mnist"
  else data="$root/data/mnist"; fi
fi
count="${3:-50}"
images="$data/t10k-images-idx3-ubyte.gz"
[[ -f "$images" ]] || { echo "bench: no $images" >&2; exit 1; }

swift build -c release --product convviz >&2
convviz="$root/.build/release/convviz"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

args=()
for ((i = 0; i < count; i++)); do args+=("mnist:$images#$i"); done
methods=(gradcam gradcam++ scorecam layercam saliency smoothgrad integrated-gradients occlusion)
method_args=()
for m in "${methods[@]}"; do method_args+=(--method "$m"); done

"$convviz" explain "$model" "${args[@]}" "${method_args[@]}" --timings -o "$out" \
  2>"$out/timings.txt" >/dev/null

awk -v first="mnist:$images#0" '
  /^timing / {
    what = $2; ms = $3
    if (index($0, "(" substr(first, 7) ")") || index($0, "(" substr(first, 7) ",")) next
    sum[what] += ms; n[what] += 1
    if (!(what in seen)) { seen[what] = 1; order[++k] = what }
  }
  END {
    f = sum["forward"] / n["forward"]
    printf "%-22s %10s %8s\n", "method", "ms/image", "x forward"
    for (i = 1; i <= k; i++) {
      w = order[i]; m = sum[w] / n[w]
      printf "%-22s %10.3f %8.2f\n", w, m, m / f
    }
    printf "(%d images after the first; smoothgrad %s samples, integrated-gradients %s steps)\n",
      n["forward"], "25", "64"
  }' "$out/timings.txt"
