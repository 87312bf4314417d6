#!/usr/bin/env bash
# JPEG decode and encode, whole process against whole process: convviz
# against djpeg and cjpeg (libjpeg-turbo) on one 4096x4096 photo, wall and
# CPU time, medians and ratios (see jpeg_vs_tools.py).
# Usage: bash bench/jpeg_vs_tools.sh [--size N] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v djpeg >/dev/null || apt-get install -y libjpeg-turbo-progs >/dev/null
python3 -c 'import PIL, numpy' 2>/dev/null || python3 -m pip install --quiet pillow numpy
swift build -c release --static-swift-stdlib --product convviz >/dev/null
python3 bench/jpeg_vs_tools.py --convviz "$(swift build -c release --show-bin-path)/convviz" "$@"
