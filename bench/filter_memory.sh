#!/usr/bin/env bash
# Peak memory of `convviz filter` on a 16384x16384 RGB image (768 MiB of
# pixels), next to OpenCV doing the same (imread, filter2D, imwrite), as a
# multiple of the image's own size. The target is "about 3x the image".
# Generates the test images in a temporary folder (noise, the worst case for
# the encoded size that convviz holds before writing), builds convviz in
# release mode, installs OpenCV with pip. Takes a few minutes.
# Usage: bash bench/filter_memory.sh [--size N]
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_need_pip "cv2, numpy" opencv-python-headless numpy
bench_build_convviz
python3 bench/filter_memory.py --convviz "$convviz" "$@"
