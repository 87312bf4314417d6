"""bench/filter_vs_opencv_vips.sh's driver: whole commands side by side.

  python3 filter_vs_opencv_vips.py run CONVVIZ SIZES REPEATS [best|median]
      makes the inputs (a sample photo resized with `vips resize` to each
      SIZE, as JPEG q90 and PNG, in a temporary folder under /tmp), then
      for each size and JPEG->JPEG, PNG->PNG runs, REPEATS times each:
        convviz  `convviz filter -k edges --padding same --border reflect IN -o OUT`
                 (whole process)
        opencv   imread + filter2D (same kernel, BORDER_REFLECT_101) + imwrite,
                 timed in-process (interpreter start excluded)
        vips     `vips conv IN OUT edges.mat --precision integer` (whole process)
      then the same for 2×2 average pooling:
        convviz  `convviz pool --mode average --size 2 IN -o OUT`
        opencv   imread + resize(INTER_AREA, half size: the mean of each 2×2
                 block) + imwrite, in-process
        vips     `vips shrink IN OUT 2 2` (the mean of each 2×2 block)
      and prints the best time of each (with `median`, the median run's),
      the ratios peer/convviz (above 1: convviz is faster), the peak RSS of each process (/usr/bin/time -v;
      OpenCV's includes the Python interpreter and numpy) and the CPU time
      (user + system) of the best run of convviz and OpenCV with its ratio
      (on a machine shared with other work the wall times stretch with the
      load, the CPU times much less), and the size of each output file
      (MB) with convviz's / OpenCV's (below 1: convviz's file is smaller).
      Each side writes at its default settings (PNG: convviz level 2,
      OpenCV zlib 1 + Z_RLE + Sub, vips compression=1 as asked).
  python3 filter_vs_opencv_vips.py opencv OP IN OUT REPEATS [best|median]
      the OpenCV side (run under /usr/bin/time by `run`); OP is edges or pool.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

EDGES = [[1, 1, 1], [1, -8, 1], [1, 1, 1]]
HERE = os.path.dirname(os.path.abspath(__file__))
PHOTO = os.path.join(HERE, "..", "samples", "astronaut.png")


def pick(runs, how):
    """The (wall, cpu) run kept: the fastest, or the median by wall time."""
    runs = sorted(runs)
    return runs[0] if how == "best" else runs[len(runs) // 2]


def opencv(operation, source, target, repeats, how="best"):
    import cv2
    import numpy as np

    kernel = np.array(EDGES, dtype=np.float32)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if target.endswith(".jpg") else []
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        cpu = time.process_time()
        image = cv2.imread(source, cv2.IMREAD_UNCHANGED)
        if operation == "pool":
            size = (image.shape[1] // 2, image.shape[0] // 2)
            result = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        else:
            result = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        cv2.imwrite(target, result, params)
        runs.append((time.perf_counter() - start, time.process_time() - cpu))
        del image, result
    best, best_cpu = pick(runs, how)
    print(f"RESULT ms={best * 1000:.1f} cpu={best_cpu * 1000:.1f}")


def timed(command):
    """Wall milliseconds and peak RSS (MiB) of `command` under /usr/bin/time -v."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed:\n{done.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([0-9.]+)", done.stderr).group(1))
              for kind in ("User", "System")) * 1000
    return wall, rss / 1024, done.stdout, cpu


def best_of(repeats, command, inner=False, how="best"):
    """Best (or median) wall ms, peak RSS MiB and the CPU ms of that run."""
    best, peak, best_cpu = float("inf"), 0.0, 0.0
    runs = []
    if inner:
        wall, peak, out, _ = timed(command)
        found = re.search(r"RESULT ms=([0-9.]+) cpu=([0-9.]+)", out)
        best, best_cpu = float(found.group(1)), float(found.group(2))
    else:
        for _ in range(repeats):
            wall, rss, _, cpu = timed(command)
            peak = max(peak, rss)
            runs.append((wall, cpu))
        best, best_cpu = pick(runs, how)
    return best, peak, best_cpu


def run(convviz, sizes, repeats, how="best"):
    work = tempfile.mkdtemp(prefix="convviz-bench-", dir="/tmp")
    try:
        mask = os.path.join(work, "edges.mat")
        with open(mask, "w") as f:
            f.write("3 3 1 0\n" + "\n".join(" ".join(map(str, r)) for r in EDGES) + "\n")
        print(f"{'input':<16} {'convviz ms':>10} {'opencv ms':>10} {'vips ms':>9} "
              f"{'opencv/cvz':>10} {'vips/cvz':>9} {'cvz MiB':>8} {'opencv MiB':>10} "
              f"{'vips MiB':>8} {'cvz cpu':>8} {'cv cpu':>7} {'cpu cv/cvz':>10} {'cvz MB':>7} "
              f"{'cv MB':>6} {'vips MB':>7} {'cvz/cv':>6}")
        for size in sizes:
            scale = size / 512
            for ext, options in (("jpg", "[Q=90]"), ("png", "[compression=1]")):
                source = os.path.join(work, f"photo{size}.{ext}")
                subprocess.run(["vips", "resize", PHOTO, source + options, str(scale)], check=True)
                out = os.path.join(work, f"out.{ext}")
                out_cv = os.path.join(work, f"out-opencv.{ext}")
                out_vips = os.path.join(work, f"out-vips.{ext}")
                target = out_vips + ("[Q=90]" if ext == "jpg" else "[compression=1]")
                # 16384² is past the default pixel limit (Pillow's).
                jobs = [
                    ("edges", ["filter", "-k", "edges", "--padding", "same", "--border",
                               "reflect"], ["conv", source, target, mask, "--precision",
                                            "integer"]),
                    ("pool", ["pool", "--mode", "average", "--size", "2"],
                     ["shrink", source, target, "2", "2"]),
                ]
                for operation, command, vips in jobs:
                    cvz = best_of(repeats, [convviz, *command, "--max-pixels", "300000000",
                                            source, "-o", out], how=how)
                    cv = best_of(repeats, [sys.executable, os.path.abspath(__file__), "opencv",
                                           operation, source, out_cv, str(repeats), how],
                                 inner=True)
                    vp = best_of(repeats, ["vips", *vips], how=how)
                    name = f"{size}² {ext} {operation}"
                    sizes = [os.path.getsize(p) / 1e6 for p in (out, out_cv, out_vips)]
                    print(f"{name:<16} {cvz[0]:>10.0f} {cv[0]:>10.0f} {vp[0]:>9.0f} "
                          f"{cv[0] / cvz[0]:>9.2f}x {vp[0] / cvz[0]:>8.2f}x {cvz[1]:>8.0f} "
                          f"{cv[1]:>10.0f} {vp[1]:>8.0f} {cvz[2]:>8.0f} {cv[2]:>7.0f} "
                          f"{cv[2] / cvz[2]:>9.2f}x {sizes[0]:>7.2f} {sizes[1]:>6.2f} "
                          f"{sizes[2]:>7.2f} {sizes[0] / sizes[1]:>6.3f}", flush=True)
                os.remove(source)
    finally:
        shutil.rmtree(work)


def main():
    how = sys.argv[-1] if sys.argv[-1] in ("best", "median") else None
    args = sys.argv[:-1] if how else sys.argv
    if len(args) == 5 and args[1] == "run":
        run(args[2], [int(s) for s in args[3].split(",")], int(args[4]), how or "best")
    elif len(args) == 6 and args[1] == "opencv":
        opencv(args[2], args[3], args[4], int(args[5]), how or "best")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
