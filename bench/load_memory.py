#!/usr/bin/env python3
"""Peak memory of loading an ONNX model and one forward pass, against the
weight bytes, convviz and onnxruntime side by side.

Builds the torchvision network (default vgg16: 138,357,544 float32
parameters, 528 MiB; random weights from a fixed seed, pretrained weights
cannot be downloaded here), exports it with PyTorch's own exporter, and
measures with `/usr/bin/time -v` the peak resident set size of

  - `convviz summary MODEL.onnx` (load and build the engine graph),
  - `convviz predict MODEL.onnx INPUT.npy` (load, one 224x224 forward pass,
    2 threads),
  - onnxruntime in a fresh Python process: create the session (2 threads)
    and run the same input once; the Python interpreter and numpy are part
    of its figure.

Prints each peak in MiB and as a multiple of the weight bytes (the issue
asks at most 1.3x for VGG-16's load and forward pass in convviz).

Usage: bench/load_memory.py CONVVIZ [NETWORK] [--model FILE.onnx]
(bench/load_memory.sh sets up the venv and builds convviz.)
"""
import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchvision

SEED = 20261203

ONNXRUNTIME_RUN = """
import sys, numpy as np, onnxruntime
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = 2
options.inter_op_num_threads = 1
session = onnxruntime.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
session.run(None, {session.get_inputs()[0].name: np.load(sys.argv[2])})
"""


def export(name: str, path: pathlib.Path) -> int:
    """Writes the network to `path`; returns its weight bytes."""
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, name)(weights=None).eval()
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), str(path), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return weight_bytes(model)


def weight_bytes(model: torch.nn.Module) -> int:
    tensors = list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]
    return sum(t.numel() * t.element_size() for t in tensors)


def peak_mib(command: list[str]) -> float:
    with tempfile.NamedTemporaryFile(suffix=".time") as timing:
        done = subprocess.run(["/usr/bin/time", "-v", "-o", timing.name] + command,
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"failed: {' '.join(command)}\n{done.stderr.strip()}")
        kib = re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                        pathlib.Path(timing.name).read_text()).group(1)
    return int(kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("convviz")
    parser.add_argument("network", nargs="?", default="vgg16")
    parser.add_argument("--model", help="an exported FILE.onnx of NETWORK to use as it is")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        if args.model:
            path = pathlib.Path(args.model)
            weights = weight_bytes(getattr(torchvision.models, args.network)(weights=None))
        else:
            path = folder / f"{args.network}.onnx"
            weights = export(args.network, path)
        npy = folder / "input.npy"
        np.save(npy, np.random.default_rng(SEED).random((1, 3, 224, 224), dtype=np.float32))
        mib = weights / 2**20
        print(f"{args.network}: weights {mib:.0f} MiB ({weights:,} bytes), file "
              f"{path.stat().st_size / 2**20:.0f} MiB")
        print(f"{'run':44} {'peak MiB':>9} {'/ weights':>10}")
        runs = [
            ("convviz summary", [args.convviz, "summary", str(path)]),
            ("convviz predict (one forward, 2 threads)",
             [args.convviz, "predict", str(path), str(npy), "--layout", "nchw", "--threads", "2"]),
            ("onnxruntime session + one run (2 threads)",
             [sys.executable, "-c", ONNXRUNTIME_RUN, str(path), str(npy)]),
        ]
        for label, command in runs:
            peak = peak_mib(command)
            print(f"{label:44} {peak:9.0f} {peak / mib:10.2f}", flush=True)


if __name__ == "__main__":
    main()
