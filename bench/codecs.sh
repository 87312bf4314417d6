#!/usr/bin/env bash
# PNG and JPEG decode/encode of a 4096x4096 RGB image: convviz vs Pillow and
# OpenCV, side by side. Installs the peers, builds convviz in release mode,
# prints a table of times and ratios. Takes about a minute (PNG encoding is
# the slow part). Usage: bash bench/codecs.sh [--size N] [--repeat N]
# [--png-levels 1,6] (PNG encode time and size at those zlib levels, every side)
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_need_pip "PIL, cv2, numpy" pillow opencv-python-headless numpy
bench_build_convviz
python3 bench/codecs.py --convviz "$convviz" "$@"
