#!/usr/bin/env python3
"""Whole-image batches: one convviz build against another (before/after a
change) on a folder of same-size images, forced onto the whole-image path
(CONVVIZ_STREAMING=0), where each image's decoded samples and its output
are whole arrays: wall, user and system CPU, minor page faults and peak RSS
of the whole process (/usr/bin/time), median of --repeat interleaved runs,
ratios first / second.

  python3 bench/batch_reuse.py --first OLD_CONVVIZ --second NEW_CONVVIZ \\
      [--count 6] [--size 4096] [--repeat 3] [--format jpeg|png]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile


def run(binary, folder, output, fmt):
    shutil.rmtree(output, ignore_errors=True)
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %R %M", binary, "filter", "-k", "edges", "--padding",
         "same", folder, "-o", output + "/", "--format", fmt],
        capture_output=True, text=True, env=dict(os.environ, CONVVIZ_STREAMING="0"))
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    wall, user, system, faults, rss = done.stderr.strip().splitlines()[-1].split()
    return {"wall s": float(wall), "user s": float(user), "sys s": float(system),
            "minor faults": int(faults), "peak MiB": int(rss) / 1024}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", required=True)
    parser.add_argument("--second", required=True)
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", default="jpeg", choices=["jpeg", "png"])
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(dir="/tmp") as work:
        folder = os.path.join(work, "in")
        os.mkdir(folder)
        first = os.path.join(folder, "p0.jpg")
        subprocess.run(["vips", "resize", os.path.join(here, "..", "samples", "astronaut.png"),
                        first + "[Q=90]", str(args.size / 512)], check=True)
        for i in range(1, args.count):
            shutil.copy(first, os.path.join(folder, f"p{i}.jpg"))
        results = {"first": [], "second": []}
        for _ in range(args.repeat):
            for side in ("first", "second"):
                binary = args.first if side == "first" else args.second
                results[side].append(run(binary, folder, os.path.join(work, "out"), args.format))
        print(f"{args.count} × {args.size}² JPEG → edges → {args.format}, whole-image path, "
              f"median of {args.repeat}, load average {os.getloadavg()[0]:.1f} at end")
        print(f"{'':<14}{'first':>10}{'second':>10}{'first/second':>14}")
        for key in results["first"][0]:
            a = statistics.median(r[key] for r in results["first"])
            b = statistics.median(r[key] for r in results["second"])
            print(f"{key:<14}{a:>10.2f}{b:>10.2f}{(a / b if b else float('inf')):>14.2f}")


if __name__ == "__main__":
    main()
