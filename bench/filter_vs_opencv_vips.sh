#!/usr/bin/env bash
# Whole commands side by side: `convviz filter -k edges` (streaming) against
# OpenCV (imread + filter2D + imwrite, in-process) and libvips (`vips conv`,
# whole process), and `convviz pool --mode average --size 2` against OpenCV's
# resize(INTER_AREA) and `vips shrink` (both the mean of 2×2 blocks), on a
# sample photo resized to each SIZE, JPEG->JPEG (q90) and PNG->PNG. Prints the best time of each, the ratios peer/convviz (above 1:
# convviz is faster) and each process's peak RSS (/usr/bin/time -v).
#
# Usage: bench/filter_vs_opencv_vips.sh [SIZES] [REPEATS] [best|median]
#   SIZES    comma-separated sides in pixels (default 4096,16384)
#   REPEATS  runs per side, best kept (default 3), or the median with `median`
#
# Needs vips (Debian libvips-tools), /usr/bin/time (Debian time) and
# opencv-python-headless (installed with pip when missing). Inputs are made
# in a temporary folder under /tmp and removed afterwards.
set -euo pipefail

source "$(dirname "$0")/common.sh"
sizes="${1:-4096,16384}"
repeats="${2:-3}"
keep="${3:-best}"

command -v vips >/dev/null || { echo "bench: needs vips (apt-get install libvips-tools)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
bench_need_pip "cv2, numpy" opencv-python-headless numpy

bench_build_convviz

python3 "$here/filter_vs_opencv_vips.py" run "$convviz" "$sizes" "$repeats" "$keep"
echo "$(nproc) cores; vips $(vips --version | cut -d' ' -f2); $(uptime | sed 's/.*load/load/')"
