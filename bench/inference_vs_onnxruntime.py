#!/usr/bin/env python3
"""convviz's forward pass against onnxruntime's on full torchvision networks.

For each network: build it with torchvision (random weights from a fixed
seed, batch-norm statistics randomised; pretrained weights cannot be
downloaded here), export it with PyTorch's own exporter, and run the same
batch of 224x224 inputs through onnxruntime (2 intra-op threads, all graph
optimisations) and through `convviz predict MODEL.onnx BATCH.npy --timings`
(2 threads). Prints per network and batch size

  - the median forward time of each (onnxruntime in-process; convviz's own
    `timing forward` lines, which leave out process start and model load)
    and their ratio convviz / onnxruntime (the issue asks at most 1.5 for
    ResNet-18 and VGG-16),
  - the largest difference of convviz's outputs from onnxruntime's,
    relative to the output's scale (same numbers, not only the same speed),
  - for the model load plus one pass, convviz's peak RSS against the weight
    bytes (the issue asks at most 1.3x for VGG-16).

Usage: bench/inference_vs_onnxruntime.py CONVVIZ [NETWORK...]
(bench/inference_vs_onnxruntime.sh sets up the venv and builds convviz.)
"""
import json
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime
import torch
import torchvision

SEED = 20261203
REPEATS = 5
TIMED = ["resnet18", "vgg16"]
CHECKED = ["mobilenet_v2", "squeezenet1_1", "densenet121", "shufflenet_v2_x1_0"]


def cpu_isa() -> str:
    flags = pathlib.Path("/proc/cpuinfo").read_text()
    if "avx512f" in flags:
        return "AVX-512"
    return "AVX2" if "avx2" in flags else "SSE"


def export(name: str, folder: pathlib.Path) -> pathlib.Path:
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, name)(weights=None)
    generator = torch.Generator().manual_seed(SEED)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
    model.eval()
    path = folder / f"{name}.onnx"
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), str(path), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return path


def onnxruntime_times(path: pathlib.Path, batch: np.ndarray) -> tuple[float, np.ndarray]:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"input": batch})
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        session.run(None, {"input": batch})
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, output


def convviz_run(convviz: str, path: pathlib.Path, npy: pathlib.Path, batch: int
                ) -> tuple[float, np.ndarray, float, str]:
    """Median forward ms, the raw outputs, peak RSS in MB, and the kernels
    convviz ran on (its `timing kernels` line: oneDNN's instruction set,
    OpenBLAS's core)."""
    with tempfile.NamedTemporaryFile(suffix=".time") as timing:
        # The same file REPEATS + 1 times: the first pass is the warm-up.
        args = [convviz, "predict", str(path)] + [str(npy)] * (REPEATS + 1) + [
            "--layout", "nchw", "--format", "json", "--timings", "--threads", "2",
            "--batch-size", str(batch)]
        done = subprocess.run(["/usr/bin/time", "-v", "-o", timing.name] + args,
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"convviz failed on {path.name}: {done.stderr.strip()}")
        peak = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                               pathlib.Path(timing.name).read_text()).group(1)) / 1024
    forwards = [float(m.group(1)) for m in
                re.finditer(r"^timing forward ([0-9.]+) ms", done.stderr, re.M)]
    if len(forwards) < 2:
        sys.exit(f"convviz printed no forward timings for {path.name}:\n{done.stderr}")
    results = json.loads(done.stdout)
    first = results[:batch] if isinstance(results, list) else results["images"][:batch]
    scores = np.array([r["scores"] for r in first], dtype=np.float32)
    kernels = re.search(r"^timing kernels (.*)$", done.stderr, re.M)
    return statistics.median(forwards[1:]), scores, peak, kernels.group(1) if kernels else "?"


def main() -> None:
    convviz = sys.argv[1]
    names = sys.argv[2:] or TIMED + CHECKED
    print(f"CPU: {cpu_isa()} (onnxruntime {onnxruntime.__version__} picks its kernels at run "
          f"time; convviz prints its own below), torch {torch.__version__}")
    print(f"{'network':20} {'batch':>5} {'onnxruntime ms':>15} {'convviz ms':>11} "
          f"{'ratio':>6} {'max rel diff':>13} {'peak MB':>8} {'weights MB':>10}")
    rng = np.random.default_rng(SEED)
    kernels_seen = set()
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        for name in names:
            path = export(name, folder)
            weights = path.stat().st_size / 2**20
            for batch_size in (1, 8):
                batch = rng.random((batch_size, 3, 224, 224), dtype=np.float32)
                npy = folder / f"{name}-{batch_size}.npy"
                np.save(npy, batch)
                ort_ms, expected = onnxruntime_times(path, batch)
                ms, scores, peak, kernels = convviz_run(convviz, path, npy, batch_size)
                if kernels not in kernels_seen:
                    kernels_seen.add(kernels)
                    print(f"convviz kernels: {kernels}", flush=True)
                scale = max(1.0, float(np.abs(expected).max()))
                diff = float(np.abs(scores - expected).max()) / scale
                print(f"{name:20} {batch_size:5d} {ort_ms:15.1f} {ms:11.1f} {ms / ort_ms:6.2f} "
                      f"{diff:13.2e} {peak:8.0f} {weights:10.0f}", flush=True)


if __name__ == "__main__":
    main()
