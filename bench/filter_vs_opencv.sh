#!/usr/bin/env bash
# Times `convviz filter` against OpenCV on a 4096x4096 RGB uint8 image, file
# I/O excluded on both sides, and prints both times and the ratio for blur
# (separable 3x3), edges (non-separable 3x3) and sobel (gradient magnitude).
#
# Usage: bench/filter_vs_opencv.sh [REPEATS] [SIZE]
#   REPEATS  runs per side, best kept (default 5)
#   SIZE     image side in pixels (default 4096)
#
# convviz side: `convviz filter IMG --kernel K --padding same --border reflect
# --timings -o OUT`, whose stderr line `timing filter <ms> ms` is the filter
# alone. OpenCV side: the same operation in-process (bench/filter_vs_opencv.py),
# BORDER_REFLECT_101, default thread count. Installs opencv-python-headless and
# numpy with pip when missing. The last column checks both give the same pixels.
# "1 thread" is convviz again with --threads 1, for the speed-up of the cores.
set -euo pipefail

source "$(dirname "$0")/common.sh"
repeats="${1:-5}"
size="${2:-4096}"

bench_need_pip "cv2, numpy" opencv-python-headless numpy

bench_build_convviz

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
image="$work/big.png"
echo "bench: writing a ${size}x${size} RGB PNG…" >&2
python3 "$here/filter_vs_opencv.py" make "$image" "$size"

# best_ms KERNEL [OPTIONS...]: the best `timing filter` of $repeats runs.
best_ms() {
  local kernel="$1" best="" ms
  shift
  for _ in $(seq "$repeats"); do
    ms=$("$convviz" filter "$image" --kernel "$kernel" --padding same --border reflect \
      --timings -o "$work/$kernel.png" "$@" 2>&1 >/dev/null \
      | sed -n 's/^timing filter \([0-9.]*\) ms.*/\1/p' | head -1)
    [[ -n "$ms" ]] || { echo "bench: convviz printed no 'timing filter' line" >&2; exit 1; }
    best=$(awk -v a="$ms" -v b="$best" 'BEGIN { print (b == "" || a < b) ? a : b }')
  done
  echo "$best"
}

printf "%-8s %12s %10s %12s %16s %9s\n" kernel "convviz ms" "1 thread" "opencv ms" \
  "opencv/convviz" "max diff"
for kernel in blur edges sobel; do
  one=$(best_ms "$kernel" --threads 1)
  best=$(best_ms "$kernel")
  result=$(python3 "$here/filter_vs_opencv.py" time "$image" "$kernel" "$repeats" "$work/$kernel.png")
  opencv=$(sed -n 's/^RESULT opencv_ms=\([0-9.]*\).*/\1/p' <<<"$result")
  diff=$(sed -n 's/.*max_diff=\([0-9a-z/]*\).*/\1/p' <<<"$result")
  ratio=$(awk -v a="$opencv" -v b="$best" 'BEGIN { printf "%.2fx", a / b }')
  printf "%-8s %12s %10s %12s %16s %9s\n" "$kernel" "$best" "$one" "$opencv" "$ratio" "$diff"
done
echo "ratio > 1 means convviz is faster; $(nproc) cores; $(uptime | sed 's/.*load/load/')"
