#!/usr/bin/env python3
"""Reference tensors for `--preprocess imagenet`, from torchvision.

Writes into Tests/DatasetsTests/Fixtures/imagenet-preprocess/, for two
RGB test pictures of awkward sizes (landscape 335x250, portrait 239x303,
whose centre crops need torchvision's rounding):

  NAME.png        the picture (a smooth pattern plus seeded noise)
  NAME.npy        float32 (3, 56, 56): every 4th row and column (from 0)
                  of torchvision's
                      Resize(256) -> CenterCrop(224) -> ToTensor()
                      -> Normalize(mean=[0.485, 0.456, 0.406],
                                   std=[0.229, 0.224, 0.225])
                  of the picture, read by PIL (a 3x224x224 tensor would be
                  600 KB; the subsample keeps the fixture small and still
                  covers the whole crop)

DatasetsTests/ImageNetPreprocessingTests compares convviz's conversion
(PixelConversion with Preprocessing.imagenet) with these within a
tolerance explained there. `swift test` needs neither Python nor torch.

    /tmp/tvenv/bin/python scripts/make-preprocess-fixtures.py

(Debian's python3-torchvision: torch 1.13, torchvision 0.14, Pillow 9.4.)
"""
import pathlib

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "DatasetsTests" / "Fixtures" / "imagenet-preprocess"
SEED = 20261203
# Landscape: Resize gives 343x256, an odd margin (59.5 rounds to 60).
# Portrait: 256 * 303 / 239 = 324.55, which torchvision truncates to 324.
SIZES = {"landscape": (335, 250), "portrait": (239, 303)}  # (width, height)

PIPELINE = transforms.Compose(
    [
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ]
)


def picture(width, height, rng):
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack(
        [
            127 + 120 * np.sin(x / 17.0) * np.cos(y / 23.0),
            127 + 120 * np.cos((x + y) / 31.0),
            255 * (x / width) * (y / height),
        ],
        axis=-1,
    )
    noisy = base + rng.normal(0, 20, base.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for name, (width, height) in SIZES.items():
        pixels = picture(width, height, rng)
        path = OUT / f"{name}.png"
        Image.fromarray(pixels, "RGB").save(path)
        # Read back as a user's file would be.
        tensor = PIPELINE(Image.open(path).convert("RGB"))
        assert tensor.shape == (3, 224, 224), tensor.shape
        sample = tensor.numpy()[:, ::4, ::4].astype("<f4")
        np.save(OUT / f"{name}.npy", np.ascontiguousarray(sample))
        print(f"wrote {name}.png ({width}x{height}) and {name}.npy {sample.shape}")
    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"Pillow {PIL.__version__}"
    )


if __name__ == "__main__":
    main()
