#!/usr/bin/env bash
# JPEG decode and encode, whole process against whole process: convviz
# against djpeg and cjpeg (libjpeg-turbo) on one 4096x4096 photo, wall and
# CPU time, medians and ratios (see jpeg_vs_tools.py).
# Usage: bash bench/jpeg_vs_tools.sh [--size N] [--repeat N]
set -euo pipefail
source "$(dirname "$0")/common.sh"
command -v djpeg >/dev/null || apt-get install -y libjpeg-turbo-progs >/dev/null
bench_need_pip "PIL, numpy" pillow numpy
bench_build_convviz
python3 bench/jpeg_vs_tools.py --convviz "$convviz" "$@"
