#!/usr/bin/env bash
# Peak memory of loading an ONNX model (default torchvision vgg16, 528 MiB of
# weights) and one forward pass, as a multiple of the weight bytes: `convviz
# summary`, `convviz predict` and onnxruntime side by side (the issue asks at
# most 1.3x for convviz). See load_memory.py.
#
# Usage: bench/load_memory.sh [NETWORK] [--model FILE.onnx]
#
# Installs Debian's python3-torch and python3-torchvision with apt-get when
# missing, and onnxruntime into the venv bench/inference_vs_onnxruntime.sh
# uses (/tmp/convviz-bench-venv).
set -euo pipefail

source "$(dirname "$0")/common.sh"

bench_need_torch torchvision
venv=/tmp/convviz-bench-venv
bench_venv "$venv" "onnxruntime, onnx" "numpy<2" "onnxruntime<1.20" onnx

bench_build_convviz

"$venv/bin/python" "$here/load_memory.py" "$convviz" "$@" 2> >(grep -v Warning >&2)
