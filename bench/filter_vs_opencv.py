"""OpenCV side of bench/filter_vs_opencv.sh, and the input image it uses.

  python3 filter_vs_opencv.py make IMAGE.png [SIZE]
      writes a SIZE x SIZE (default 4096) RGB PNG: smooth gradients plus noise.
  python3 filter_vs_opencv.py time IMAGE.png KERNEL REPEATS [CONVVIZ_OUTPUT.png]
      times OpenCV on the decoded image (file I/O excluded), best of REPEATS,
      and prints  RESULT opencv_ms=<ms> threads=<n> max_diff=<d|n/a>
      where max_diff compares OpenCV's result with convviz's output image.

Kernels, matching `convviz filter --kernel K --padding same --border reflect`:
  blur   cv2.filter2D, 3x3 box 1/9, BORDER_REFLECT_101, uint8 -> uint8
  edges  cv2.filter2D, [[1,1,1],[1,-8,1],[1,1,1]], same border, saturating
  sobel  cv2.Sobel dx and dy to float32, cv2.magnitude, saturating to uint8
"""
import sys
import time

import cv2
import numpy as np

BORDER = cv2.BORDER_REFLECT_101


def make(path, size):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = np.stack([x, y, (x + y) / 2], axis=-1) * 200
    noise = rng.normal(0, 20, size=(size, size, 3))
    image = np.clip(base + noise, 0, 255).astype(np.uint8)
    cv2.imwrite(path, image)


def operation(name):
    if name == "blur":
        kernel = np.full((3, 3), 1 / 9, dtype=np.float32)
        return lambda img: cv2.filter2D(img, -1, kernel, borderType=BORDER)
    if name == "edges":
        kernel = np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float32)
        return lambda img: cv2.filter2D(img, -1, kernel, borderType=BORDER)
    if name == "sobel":
        def sobel(img):
            gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, borderType=BORDER)
            gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3, borderType=BORDER)
            return cv2.convertScaleAbs(cv2.magnitude(gx, gy))
        return sobel
    raise SystemExit(f"unknown kernel {name}")


def time_opencv(path, name, repeats, convviz_output):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    run = operation(name)
    result = run(image)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = run(image)
        best = min(best, time.perf_counter() - start)
    diff = "n/a"
    if convviz_output:
        ours = cv2.imread(convviz_output, cv2.IMREAD_COLOR)
        if ours is not None and ours.shape == result.shape:
            diff = str(int(np.abs(ours.astype(np.int32) - result.astype(np.int32)).max()))
    print(f"RESULT opencv_ms={best * 1000:.1f} threads={cv2.getNumThreads()} max_diff={diff}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 4096)
    elif len(sys.argv) >= 5 and sys.argv[1] == "time":
        time_opencv(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                    sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
