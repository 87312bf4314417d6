#!/usr/bin/env python3
"""Reference data for convviz's Explain tests, from OpenCV.

pytorch-grad-cam brings a CAM to the input's size with
cv2.resize(cam, (width, height)) (INTER_LINEAR). This script draws fixed
random maps and writes what cv2.resize makes of them, up and down, to
Tests/ExplainTests/Fixtures/cv2-resize.txt, one case per block:

    case HEIGHT WIDTH TO_HEIGHT TO_WIDTH
    <HEIGHT*WIDTH source values>
    <TO_HEIGHT*TO_WIDTH resized values>

ExplainerTests compares `Bilinear.resize` with it; neither Python nor OpenCV
is needed to run the tests.

    apt-get install python3-opencv python3-numpy   # or pip install opencv-python-headless
    python3 scripts/make-explain-fixtures.py
"""
import pathlib

import cv2
import numpy as np

CASES = [(3, 3, 24, 24), (7, 5, 28, 20), (2, 9, 13, 31), (12, 10, 5, 4), (6, 6, 6, 6)]


def main() -> None:
    rng = np.random.default_rng(11)
    lines = [f"# cv2 {cv2.__version__}, INTER_LINEAR, float32"]
    for h, w, th, tw in CASES:
        source = rng.uniform(-1, 1, size=(h, w)).astype(np.float32)
        resized = cv2.resize(source, (tw, th), interpolation=cv2.INTER_LINEAR)
        lines.append(f"case {h} {w} {th} {tw}")
        lines.append(" ".join(f"{v:.9g}" for v in source.ravel()))
        lines.append(" ".join(f"{v:.9g}" for v in resized.ravel()))
    out = pathlib.Path(__file__).resolve().parent.parent / "Tests/ExplainTests/Fixtures/cv2-resize.txt"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
