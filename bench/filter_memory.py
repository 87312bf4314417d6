"""Side of bench/filter_memory.sh that makes the images and measures.

For each case it runs one process under GNU time (/usr/bin/time -v) and
reads "Maximum resident set size": convviz filter, and a Python process
that does the same with OpenCV. Prints peak RSS in MiB and as a multiple of
the image's pixel bytes (width * height * 3).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import zlib
import struct

import numpy as np


def write_png(path, pixels):
    """An RGB8 PNG, filter type 0, zlib level 1 (fast to make)."""
    height, width, _ = pixels.shape
    compressor = zlib.compressobj(1)
    with open(path, "wb") as f:
        def chunk(kind, data):
            f.write(struct.pack(">I", len(data)) + kind + data)
            f.write(struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
        f.write(b"\x89PNG\r\n\x1a\n")
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        parts = []
        for y in range(height):
            parts.append(compressor.compress(b"\x00" + pixels[y].tobytes()))
            if len(parts) >= 256:
                data = b"".join(parts)
                if data:
                    chunk(b"IDAT", data)
                parts = []
        parts.append(compressor.flush())
        chunk(b"IDAT", b"".join(parts))
        chunk(b"IEND", b"")


def peak_rss_mib(command):
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    for line in result.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1]) / 1024
    sys.exit("no RSS in /usr/bin/time output")


OPENCV = """
import sys, cv2, numpy as np
image = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
kernel = np.full((3, 3), 1 / 9, np.float32)
out = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
del image
cv2.imwrite(sys.argv[2], out)
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--convviz", required=True)
    parser.add_argument("--size", type=int, default=16384)
    args = parser.parse_args()
    n = args.size
    image_mib = n * n * 3 / 2**20
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as work:
        print(f"making a {n}x{n} RGB noise PNG ({image_mib:.0f} MiB of pixels)...", file=sys.stderr)
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 256, size=(n, n, 3), dtype=np.uint8)
        source = os.path.join(work, "big.png")
        write_png(source, pixels)
        del pixels
        jpeg = os.path.join(work, "big.jpg")
        subprocess.run([args.convviz, "filter", "-k", "identity", "--padding", "same", source,
                        "-o", jpeg, "--max-pixels", str(n * n)], check=True, capture_output=True)
        cases = [
            ("PNG in, 3x3 blur, PNG out", source, "out.png"),
            ("PNG in, 3x3 blur, JPEG out", source, "out.jpg"),
            ("JPEG in, 3x3 blur, JPEG out", jpeg, "out2.jpg"),
        ]
        print(f"{'case':32} {'convviz MiB':>12} {'x image':>8} {'OpenCV MiB':>11} {'x image':>8}")
        for name, src, out in cases:
            mine = peak_rss_mib([args.convviz, "filter", "-k", "blur", "--padding", "same",
                                 "--max-pixels", str(n * n), src, "-o", os.path.join(work, out)])
            theirs = peak_rss_mib([sys.executable, "-c", OPENCV, src, os.path.join(work, "cv-" + out)])
            print(f"{name:32} {mine:12.0f} {mine / image_mib:8.2f} {theirs:11.0f} {theirs / image_mib:8.2f}")
        print(f"image: {n}x{n} RGB, {image_mib:.0f} MiB of pixels; target: convviz <= about 3x")


if __name__ == "__main__":
    main()
