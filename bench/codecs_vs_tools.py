#!/usr/bin/env python3
"""convviz's PNG encoder against OpenCV's default, and its JPEG decoder and
encoder against djpeg and cjpeg, side by side in one run; prints medians of
--repeat interleaved rounds and the ratios: for PNG, OpenCV's time / convviz's
(above 1: convviz is faster, as in the README) and convviz's size / OpenCV's
(below 1: smaller); for JPEG, convviz's time / the tool's (the goal is at
most 1.1).

- PNG encode: convviz's `timing encode` (in memory, from `filter --kernel
  identity --padding same --timings`) against cv2.imencode('.png') in
  process with OpenCV's defaults (zlib 1, Z_RLE, SUB filter), on the same
  pixels; file sizes of both.
- JPEG decode: `djpeg -outfile /dev/null FILE` whole process against
  convviz's whole process minus the identity filter, encode and write it
  reports (so: start-up, file read, decode, exit). convviz has no
  decode-only command.
- JPEG encode at quality 90: `cjpeg -quality 90` reading a PPM, whole
  process, against convviz's whole process minus the decode and filter it
  reports (start-up, encode, writing to /dev/null, exit);
  convviz reads no PPM, so it starts from the same pixels as a PNG.
- Start-up: `convviz --version` against `djpeg -version`, whole process:
  the part of both rows above that is loading the program (convviz loads
  the Swift runtime, Foundation and every library any command uses;
  djpeg only libjpeg). The decode and encode rows are printed again with
  each program's start-up subtracted: the codec work alone.
- CPU time (user + system, from the kernel's accounting of each child), a
  measure a machine loaded by other work stretches much less than wall
  time: start-up, and a whole JPEG -> JPEG run at quality 90 (convviz's
  identity filter on its streaming path) against djpeg then cjpeg.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
from PIL import Image


def make_images(folder, size):
    samples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")
    source = os.path.join(samples, "astronaut.png")
    if not os.path.exists(source):
        source = "/work/shared/samples/astronaut.png"
    photo = np.asarray(Image.open(source).convert("RGB").resize((size, size), Image.BICUBIC))
    noise = np.random.default_rng(0).integers(-6, 7, photo.shape)
    noisy = np.clip(photo.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    pure = np.random.default_rng(1).integers(0, 256, photo.shape, dtype=np.uint8)
    images = {}
    for name, pixels in [("photo", photo), ("noisy photo", noisy), ("noise", pure)]:
        path = os.path.join(folder, name.replace(" ", "_") + ".png")
        Image.fromarray(pixels).save(path, compress_level=1)
        images[name] = (path, pixels)
    jpeg, ppm = os.path.join(folder, "noisy.jpg"), os.path.join(folder, "noisy.ppm")
    Image.fromarray(noisy).save(jpeg, quality=90)
    Image.fromarray(noisy).save(ppm)
    return images, jpeg, ppm


def children_cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def cpu_ms(command):
    """User + system CPU ms of one whole run of `command`, output discarded."""
    before = children_cpu_ms()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return children_cpu_ms() - before


def wall_ms(command, **kwargs):
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, **kwargs)
    elapsed = (time.perf_counter() - start) * 1000
    if run.returncode != 0:
        sys.exit(" ".join(command) + " failed:\n" + run.stderr)
    return elapsed, run.stderr


def convviz(binary, source, output, threads, extra=()):
    """Wall time of one `convviz filter` run and the times it reports."""
    command = [binary, "filter", source, "--kernel", "identity", "--padding", "same",
               "--timings", "-o", output, *extra]
    if threads:
        command += ["--threads", str(threads)]
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        run = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, text=True)
    elapsed = (time.perf_counter() - start) * 1000
    if run.returncode != 0:
        sys.exit("convviz failed:\n" + run.stderr)
    times = {k: float(v) for k, v in re.findall(r"^timing (\w+) ([\d.]+) ms\b", run.stderr, re.M)}
    return elapsed, times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convviz", required=True)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="convviz --threads (default: one per core)")
    parser.add_argument("--only", choices=["png", "jpeg"],
                        help="run only the PNG rows or only the JPEG rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        images, jpeg, ppm = make_images(folder, args.size)
        print(f"{args.size}x{args.size} RGB, median of {args.repeat}, "
              f"load average {os.getloadavg()[0]:.1f} at start, {os.cpu_count()} cores")
        png_rows = [] if args.only == "jpeg" else list(images.items())
        if png_rows:
            print(f"{'PNG encode (default)':<26}{'convviz ms':>11}{'OpenCV ms':>11}{'ratio':>7}"
                  f"{'convviz MB':>12}{'OpenCV MB':>11}{'ratio':>7}")
            print("(time ratio: OpenCV / convviz; size ratio: convviz / OpenCV)")
        for name, (path, pixels) in png_rows:
            ours, theirs = [], []
            bgr = np.ascontiguousarray(pixels[:, :, ::-1])
            out = os.path.join(folder, "out.png")
            for _ in range(args.repeat):
                _, times = convviz(args.convviz, path, out, args.threads)
                ours.append(times["encode"])
                start = time.perf_counter()
                ok, encoded = cv2.imencode(".png", bgr)
                theirs.append((time.perf_counter() - start) * 1000)
            size_ours, size_theirs = os.path.getsize(out), len(encoded)
            if not np.array_equal(np.asarray(Image.open(out)), pixels):
                sys.exit(f"convviz's PNG of {name} does not decode to the input (Pillow)")
            if not np.array_equal(cv2.imread(out, cv2.IMREAD_UNCHANGED), bgr):
                sys.exit(f"convviz's PNG of {name} does not decode to the input (OpenCV)")
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"{name:<26}{a:>11.0f}{b:>11.0f}{b / a:>7.2f}"
                  f"{size_ours / 1e6:>12.2f}{size_theirs / 1e6:>11.2f}"
                  f"{size_ours / size_theirs:>7.3f}")
        if args.only == "png":
            return
        print(f"{'JPEG (whole process)':<26}{'convviz ms':>11}{'tool ms':>11}{'ratio':>7}"
              "  (convviz / tool)")
        decode_ours, decode_tool, encode_ours, encode_tool = [], [], [], []
        start_ours, start_tool = [], []
        for _ in range(args.repeat):
            start_ours.append(wall_ms([args.convviz, "--version"])[0])
            start_tool.append(wall_ms(["djpeg", "-version"])[0])
            elapsed, times = convviz(args.convviz, jpeg, "-", args.threads, ["--format", "jpeg"])
            decode_ours.append(elapsed - times["filter"] - times["encode"] - times.get("write", 0))
            elapsed, _ = wall_ms(["djpeg", "-outfile", os.devnull, jpeg])
            decode_tool.append(elapsed)
            elapsed, times = convviz(args.convviz, images["noisy photo"][0], "-", args.threads,
                                     ["--format", "jpeg", "--quality", "90"])
            encode_ours.append(elapsed - times["decode"] - times["filter"])
            elapsed, _ = wall_ms(["cjpeg", "-quality", "90", "-outfile", os.devnull, ppm])
            encode_tool.append(elapsed)
        # CPU time (user + system), which a loaded machine stretches much
        # less than wall time: start-up alone, and a whole JPEG -> JPEG run
        # (convviz's identity filter, streaming) against djpeg + cjpeg.
        cpu = {"start": ([], []), "round trip": ([], [])}
        out_jpeg = os.path.join(folder, "out.jpg")
        for _ in range(args.repeat):
            cpu["start"][0].append(cpu_ms([args.convviz, "--version"]))
            cpu["start"][1].append(cpu_ms(["djpeg", "-version"]))
            cpu["round trip"][0].append(cpu_ms([args.convviz, "filter", jpeg, "--kernel",
                                                "identity", "--padding", "same", "--quality",
                                                "90", "-o", out_jpeg]))
            cpu["round trip"][1].append(cpu_ms(["djpeg", "-outfile", ppm + ".out", jpeg])
                                        + cpu_ms(["cjpeg", "-quality", "90", "-outfile",
                                                  os.devnull, ppm + ".out"]))
        rows = [("start-up (--version)", start_ours, start_tool),
                ("decode vs djpeg", decode_ours, decode_tool),
                ("encode q90 vs cjpeg", encode_ours, encode_tool)]
        for label, ours, tool in rows:
            a, b = statistics.median(ours), statistics.median(tool)
            print(f"{label:<26}{a:>11.0f}{b:>11.0f}{a / b:>7.2f}")
        # The same rows without each program's start-up (its --version run):
        # the codec work alone, what the libraries and the copies around
        # them cost.
        a0, b0 = statistics.median(start_ours), statistics.median(start_tool)
        for label, ours, tool in rows[1:]:
            a, b = statistics.median(ours) - a0, statistics.median(tool) - b0
            print(f"{label + ', no start-up':<26}{a:>11.0f}{b:>11.0f}{a / b:>7.2f}")
        print(f"{'JPEG (CPU, whole process)':<26}{'convviz ms':>11}{'tool ms':>11}{'ratio':>7}")
        for label, key in [("start-up (--version)", "start"),
                           ("decode + encode q90", "round trip")]:
            a, b = statistics.median(cpu[key][0]), statistics.median(cpu[key][1])
            print(f"{label:<26}{a:>11.0f}{b:>11.0f}{a / b:>7.2f}")


if __name__ == "__main__":
    main()
