#!/usr/bin/env bash
# convviz explain's maps against pytorch-grad-cam's (GradCAM, GradCAMPlusPlus,
# and ScoreCAM, LayerCAM for information) and Captum's (Saliency,
# IntegratedGradients, Occlusion, and NoiseTunnel, GuidedBackprop for
# information) on one ONNX model exported from PyTorch, the same images and
# the same settings: prints per method the Pearson correlation of convviz's
# .npy map with the peer's, PASS/FAIL against 0.99 for gradcam, gradcam++,
# saliency, integrated-gradients and occlusion. See explain_vs_captum.py for
# the conventions matched on both sides.
#
# Usage: bench/explain_vs_captum.sh [--model cnn|resnet18] [--images N]
#                                   [--cifar DIR] [--train-seconds S] [--keep DIR]
#   cnn (default)  a small CNN trained here for 60 s on CIFAR-10 (the
#                  cifar10-jpeg.tar.gz in --cifar, default ../shared/data/
#                  cifar10-jpeg when present, else data/cifar10-jpeg), 8 test images
#   resnet18       torchvision's ResNet-18 with seeded weights, samples/ at 224x224
#
# Installs Debian's python3-torch and python3-torchvision with apt-get when
# missing, and into a venv in /tmp: numpy<2 (Debian's torch is 1.13),
# captum 0.7.0, onnx, onnxruntime<1.20, scipy, scikit-learn, and grad-cam
# with --no-deps (its opencv-python wheel would pull numpy 2) beside
# opencv-python-headless<4.11, ttach and tqdm.
set -euo pipefail

source "$(dirname "$0")/common.sh"

bench_need_torch torchvision
venv=/tmp/convviz-explain-bench-venv
if ! "$venv/bin/python" -c 'import captum, pytorch_grad_cam, cv2, onnx' 2>/dev/null; then
  bench_venv "$venv" "captum, onnx" "numpy<2" "captum==0.7.0" onnx "onnxruntime<1.20" \
    "scipy<1.14" "scikit-learn<1.6" tqdm
  "$venv/bin/pip" install -q --no-deps grad-cam ttach "opencv-python-headless<4.11"
fi

cifar=()
if [[ " $* " != *" --cifar "* ]]; then
  for dir in "$root/../shared/data/cifar10-jpeg" /work/shared/data/cifar10-jpeg \
    "$root/data/cifar10-jpeg"; do
    if [[ -f "$dir/cifar10-jpeg.tar.gz" ]]; then cifar=(--cifar "$dir"); break; fi
  done
fi

bench_build_convviz

"$venv/bin/python" -u "$here/explain_vs_captum.py" "$convviz" "${cifar[@]}" "$@" \
  2> >(grep -v -i "warning" >&2)
