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

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
  echo "bench: installing python3-torch python3-torchvision (apt-get)…" >&2
  apt-get install -y -qq python3-torch python3-torchvision >/dev/null
fi
venv=/tmp/convviz-bench-venv
if ! "$venv/bin/python" -c 'import onnxruntime, onnx' 2>/dev/null; then
  echo "bench: making $venv (onnxruntime, onnx)…" >&2
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install -q "numpy<2" "onnxruntime<1.20" onnx
fi

echo "bench: building convviz (release)…" >&2
swift build -c release --static-swift-stdlib --product convviz >/dev/null
convviz="$(swift build -c release --show-bin-path)/convviz"

"$venv/bin/python" "$here/load_memory.py" "$convviz" "$@" 2> >(grep -v Warning >&2)
