#!/usr/bin/env python3
"""Loads every .npy file `convviz dump-weights` wrote with numpy and checks
it against weights/summary.txt (shape, min, max, mean, std).

    python3 scripts/check-npy.py [output/weights]

Needs numpy (`pip install numpy`); the Swift tests check the bytes without it.
"""
import os
import sys

import numpy as np

folder = sys.argv[1] if len(sys.argv) > 1 else "output/weights"
rows = {}
with open(os.path.join(folder, "summary.txt")) as f:
    next(f)
    for line in f:
        name, rest = line.split("  ", 1)
        shape_text, numbers = rest.strip().split(")", 1)
        shape = tuple(int(d) for d in shape_text.strip("( ").split(",") if d.strip())
        rows[name.strip()] = (shape, [float(v) for v in numbers.split()])

failures = 0
for name, (shape, (lo, hi, mean, std)) in rows.items():
    array = np.load(os.path.join(folder, name.replace("/", "_") + ".npy"))
    ok = (array.dtype == np.float32 and array.shape == shape
          and abs(array.min() - lo) < 1e-5 and abs(array.max() - hi) < 1e-5
          and abs(array.mean(dtype=np.float64) - mean) < 1e-5
          and abs(array.std(dtype=np.float64) - std) < 1e-5)
    print("%-18s %-16s %s" % (name, array.shape, "ok" if ok else "MISMATCH"))
    failures += not ok
sys.exit(1 if failures else 0)
