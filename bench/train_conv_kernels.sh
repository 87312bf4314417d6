#!/usr/bin/env bash
# Op by op, side by side: the training convolutions of cifar-cnn and
# mnist-cnn (batch 100) on the hand-written AVX2 kernels and on oneDNN
# (direct and Winograd), as the engine's rule for which layers train on
# oneDNN was measured (Sources/Engine/Conv2D+OneDNNTraining.swift).
# Compiles bench/train_conv_kernels.c against the release build's kernel
# objects; prints the instruction set oneDNN ran and the load average.
#
# Usage: bench/train_conv_kernels.sh [REPS] [THREADS]
#   REPS     runs per figure, the best kept (default 5)
#   THREADS  _Runtime threads (default 2)
# DNNL_MAX_CPU_ISA=AVX2 bench/train_conv_kernels.sh measures the AVX2 cap.
set -euo pipefail
source "$(dirname "$0")/common.sh"
echo "bench: building convviz (release)…" >&2
swift build -c release --static-swift-stdlib --product convviz >/dev/null
bin="$(swift build -c release --show-bin-path)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/train_conv_kernels" "$here/train_conv_kernels.c" \
  Sources/_DNNLKernels/conv_train.c Sources/_DNNLKernels/conv_train_run.c \
  Sources/_DNNLKernels/train_pool.c Sources/_DNNLKernels/library.c \
  -ISources/_DNNLKernels/include \
  -ISources/_CNNKernels/include -ISources/_Runtime/include \
  "$bin"/_CNNKernels.build/*.o "$bin"/_Runtime.build/*.o -lopenblas -lpthread -ldl -lm
CONVVIZ_THREADS="${2:-2}" OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive \
  "$work/train_conv_kernels" "${1:-5}" "${2:-2}"
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
  "(DNNL_MAX_CPU_ISA=${DNNL_MAX_CPU_ISA:-unset})"
echo "load average$(uptime | sed 's/.*load average//')"
