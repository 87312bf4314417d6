#!/usr/bin/env bash
# convviz's forward pass against onnxruntime's on full torchvision networks
# (ResNet-18 and VGG-16 timed at batch 1 and 8; MobileNetV2, SqueezeNet 1.1,
# DenseNet-121 and ShuffleNetV2 too), side by side in one run, 2 threads
# each: times, their ratio, the largest output difference and convviz's
# peak memory against the weight bytes. See inference_vs_onnxruntime.py.
#
# convviz runs convolutions on oneDNN where it can (its `timing kernels` line,
# printed per run, names the instruction set); CONVVIZ_DNNL=0 in the
# environment times the hand-written kernels instead, DNNL_MAX_CPU_ISA=AVX2
# caps oneDNN at AVX2.
#
# Usage: bench/inference_vs_onnxruntime.sh [NETWORK...]
#   NETWORK  torchvision names, default: resnet18 vgg16 mobilenet_v2
#            squeezenet1_1 densenet121 shufflenet_v2_x1_0
#
# Installs Debian's python3-torch and python3-torchvision with apt-get when
# missing, and onnxruntime and onnx into a venv in /tmp (Debian's torch is
# 1.13, so numpy<2 and onnxruntime<1.20).
set -euo pipefail

source "$(dirname "$0")/common.sh"

bench_need_torch torchvision
venv=/tmp/convviz-bench-venv
bench_venv "$venv" "onnxruntime, onnx" "numpy<2" "onnxruntime<1.20" onnx

bench_build_convviz

"$venv/bin/python" "$here/inference_vs_onnxruntime.py" "$convviz" "$@" 2> >(grep -v Warning >&2)
