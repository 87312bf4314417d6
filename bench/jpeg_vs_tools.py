#!/usr/bin/env python3
"""JPEG decode and encode, whole process against whole process: convviz
against libjpeg-turbo's djpeg and cjpeg on the same 4096x4096 photo, wall
and CPU time (user + system of the child), median of --repeat interleaved
rounds, the ratios convviz / tool (the issue's goal: at most 1.1).

- decode: `djpeg -outfile OUT.ppm IN.jpg` against `convviz filter -k
  identity --padding same IN.jpg -o OUT.ppm`: both write the decoded pixels
  as binary PPM, and the bench checks that the two files are identical.
- encode q90: `cjpeg -quality 90 -outfile OUT.jpg IN.ppm` against `convviz
  filter -k identity --padding same IN.ppm --quality 90 -o OUT.jpg`: both
  read the same PPM; the sizes of the two JPEGs are printed.
- start-up: `convviz --version` against `djpeg -version`, the part of the
  rows above that is loading the program.
- The codec alone: the last two rows take convviz's start-up plus the stage
  it reports with `--timings` on its whole-image path (CONVVIZ_STREAMING=0;
  decode: file read + decode into the image; encode: encode into memory),
  against the tool's whole process. The rows above also pay for convviz's
  identity filter (a copy of each row) and its PPM side.
Both sides run the same settings as each other: 4:2:0, islow DCT, fancy
upsampling (libjpeg's defaults and convviz's).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import re
import time

import numpy as np
from PIL import Image


def run(command):
    """Wall ms and CPU ms (user + system) of one whole run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(" ".join(command) + " failed:\n" + done.stderr.decode())
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convviz", required=True)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        source = os.path.join(here, "..", "samples", "astronaut.png")
        photo = Image.open(source).convert("RGB").resize((args.size, args.size), Image.BICUBIC)
        noise = np.random.default_rng(0).integers(-6, 7, (args.size, args.size, 3))
        pixels = np.clip(np.asarray(photo).astype(np.int16) + noise, 0, 255).astype(np.uint8)
        jpeg, ppm = os.path.join(folder, "in.jpg"), os.path.join(folder, "in.ppm")
        Image.fromarray(pixels).save(jpeg, quality=90)
        Image.fromarray(pixels).save(ppm)
        out = lambda name: os.path.join(folder, name)
        identity = [args.convviz, "filter", "-k", "identity", "--padding", "same"]
        rows = {
            "start-up": ([args.convviz, "--version"], ["djpeg", "-version"]),
            "decode": (identity + [jpeg, "-o", out("d.ppm")],
                       ["djpeg", "-outfile", out("d2.ppm"), jpeg]),
            "encode q90": (identity + [ppm, "--quality", "90", "-o", out("e.jpg")],
                           ["cjpeg", "-quality", "90", "-outfile", out("e2.jpg"), ppm]),
        }
        times = {name: ([], [], [], []) for name in rows}
        for _ in range(args.repeat):
            for name, (ours, tool) in rows.items():
                wall, cpu = run(ours)
                times[name][0].append(wall)
                times[name][2].append(cpu)
                wall, cpu = run(tool)
                times[name][1].append(wall)
                times[name][3].append(cpu)
        print(f"{args.size}x{args.size} noisy photo, JPEG q90 4:2:0, median of {args.repeat}, "
              f"load average {os.getloadavg()[0]:.1f} at end, {os.cpu_count()} cores")
        print(f"{'whole process':<14}{'convviz ms':>11}{'tool ms':>9}{'ratio':>7}"
              f"{'convviz cpu':>13}{'tool cpu':>10}{'ratio':>7}   (ratio: convviz / tool)")
        for name, (a, b, c, d) in times.items():
            a, b, c, d = (statistics.median(x) for x in (a, b, c, d))
            print(f"{name:<14}{a:>11.1f}{b:>9.1f}{a / b:>7.2f}{c:>13.1f}{d:>10.1f}{c / d:>7.2f}")
        with open(out("d.ppm"), "rb") as ours, open(out("d2.ppm"), "rb") as theirs:
            same = ours.read() == theirs.read()
        print(f"decoded PPMs identical: {'yes' if same else 'NO'}; JPEG q90 bytes: convviz "
              f"{os.path.getsize(out('e.jpg'))}, cjpeg {os.path.getsize(out('e2.jpg'))}")
        stages = {"decode": [], "encode": []}
        environment = dict(os.environ, CONVVIZ_STREAMING="0")
        for _ in range(args.repeat):
            for stage, command in (("decode", rows["decode"][0]), ("encode", rows["encode q90"][0])):
                done = subprocess.run(command + ["--timings"], capture_output=True, text=True,
                                      env=environment, check=True)
                found = re.search(rf"^timing {stage} ([\d.]+) ms", done.stderr, re.M)
                stages[stage].append(float(found.group(1)))
        start = statistics.median(times["start-up"][0])
        print(f"{'codec alone':<14}{'convviz ms':>11}{'tool ms':>9}{'ratio':>7}"
              "   (convviz: start-up + the stage it reports)")
        for stage, tool in (("decode", "decode"), ("encode", "encode q90")):
            a = start + statistics.median(stages[stage])
            b = statistics.median(times[tool][1])
            print(f"{stage:<14}{a:>11.1f}{b:>9.1f}{a / b:>7.2f}")


if __name__ == "__main__":
    main()
