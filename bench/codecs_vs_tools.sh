#!/usr/bin/env bash
# convviz's codecs against the tools at their defaults, 4096x4096 RGB:
# PNG encode against OpenCV's default (time and size, on a photo, a noisy
# photo and pure noise), JPEG decode against djpeg and JPEG encode against
# cjpeg at the same quality (whole process vs whole process). Installs the
# peers, builds convviz in release mode, prints medians and ratios.
# Usage: bash bench/codecs_vs_tools.sh [--size N] [--repeat N] [--threads N] [--only png|jpeg]
set -euo pipefail
source "$(dirname "$0")/common.sh"
command -v djpeg >/dev/null || apt-get install -y libjpeg-turbo-progs >/dev/null
bench_need_pip "PIL, cv2, numpy" pillow opencv-python-headless numpy
bench_build_convviz
python3 bench/codecs_vs_tools.py --convviz "$convviz" "$@"
