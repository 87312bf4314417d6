#!/usr/bin/env bash
# Activation maximization's cost against issue 11's goal: 16 units of a
# MNIST model in under 30 s on the 2-core machine. Runs a release convviz
# `maximize` on units 0-15 of LAYER (default 1, the second convolution of
# mnist-cnn) with the default settings (256 steps, Fourier parameters,
# jitter, scale and rotation) and prints the wall time and its ratio to the
# 30 s goal. No peer: Lucid and tf-keras-vis need TensorFlow, which this
# machine does not have.
#
# Usage: bench/maximize_time.sh MODEL [LAYER] [PARAM]
#   MODEL  a model.bin taking 28x28 gray images (convviz train --model mnist-cnn ...)
#   LAYER  default 1
#   PARAM  fft (default) or pixel
set -euo pipefail

source "$(dirname "$0")/common.sh"

model="${1:?usage: bench/maximize_time.sh MODEL [LAYER] [PARAM]}"
layer="${2:-1}"
param="${3:-fft}"

bench_build_convviz
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

start=$(date +%s.%N)
"$convviz" maximize "$model" --layer "$layer" --units 0-15 --param "$param" \
  -o "$out/grid.png" >/dev/null
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v p="$param" 'BEGIN {
  t = e - s
  printf "maximize 16 units, 256 steps, --param %s: %.1f s (%.2f x the 30 s goal)\n", p, t, t / 30
}'
