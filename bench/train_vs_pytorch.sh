#!/usr/bin/env bash
# Trains the seed's MNIST CNN (or its CIFAR-10 CNN) with convviz and with
# PyTorch on the same CPU,
# same batch size (100), optimizer (Adadelta lr 1.0, rho 0.95, eps 1e-7) and
# validation split (0.1), and prints seconds per epoch, the speed ratio, test
# accuracy and peak memory (RSS) of both. convviz then trains again on one
# thread: the 1- vs 2-thread speed-up, and a check that both runs wrote the
# same model file (the thread count never changes the result).
#
# Usage: bench/train_vs_pytorch.sh [DATA_DIR] [EPOCHS] [MODEL]
#   DATA_DIR   for mnist-cnn, a folder with train-/t10k- images/labels IDX
#              files (gzip or raw), default ../shared/data/mnist when present,
#              else data/mnist; for cifar-cnn, the CIFAR-10 JPEG copy unpacked
#              (train/<class>/*.jpg and test/<class>/*.jpg)
#   EPOCHS     default 1; use 8 for the seed's MNIST accuracy target (>= 99.0%)
#   MODEL      mnist-cnn (default) or cifar-cnn
#
# Set ONE_THREAD=0 to skip the second, one-thread convviz run.
#
# Installs Debian's python3-torch with apt-get when missing. PyTorch runs with
# 2 threads (torch.set_num_threads(2)), convviz with --threads 2.
set -euo pipefail

source "$(dirname "$0")/common.sh"

data="$(bench_mnist_dir "${1:-}")"
epochs="${2:-1}"
model="${3:-mnist-cnn}"
[[ "$model" == mnist-cnn || "$model" == cifar-cnn ]] \
  || { echo "bench: MODEL is mnist-cnn or cifar-cnn, not $model" >&2; exit 64; }
[[ -d "$data" ]] || { echo "bench: no data folder at $data" >&2; exit 1; }

bench_need_torch

bench_build_convviz

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Peak RSS in MB and CPU seconds (user + system) from GNU time's verbose report.
peak_mb() { awk -F: '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
cpu_s() { awk -F: '/User time|System time/ { s += $2 } END { printf "%.0f", s }' "$1"; }

# train_convviz THREADS NAME: one convviz run; writes $work/NAME.bin, the
# history $work/NAME.csv beside it, and $work/NAME.out and .time.
train_convviz() {
  echo "== convviz: $model, $epochs epoch(s), batch 100, adadelta, $1 thread(s)" >&2
  /usr/bin/time -v -o "$work/$2.time" "$convviz" train --model "$model" --data "$data" \
    --epochs "$epochs" --batch-size 100 --validation-split 0.1 --optimizer adadelta \
    --learning-rate 1.0 --seed 0 --threads "$1" -o "$work/$2.bin" \
    | tee "$work/$2.out"
}
# Mean of the per-epoch seconds column (training + validation, like Keras).
epoch_seconds() { awk -F, 'NR > 1 { s += $6; n++ } END { printf "%.2f", s / n }' "$1"; }

train_convviz 2 convviz
convviz_epoch=$(epoch_seconds "$work/convviz.csv")
convviz_acc=$(sed -n 's/.*test accuracy \([0-9.]*\).*/\1/p' "$work/convviz.out" | tail -1)

echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'): same network" >&2
/usr/bin/time -v -o "$work/torch.time" /usr/bin/python3 "$here/train_vs_pytorch.py" "$data" \
  --model "$model" --epochs "$epochs" --batch-size 100 --threads 2 | tee "$work/torch.out"
torch_epoch=$(sed -n 's/^RESULT seconds_per_epoch=\([0-9.]*\).*/\1/p' "$work/torch.out")
torch_acc=$(sed -n 's/^RESULT.*test_accuracy=\([0-9.]*\).*/\1/p' "$work/torch.out")

if [[ "${ONE_THREAD:-1}" != 0 ]]; then
  train_convviz 1 convviz1
  convviz1_epoch=$(epoch_seconds "$work/convviz1.csv")
  same=$(cmp -s "$work/convviz.bin" "$work/convviz1.bin" && echo yes || echo NO)
fi

ratio=$(awk -v a="$torch_epoch" -v b="$convviz_epoch" 'BEGIN { printf "%.2f", a / b }')
time_ratio=$(awk -v a="$torch_epoch" -v b="$convviz_epoch" 'BEGIN { printf "%.2f", b / a }')
# What each side's arithmetic ran on: the CPU's widest vector extension,
# and the OpenBLAS kernel of each side's GEMMs. OPENBLAS_CORETYPE forces
# one; when it is unset convviz picks the core from CPUID, while Debian
# torch gets OpenBLAS's own choice (on CPUs newer than OpenBLAS 0.3.21
# knows, its generic Prescott kernels).
isa=$(grep -q avx512f /proc/cpuinfo && echo AVX-512 || { grep -q avx2 /proc/cpuinfo && echo AVX2 || echo SSE; })
blas_core=$(/usr/bin/python3 -c 'import ctypes, ctypes.util
lib = ctypes.CDLL("libopenblas.so.0"); lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())' 2>/dev/null || echo unknown)
convviz_core=$("$convviz" predict "$work/convviz.bin" "$root/samples/camera.png" --timings 2>&1 \
  | sed -n 's/^timing kernels .*OpenBLAS //p')
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), widest ISA $isa," \
  "OpenBLAS kernel: convviz ${convviz_core:-unknown}, pytorch $blas_core (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
echo "load average$(uptime | sed 's/.*load average//')"
echo "model: $model; epochs: $epochs (batch 100, Adadelta lr 1.0, validation split 0.1)"
printf "%-22s %10s %10s\n" "" convviz pytorch
printf "%-22s %10s %10s\n" "seconds per epoch" "$convviz_epoch" "$torch_epoch"
printf "%-22s %10s %10s\n" "test accuracy" "$convviz_acc" "$torch_acc"
printf "%-22s %10s %10s\n" "peak RSS (MB)" "$(peak_mb "$work/convviz.time")" "$(peak_mb "$work/torch.time")"
printf "%-22s %10s %10s\n" "CPU seconds, whole run" "$(cpu_s "$work/convviz.time")" "$(cpu_s "$work/torch.time")"
echo "speed ratio (pytorch / convviz seconds per epoch): ${ratio}x (convviz takes ${time_ratio}x PyTorch's time)"
if [[ "${ONE_THREAD:-1}" != 0 ]]; then
  speedup=$(awk -v a="$convviz1_epoch" -v b="$convviz_epoch" 'BEGIN { printf "%.2f", a / b }')
  echo "convviz on 1 thread: $convviz1_epoch s per epoch; 2 threads are ${speedup}x faster"
  echo "same model file with 1 and 2 threads: $same"
fi
