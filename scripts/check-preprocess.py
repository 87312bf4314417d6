#!/usr/bin/env python3
"""End to end: a PyTorch model fed a photo by torchvision, and by convviz.

Builds a small random-weight CNN in PyTorch (Conv 3->8 3x3 stride 2, ReLU,
MaxPool 2, Flatten, Linear -> 10; seed fixed), exports it to ONNX, and on
each photo given:

  1. torchvision: Resize(256), CenterCrop(224), ToTensor, Normalize with
     ImageNet's mean and std, then the PyTorch model: the reference logits;
  2. convviz predict MODEL.onnx PHOTO --preprocess imagenet --format json;
  3. the torchvision tensor saved as .npy and fed to convviz predict as is.

Prints the largest difference of convviz's scores from PyTorch's for 2 and
3. (2) differs by what Pillow's rounding of the 8-bit resize leaves (see
the README); (3) only by float arithmetic. Needs torch, torchvision, onnx:

    /tmp/tvenv/bin/python scripts/check-preprocess.py [.build/debug/convviz] PHOTO...
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    args = sys.argv[1:]
    binary = str(ROOT / ".build" / "debug" / "convviz")
    if args and not args[0].lower().endswith((".png", ".jpg", ".jpeg")):
        binary = args.pop(0)
    photos = args or [str(ROOT / "samples" / name) for name in ["astronaut.png", "coffee.png"]]
    torch.manual_seed(20261203)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 55 * 55, 10),
    ).eval()
    pipeline = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ]
    )
    with tempfile.TemporaryDirectory() as folder:
        onnx_path = f"{folder}/model.onnx"
        torch.onnx.export(
            model, torch.zeros(1, 3, 224, 224), onnx_path, opset_version=13,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )
        for photo in photos:
            tensor = pipeline(Image.open(photo).convert("RGB")).unsqueeze(0)
            with torch.no_grad():
                reference = model(tensor).numpy()[0]
            npy = f"{folder}/input.npy"
            np.save(npy, tensor.numpy())
            for label, extra in [("--preprocess imagenet", [photo, "--preprocess", "imagenet"]),
                                 (".npy as given", [npy])]:
                run = subprocess.run(
                    [binary, "predict", onnx_path, *extra, "--format", "json"],
                    capture_output=True, text=True, check=True)
                scores = np.array(json.loads(run.stdout)["images"][0]["scores"])
                difference = np.abs(scores - reference).max()
                scale = np.abs(reference).max()
                print(f"{pathlib.Path(photo).name}: {label}: largest difference "
                      f"{difference:.3g} (logits up to {scale:.3g})")


if __name__ == "__main__":
    main()
