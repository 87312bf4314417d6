#!/usr/bin/env python3
"""convviz explain's maps against pytorch-grad-cam's and Captum's on one ONNX model.

Builds ONE model in PyTorch with fixed-seed weights, exports it to ONNX, and
explains the same images with the same settings on both sides:

  - cnn (default): a small CNN (three 3x3 convolutions, two dense layers)
    trained here for --train-seconds (60) on CIFAR-10's training JPEGs, so
    the maps mean something; the explained images are CIFAR-10 test images
    written as PNG (both sides decode the same bytes), 32x32 RGB in [0, 1].
  - resnet18: torchvision's ResNet-18 with seeded random weights (batch-norm
    statistics randomised), on samples/*.png|jpg cropped to 224x224.

Per image, the class explained is the model's top class (PyTorch's argmax,
passed to convviz as --class). Each method's map from convviz's .npy is
compared with the peer's by the Pearson correlation over pixels; the table
gives the mean and the minimum over the images, PASS when the minimum is at
least 0.99 for gradcam, gradcam++, saliency, integrated-gradients and
occlusion (the issue's list; the others are informational).

Conventions matched (see docs/explain.md):
  - CAMs: pytorch-grad-cam's GradCAM / GradCAMPlusPlus / LayerCAM / ScoreCAM
    at the same module (the ReLU after the last convolution; in ONNX, that
    Relu node's output tensor is convviz's --layer), target
    ClassifierOutputTarget(k) on the logits. pytorch-grad-cam min-max
    normalises each CAM and resizes it with cv2.resize; convviz's .npy keeps
    the raw values resized the same way. Pearson's r does not see the
    normalisation (an affine map), so the raw maps are compared directly.
  - saliency: Captum Saliency(abs=True) is |gradient| per channel; both
    sides are reduced by the MAX over channels (convviz's convention,
    Simonyan et al.). Captum's own visualisation sums channels instead.
  - integrated-gradients: Captum IntegratedGradients, method
    "riemann_middle" (convviz's midpoint rule; Captum's default is
    gausslegendre), the same n_steps, baseline all zeros (--baseline black),
    channels SUMMED on both sides.
  - occlusion: Captum Occlusion with sliding_window_shapes (C, w, w),
    strides (C, s, s), baselines 0: each pixel the mean drop of the windows
    covering it, windows every s pixels and the last one clipped at the far
    edge (ceil((size - w) / s) + 1 per axis). Captum repeats the map over
    channels; channel 0 is compared.
  - smoothgrad (informational): Captum NoiseTunnel(Saliency), nt_samples and
    stdevs = noise x (max - min) as convviz; the noise draws differ, and
    NoiseTunnel averages per channel before the channel max (convviz takes
    the max per sample, then the mean).
  - guided-backprop (informational, when convviz has the method): Captum
    GuidedBackprop, |.| max over channels on both sides.

Usage: bench/explain_vs_captum.py CONVVIZ [--model cnn|resnet18] [--images N]
       [--cifar DIR] [--train-seconds S] [--keep DIR]
(bench/explain_vs_captum.sh sets up the venv and builds convviz.)
"""
import argparse
import os

os.environ.setdefault("TQDM_DISABLE", "1")  # before torch imports tqdm
import io
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings

import numpy as np
import onnx
import torch
from PIL import Image

warnings.filterwarnings("ignore")

from captum.attr import (  # noqa: E402
    GuidedBackprop, IntegratedGradients, NoiseTunnel, Occlusion, Saliency)
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

SEED = 20261203
GATED = ["gradcam", "gradcam++", "saliency", "integrated-gradients", "occlusion"]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


class SmallCNN(torch.nn.Module):
    """32x32 RGB in [0, 1] -> 10 logits; no in-place ReLU (hooks see each map)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU())
        self.classifier = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(64 * 8 * 8, 128), torch.nn.ReLU(),
            torch.nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def cifar_members(tar: tarfile.TarFile, split: str, limit_per_class: int):
    counts: dict[str, int] = {}
    for member in tar:
        parts = member.name.split("/")
        if member.isfile() and len(parts) == 3 and parts[0] == split:
            if counts.get(parts[1], 0) < limit_per_class:
                counts[parts[1]] = counts.get(parts[1], 0) + 1
                yield parts[1], tar.extractfile(member).read()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8)


def train_cnn(cifar: pathlib.Path, seconds: float) -> SmallCNN:
    archive = cifar / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive) as tar:
        samples = list(cifar_members(tar, "train", 2000))
    x = torch.tensor(np.stack([decode(d) for _, d in samples]), dtype=torch.float32)
    x = x.permute(0, 3, 1, 2) / 255
    y = torch.tensor([CLASSES.index(c) for c, _ in samples])
    torch.manual_seed(SEED)
    model = SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(SEED)
    start, epochs = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        order = torch.randperm(len(y), generator=generator)
        for i in range(0, len(y), 64):
            if time.perf_counter() - start > seconds and epochs > 0:
                break
            batch = order[i:i + 64]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        epochs += 1
    model.eval()
    with tarfile.open(archive) as tar:
        test = list(cifar_members(tar, "test", 100))
    tx = torch.tensor(np.stack([decode(d) for _, d in test]), dtype=torch.float32)
    tx = tx.permute(0, 3, 1, 2) / 255
    ty = torch.tensor([CLASSES.index(c) for c, _ in test])
    with torch.no_grad():
        accuracy = (model(tx).argmax(1) == ty).float().mean().item()
    print(f"model: small CNN trained {epochs} epochs ({seconds:.0f} s) on {len(y)} CIFAR-10 "
          f"training images; {accuracy:.1%} on {len(ty)} test images")
    return model


def cifar_images(cifar: pathlib.Path, count: int, folder: pathlib.Path) -> list[pathlib.Path]:
    """The first test image of each class (then the second ...), as PNG."""
    with tarfile.open(cifar / "cifar10-jpeg.tar.gz") as tar:
        test = list(cifar_members(tar, "test", (count + 9) // 10))
    chosen, seen = [], {}
    for name, data in test:
        seen[name] = seen.get(name, 0) + 1
        chosen.append((seen[name], CLASSES.index(name), name, data))
    chosen.sort()
    paths = []
    for rank, _, name, data in chosen[:count]:
        path = folder / f"{name}{rank}.png"
        Image.fromarray(decode(data)).save(path)
        paths.append(path)
    return paths


def resnet18() -> torch.nn.Module:
    import torchvision
    torch.manual_seed(SEED)
    model = torchvision.models.resnet18(weights=None)
    generator = torch.Generator().manual_seed(SEED)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    model.eval()
    print("model: torchvision ResNet-18, seeded random weights (batch-norm statistics "
          "randomised), input [0, 1] RGB 224x224")
    return model


def sample_images(root: pathlib.Path, count: int, folder: pathlib.Path) -> list[pathlib.Path]:
    paths = []
    sources = sorted(p for p in (root / "samples").iterdir() if p.suffix in (".png", ".jpg"))
    for source in sources[:count]:
        image = Image.open(source).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((224, 224),
                                                                         Image.BILINEAR)
        path = folder / f"{source.stem}.png"
        image.save(path)
        paths.append(path)
    return paths


def export(model: torch.nn.Module, size: int, path: pathlib.Path) -> None:
    torch.onnx.export(model, torch.zeros(1, 3, size, size), str(path), opset_version=13,
                      input_names=["input"], output_names=["output"])


def relu_after_last_conv(path: pathlib.Path) -> str:
    """The ONNX tensor of the last Relu that follows a Conv (directly or
    through an Add, as a ResNet block ends): pytorch-grad-cam's target
    module's output."""
    graph = onnx.load(str(path)).graph
    last_conv = max(i for i, n in enumerate(graph.node) if n.op_type == "Conv")
    relus = [n for n in graph.node[last_conv:] if n.op_type == "Relu"]
    return relus[0].output[0]


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def run_convviz(convviz: str, onnx_path: pathlib.Path, image: pathlib.Path, k: int,
                out: pathlib.Path, methods: list[str], options: list[str]
                ) -> tuple[bool, str]:
    args = [convviz, "explain", str(onnx_path), str(image), "--class", str(k),
            "--threads", "2", "-o", str(out)]
    for m in methods:
        args += ["--method", m]
    done = subprocess.run(args + options, capture_output=True, text=True)
    return done.returncode == 0, done.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("convviz")
    parser.add_argument("--model", choices=["cnn", "resnet18"], default="cnn")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--cifar", default="/work/shared/data/cifar10-jpeg")
    parser.add_argument("--train-seconds", type=float, default=60)
    parser.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parent.parent))
    parser.add_argument("--keep", help="keep the model, images and maps in this folder")
    options = parser.parse_args()
    torch.set_num_threads(2)
    import captum
    import pytorch_grad_cam  # noqa: F401
    from importlib.metadata import version
    print(f"torch {torch.__version__}, captum {captum.__version__}, "
          f"grad-cam {version('grad-cam')}")

    folder = pathlib.Path(options.keep or tempfile.mkdtemp(prefix="explain-vs-captum-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    if options.model == "cnn":
        model, size = train_cnn(pathlib.Path(options.cifar), options.train_seconds), 32
        target_module = model.features[7]
        images = cifar_images(pathlib.Path(options.cifar), options.images, folder / "images")
        occlusions = [(4, 2), (6, 4)]
        steps, samples, noise = 64, 25, 0.15
        informational = ["scorecam", "layercam", "smoothgrad", "guided-backprop"]
    else:
        model, size = resnet18(), 224
        target_module = model.layer4[-1]  # the last block: its output, after the ReLU
        images = sample_images(pathlib.Path(options.root), options.images, folder / "images")
        occlusions = [(32, 16)]
        steps, samples, noise = 32, 8, 0.15
        informational = ["layercam", "smoothgrad", "guided-backprop"]
    onnx_path = folder / f"{options.model}.onnx"
    export(model, size, onnx_path)
    layer = relu_after_last_conv(onnx_path)
    print(f"ONNX {onnx_path.name}; CAM layer: --layer {layer} (torch module "
          f"{type(target_module).__name__}); {len(images)} images {size}x{size}")

    gradcam = GradCAM(model=model, target_layers=[target_module])
    gradcampp = GradCAMPlusPlus(model=model, target_layers=[target_module])
    layercam = LayerCAM(model=model, target_layers=[target_module])
    scorecam = ScoreCAM(model=model, target_layers=[target_module])
    scorecam.batch_size = 32

    results: dict[str, list[float]] = {}
    notes: dict[str, str] = {}
    for image in images:
        pixels = np.asarray(Image.open(image).convert("RGB"), dtype=np.float32) / 255
        x = torch.tensor(pixels).permute(2, 0, 1)[None].contiguous()
        with torch.no_grad():
            k = int(model(x).argmax(1))
        targets = [ClassifierOutputTarget(k)]
        theirs: dict[str, np.ndarray] = {}
        theirs["gradcam"] = gradcam(input_tensor=x, targets=targets)[0]
        theirs["gradcam++"] = gradcampp(input_tensor=x, targets=targets)[0]
        if "layercam" in informational:
            theirs["layercam"] = layercam(input_tensor=x, targets=targets)[0]
        if "scorecam" in informational:
            theirs["scorecam"] = scorecam(input_tensor=x, targets=targets)[0]
        x.requires_grad_(False)
        saliency = Saliency(model).attribute(x, target=k, abs=True)
        theirs["saliency"] = saliency[0].amax(0).detach().numpy()
        ig = IntegratedGradients(model).attribute(
            x, baselines=torch.zeros_like(x), target=k, n_steps=steps,
            method="riemann_middle", internal_batch_size=32)
        theirs["integrated-gradients"] = ig[0].sum(0).detach().numpy()
        # Informational: Captum's defaults, against the same convviz maps.
        theirs["saliency, sum over C"] = saliency[0].sum(0).detach().numpy()
        ig = IntegratedGradients(model).attribute(
            x, baselines=torch.zeros_like(x), target=k, n_steps=steps, internal_batch_size=32)
        theirs["integrated-gradients, GL"] = ig[0].sum(0).detach().numpy()
        for window, stride in occlusions:
            occ = Occlusion(model).attribute(
                x, sliding_window_shapes=(3, window, window), strides=(3, stride, stride),
                baselines=0, target=k, perturbations_per_eval=32)
            theirs[f"occlusion {window}/{stride}"] = occ[0, 0].detach().numpy()
        sigma = noise * float(x.max() - x.min())
        torch.manual_seed(SEED)
        nt = NoiseTunnel(Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=samples, stdevs=sigma, target=k, abs=True,
            nt_samples_batch_size=32)
        theirs["smoothgrad"] = nt[0].amax(0).detach().numpy()
        gbp = GuidedBackprop(model).attribute(x, target=k)
        theirs["guided-backprop"] = gbp[0].abs().amax(0).detach().numpy()

        out = folder / "maps" / image.stem
        out.mkdir(parents=True, exist_ok=True)
        base = ["gradcam", "gradcam++", "saliency", "integrated-gradients"]
        base += [m for m in ["scorecam", "layercam", "smoothgrad"] if m in informational]
        ok, error = run_convviz(
            options.convviz, onnx_path, image, k, out, base,
            ["--layer", layer, "--steps", str(steps), "--baseline", "black",
             "--samples", str(samples), "--noise", str(noise)])
        if not ok:
            sys.exit(f"convviz explain failed on {image.name}: {error}")
        ours = {m: np.load(out / f"{image.stem}-{m}-class{k}.npy") for m in base}
        for window, stride in occlusions:
            sub = out / f"occlusion-{window}-{stride}"
            sub.mkdir(exist_ok=True)
            ok, error = run_convviz(options.convviz, onnx_path, image, k, sub, ["occlusion"],
                                    ["--window", str(window), "--stride", str(stride)])
            if not ok:
                sys.exit(f"convviz explain failed on {image.name}: {error}")
            ours[f"occlusion {window}/{stride}"] = np.load(
                sub / f"{image.stem}-occlusion-class{k}.npy")
        sub = out / "guided"
        sub.mkdir(exist_ok=True)
        ok, error = run_convviz(options.convviz, onnx_path, image, k, sub, ["guided-backprop"],
                                [])
        if ok:
            ours["guided-backprop"] = np.load(sub / f"{image.stem}-guided-backprop-class{k}.npy")
        else:
            notes["guided-backprop"] = "convviz: " + error.splitlines()[0][:70]
        ours["saliency, sum over C"] = ours["saliency"]
        ours["integrated-gradients, GL"] = ours["integrated-gradients"]
        for method, theirs_map in theirs.items():
            if method in ours:
                assert ours[method].shape == theirs_map.shape, (method, ours[method].shape)
                results.setdefault(method, []).append(pearson(ours[method], theirs_map))

    print(f"{'method':26} {'peer':40} {'mean r':>8} {'min r':>8}  verdict")
    peers = {"gradcam": "pytorch_grad_cam.GradCAM", "gradcam++": "pytorch_grad_cam.GradCAMPlusPlus",
             "scorecam": "pytorch_grad_cam.ScoreCAM", "layercam": "pytorch_grad_cam.LayerCAM",
             "saliency": "captum Saliency (max |g| over C)",
             "integrated-gradients": f"captum IG riemann_middle, {steps} steps",
             "smoothgrad": f"captum NoiseTunnel(Saliency) {samples}",
             "guided-backprop": "captum GuidedBackprop",
             "saliency, sum over C": "captum Saliency (sum |g| over C)",
             "integrated-gradients, GL": f"captum IG gausslegendre (default)"}
    failed = False
    order = ["gradcam", "gradcam++", "saliency", "integrated-gradients"] + [
        f"occlusion {w}/{s}" for w, s in occlusions] + informational + [
        "saliency, sum over C", "integrated-gradients, GL"]
    for method in order:
        peer = peers.get(method, f"captum Occlusion {method.split()[-1]}")
        if method not in results:
            print(f"{method:26} {peer:40} {'-':>8} {'-':>8}  {notes.get(method, 'n/a')}")
            continue
        r = results[method]
        gated = method.split()[0] in GATED
        verdict = ("PASS" if min(r) >= 0.99 else "FAIL") if gated else "(informational)"
        failed |= gated and not min(r) >= 0.99
        print(f"{method:26} {peer:40} {np.mean(r):8.4f} {min(r):8.4f}  {verdict}")
    print(f"(Pearson r of convviz's .npy with the peer's map over {len(images)} images; "
          f"maps in {folder})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
