#!/usr/bin/env bash
# PNG and JPEG decode/encode of a 4096x4096 RGB image: convviz vs Pillow and
# OpenCV, side by side. Installs the peers, builds convviz in release mode,
# prints a table of times and ratios. Takes about a minute (PNG encoding is
# the slow part). Usage: bash bench/codecs.sh [--size N] [--repeat N]
# [--png-levels 1,6] (PNG encode time and size at those zlib levels, every side)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet pillow opencv-python-headless numpy
swift build -c release --static-swift-stdlib --product convviz
python3 bench/codecs.py --convviz "$(swift build -c release --show-bin-path)/convviz" "$@"
