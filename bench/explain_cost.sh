#!/usr/bin/env bash
# What an explanation costs against one inference pass of the same image, as
# issue 11 asks (Grad-CAM: one forward and a partial backward, at most 3x the
# forward alone). Runs a release convviz with `explain --timings` and prints
# each method's mean time per image and its ratio to the mean forward time
# (the first image is a warm-up and left out). No peer here: the maps are
# compared with pytorch-grad-cam's and Captum's by bench/explain_vs_captum.sh.
#
# Usage: bench/explain_cost.sh MODEL [MNIST_DIR] [N]
#        bench/explain_cost.sh resnet18 [N] [METHOD...]
#   MODEL      a model.bin taking 28x28 gray images (convviz train --model mnist-cnn ...):
#              every method on N MNIST test digits
#   MNIST_DIR  default ../shared/data/mnist when present, else data/mnist
#   N          digits, default 50; for resnet18, images, default 10
#   resnet18   torchvision's ResNet-18 (seeded random weights, batch-norm
#              statistics randomised) exported to ONNX with Debian's
#              python3-torch (apt-get when missing), on samples/ photos cropped
#              to 224x224 (repeated up to N): gradcam, or the METHODs given
set -euo pipefail

source "$(dirname "$0")/common.sh"

model="${1:?usage: bench/explain_cost.sh MODEL [MNIST_DIR] [N] | resnet18 [N] [METHOD...]}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
args=()
if [[ "$model" == resnet18 ]]; then
  count="${2:-10}"
  methods=("${@:3}")
  [[ ${#methods[@]} -gt 0 ]] || methods=(gradcam)
  bench_need_torch torchvision
  /usr/bin/python3 - "$out" "$root/samples" "$count" <<'PY' 2> >(grep -v -i warning >&2)
import pathlib, sys
import torch, torchvision
from PIL import Image
out, samples, count = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
seed = 20261203
torch.manual_seed(seed)
model = torchvision.models.resnet18(weights=None)
generator = torch.Generator().manual_seed(seed)
for module in model.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
        c = module.num_features
        module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
        module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
model.eval()
torch.onnx.export(model, torch.zeros(1, 3, 224, 224), str(out / "resnet18.onnx"),
                  opset_version=13, input_names=["input"], output_names=["output"])
sources = sorted(p for p in samples.iterdir() if p.suffix in (".png", ".jpg"))
for i in range(count):
    image = Image.open(sources[i % len(sources)]).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((224, 224), Image.BILINEAR)
    image.save(out / f"image{i:03d}.png")
PY
  model="$out/resnet18.onnx"
  for ((i = 0; i < count; i++)); do args+=("$(printf '%s/image%03d.png' "$out" "$i")"); done
  first="${args[0]}"
  what="$count ResNet-18 224x224 images"
else
  data="$(bench_mnist_dir "${2:-}")"
  count="${3:-50}"
  images="$data/t10k-images-idx3-ubyte.gz"
  [[ -f "$images" ]] || { echo "bench: no $images" >&2; exit 1; }
  for ((i = 0; i < count; i++)); do args+=("mnist:$images#$i"); done
  first="$images#0"
  methods=(gradcam gradcam++ scorecam layercam saliency smoothgrad integrated-gradients occlusion)
  what="$count MNIST digits; smoothgrad 25 samples, integrated-gradients 64 steps"
fi

bench_build_convviz
method_args=()
for m in "${methods[@]}"; do method_args+=(--method "$m"); done

"$convviz" explain "$model" "${args[@]}" "${method_args[@]}" --timings --threads 2 \
  -o "$out/maps" 2>"$out/timings.txt" >/dev/null

awk -v first="$first" -v what="$what" '
  /^timing / {
    what_ = $2; ms = $3
    if (index($0, first ")") || index($0, first ",")) next
    sum[what_] += ms; n[what_] += 1
    if (!(what_ in seen)) { seen[what_] = 1; order[++k] = what_ }
  }
  END {
    f = sum["forward"] / n["forward"]
    printf "%-22s %10s %8s\n", "method", "ms/image", "x forward"
    for (i = 1; i <= k; i++) {
      w = order[i]; m = sum[w] / n[w]
      printf "%-22s %10.3f %8.2f\n", w, m, m / f
    }
    printf "(%d images after the first of %s; 2 threads)\n", n["forward"], what
  }' "$out/timings.txt"
