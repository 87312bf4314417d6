#!/usr/bin/env python3
"""Times PNG and JPEG decode and encode of one 4096x4096 RGB image: convviz
against Pillow and OpenCV, side by side, and prints the ratios.

Run through bench/codecs.sh, which installs the peers and builds convviz in
release mode. convviz is timed by its own `filter --kernel identity --timings`
report (stderr lines "timing decode <ms> ms" and "timing encode <ms> ms"), so
process start-up and the identity filter are left out. Decoding starts from
the file on every side (file read included); encoding ends in memory on every
side (convviz's separate atomic write with fsync is printed apart, not
compared). Best of --repeat interleaved rounds.
"""
import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
from PIL import Image


def make_image(folder, size):
    """The astronaut sample scaled up, plus mild noise: photo-like content
    that neither compresses trivially nor is pure noise."""
    samples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")
    source = os.path.join(samples, "astronaut.png")
    if not os.path.exists(source):
        source = "/work/shared/samples/astronaut.png"
    picture = Image.open(source).convert("RGB").resize((size, size), Image.BICUBIC)
    pixels = np.asarray(picture).astype(np.int16)
    noise = np.random.default_rng(0).integers(-6, 7, pixels.shape)
    pixels = np.clip(pixels + noise, 0, 255).astype(np.uint8)
    png_path, jpg_path = os.path.join(folder, "large.png"), os.path.join(folder, "large.jpg")
    Image.fromarray(pixels).save(png_path, compress_level=6)
    Image.fromarray(pixels).save(jpg_path, quality=90)
    return png_path, jpg_path


def timed_ms(function):
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def convviz_once(binary, source, output, extra=()):
    """Decode, encode and write times of one run of convviz filter."""
    run = subprocess.run(
        [binary, "filter", source, "--kernel", "identity", "--timings", "-o", output, *extra],
        capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("convviz filter failed:\n" + run.stderr)
    times = dict(re.findall(r"^timing (\w+) ([\d.]+) ms\b", run.stderr, re.MULTILINE))
    if "decode" not in times or "encode" not in times:
        sys.exit("convviz printed no 'timing decode/encode <ms> ms' lines:\n" + run.stderr)
    return {"decode": float(times["decode"]), "encode": float(times["encode"]),
            "write": float(times.get("write", "nan"))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convviz", required=True, help="the release convviz binary")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--png-encode-repeat", type=int, default=1,
                        help="PNG encoding takes seconds; once is enough")
    parser.add_argument("--png-levels", default="",
                        help="also time PNG encoding at these zlib levels (e.g. 1,6) on every "
                             "side at the same level (convviz --png-compression), with sizes")
    args = parser.parse_args()
    cv2.setNumThreads(2)
    with tempfile.TemporaryDirectory() as folder:
        png_path, jpg_path = make_image(folder, args.size)
        rows, writes = [], []
        for name, path in [("PNG", png_path), ("JPEG", jpg_path)]:
            out = os.path.join(folder, "out" + os.path.splitext(path)[1])
            pillow_image = Image.open(path)
            pillow_image.load()
            array = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            if name == "PNG":
                pillow_encode = lambda: pillow_image.save(io.BytesIO(), "PNG")  # Pillow's default: level 6
                opencv_encode = lambda: cv2.imencode(".png", array)  # OpenCV's default: level 1
            else:
                pillow_encode = lambda: pillow_image.save(io.BytesIO(), "JPEG", quality=90)
                opencv_encode = lambda: cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, 90])
            best = {}
            def keep(key, ms):
                best[key] = min(best.get(key, float("inf")), ms)
            # Rounds interleave the three sides, so a busy machine slows all alike.
            for index in range(args.repeat):
                keep("Pillow decode", timed_ms(lambda: Image.open(path).load()))
                keep("OpenCV decode", timed_ms(lambda: cv2.imread(path, cv2.IMREAD_UNCHANGED)))
                encodes = index < (args.png_encode_repeat if name == "PNG" else args.repeat)
                if encodes:
                    keep("Pillow encode", timed_ms(pillow_encode))
                    keep("OpenCV encode", timed_ms(opencv_encode))
                for step, ms in convviz_once(args.convviz, path, out).items():
                    if step == "decode" or encodes:
                        keep("convviz " + step, ms)
            for step in ["decode", "encode"]:
                rows.append((name, step, best["convviz " + step],
                             {peer: best[peer + " " + step] for peer in ["Pillow", "OpenCV"]}))
            writes.append(f"convviz {name} atomic write (temp file, fsync, rename): "
                          f"{best['convviz write']:.1f} ms")
        levels = png_levels(args, png_path, folder) if args.png_levels else []
    print(f"{args.size}x{args.size} RGB, best of {args.repeat} (PNG encode: "
          f"{args.png_encode_repeat}); ratio = peer time / convviz time, "
          "> 1 means convviz is faster")
    print(f"{'format':6} {'step':6} {'convviz ms':>10} {'Pillow ms':>10} {'ratio':>6} "
          f"{'OpenCV ms':>10} {'ratio':>6}")
    for name, step, ours, peers in rows:
        print(f"{name:6} {step:6} {ours:10.1f} {peers['Pillow']:10.1f} "
              f"{peers['Pillow'] / ours:6.2f} {peers['OpenCV']:10.1f} "
              f"{peers['OpenCV'] / ours:6.2f}")
    for line in writes:
        print(line)
    if levels:
        print("PNG encode at the same --png-compression / zlib level on every side (convviz's "
              "levels choose filters and strategy too, see README; best of "
              "--png-encode-repeat); "
              "ratio = peer time / convviz time; sizes in bytes")
        print(f"{'level':5} {'convviz ms':>10} {'Pillow ms':>10} {'ratio':>6} {'OpenCV ms':>10} "
              f"{'ratio':>6} {'convviz B':>10} {'Pillow B':>10} {'OpenCV B':>10}")
        for level, ours, pillow, opencv, sizes in levels:
            print(f"{level:5} {ours:10.1f} {pillow:10.1f} {pillow / ours:6.2f} {opencv:10.1f} "
                  f"{opencv / ours:6.2f} {sizes[0]:10d} {sizes[1]:10d} {sizes[2]:10d}")
    print("OpenCV's default PNG encoding is level 1, zlib's Z_RLE strategy and the SUB row "
          "filter only (an explicit level switches to the default strategy); Pillow's is level "
          "6; convviz's is --png-compression 2 (Paeth, zlib 1, Z_RLE, bands in parallel).")


def png_levels(args, png_path, folder):
    """PNG encode time and size at each level of --png-levels, every side."""
    pillow_image = Image.open(png_path)
    pillow_image.load()
    array = cv2.imread(png_path, cv2.IMREAD_UNCHANGED)
    out = os.path.join(folder, "level.png")
    results = []
    for level in [int(text) for text in args.png_levels.split(",")]:
        best = {}
        for _ in range(args.png_encode_repeat):
            buffer = io.BytesIO()
            ms = timed_ms(lambda: pillow_image.save(buffer, "PNG", compress_level=level))
            best["Pillow"] = min(best.get("Pillow", float("inf")), ms)
            pillow_size = len(buffer.getvalue())
            encoded = []
            ms = timed_ms(lambda: encoded.append(
                cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, level])[1]))
            best["OpenCV"] = min(best.get("OpenCV", float("inf")), ms)
            opencv_size = len(encoded[0])
            ours = convviz_once(args.convviz, png_path, out, ["--png-compression", str(level)])
            best["convviz"] = min(best.get("convviz", float("inf")), ours["encode"])
            ours_size = os.path.getsize(out)
        results.append((level, best["convviz"], best["Pillow"], best["OpenCV"],
                        (ours_size, pillow_size, opencv_size)))
    return results


if __name__ == "__main__":
    main()
