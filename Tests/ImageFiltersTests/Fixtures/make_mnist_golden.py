#!/usr/bin/env python3
"""Regenerates the MNIST golden fixtures of ConvolutionTests.

Input: MNIST training image index 3 (0-based) from train-images-idx3-ubyte.gz.
Outputs (raw row-major uint8, no header; sizes in the names):
  mnist-train-3-28x28.u8          the image itself
  mnist-train-3-blur-26x26.u8     'blur'  (3x3, 1/9 each), valid padding
  mnist-train-3-edges-26x26.u8    'edges' ([[1,1,1],[1,-8,1],[1,1,1]]), valid padding
  mnist-train-3-sobelx-BORDER-16x16.u8
      the crop rows 6..21, columns 6..21 (where the stroke meets the edges),
      'sobel-x' dilated by 2 (a 5x5 span), padding 2 on every side filled by
      np.pad mode constant/edge/reflect/wrap for BORDER zero/replicate/
      reflect/wrap, range abs (|v| before rounding)
Filtering is cross-correlation in float64 (scipy.signal.correlate2d 'valid'),
then np.rint (round half to even) and np.clip to 0..255: the seed's clamping.

Usage: python3 make_mnist_golden.py [path/to/train-images-idx3-ubyte.gz]
"""
import gzip
import os
import sys

import numpy as np
from scipy.signal import correlate2d

INDEX = 3
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = "/work/shared/data/mnist/train-images-idx3-ubyte.gz"


def read_image(path, index):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in range(0, 16, 4))
    assert magic == 2051 and index < count, "not an IDX image file"
    start = 16 + index * rows * cols
    return np.frombuffer(data[start:start + rows * cols], dtype=np.uint8).reshape(rows, cols)


def main():
    image = read_image(sys.argv[1] if len(sys.argv) > 1 else DEFAULT, INDEX)
    kernels = {
        "blur": np.full((3, 3), 1.0 / 9.0),
        "edges": np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float64),
    }
    image.tofile(os.path.join(HERE, "mnist-train-3-28x28.u8"))
    for name, kernel in kernels.items():
        response = correlate2d(image.astype(np.float64), kernel, mode="valid")
        out = np.clip(np.rint(response), 0, 255).astype(np.uint8)
        out.tofile(os.path.join(HERE, f"mnist-train-3-{name}-26x26.u8"))
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    dilated = np.zeros((5, 5))
    dilated[::2, ::2] = sobel_x
    modes = {"zero": "constant", "replicate": "edge", "reflect": "reflect", "wrap": "wrap"}
    for border, mode in modes.items():
        padded = np.pad(image[6:22, 6:22].astype(np.float64), 2, mode=mode)
        response = np.abs(correlate2d(padded, dilated, mode="valid"))
        out = np.clip(np.rint(response), 0, 255).astype(np.uint8)
        assert out.shape == (16, 16)
        out.tofile(os.path.join(HERE, f"mnist-train-3-sobelx-{border}-16x16.u8"))


if __name__ == "__main__":
    main()
