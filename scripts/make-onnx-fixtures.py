#!/usr/bin/env python3
"""Reference outputs for convviz's ONNX export tests, from onnxruntime.

For each folder under Tests/ModelFormatsTests/Fixtures/onnx/ holding a
model.bin (trained by convviz from the spec.txt beside it: `convviz train
--model spec.txt --data data/mnist --limit 300 --epochs 1 --batch-size 50
--optimizer adam --seed 7`), this script

  1. exports it with `convviz export model.bin -o model.onnx`,
  2. checks model.onnx with the official `onnx` checker (full check, shape
     inference included),
  3. runs it in onnxruntime on a fixed random batch and writes that batch
     and onnxruntime's output as ONNX TensorProto files, input_0.pb and
     output_0.pb, the layout of ONNX's own node tests.

The Swift tests (ONNXExportTests) export the same model.bin, require the
same bytes as the committed model.onnx, and compare convviz's forward pass
with output_0.pb within 1e-5. Neither Python nor onnxruntime is needed to
run them.

    python3 -m venv /tmp/onnx-venv
    /tmp/onnx-venv/bin/pip install "onnx<1.17" "onnxruntime<1.20" "numpy<2"
    swift build
    /tmp/onnx-venv/bin/python scripts/make-onnx-fixtures.py [.build/debug/convviz]
"""
import pathlib
import subprocess
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "ModelFormatsTests" / "Fixtures" / "onnx"
BATCH = 4
SEED = 20261203


def main() -> None:
    convviz = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".build" / "debug" / "convviz")
    folders = sorted(p.parent for p in FIXTURES.glob("*/model.bin"))
    if not folders:
        sys.exit(f"make-onnx-fixtures: no model.bin under {FIXTURES}")
    for folder in folders:
        onnx_path = folder / "model.onnx"
        subprocess.run([convviz, "export", str(folder / "model.bin"), "-o", str(onnx_path)],
                       check=True)
        model = onnx.load(str(onnx_path))
        onnx.checker.check_model(model, full_check=True)
        session = onnxruntime.InferenceSession(str(onnx_path),
                                               providers=["CPUExecutionProvider"])
        feed = session.get_inputs()[0]
        shape = [BATCH] + [int(d) for d in feed.shape[1:]]
        rng = np.random.default_rng(SEED)
        batch = rng.random(shape, dtype=np.float32)
        (output,) = session.run(None, {feed.name: batch})
        for name, array in (("input_0.pb", batch), ("output_0.pb", output)):
            tensor = onnx.numpy_helper.from_array(np.ascontiguousarray(array), name)
            (folder / name).write_bytes(tensor.SerializeToString())
        print(f"{folder.name}: opset {model.opset_import[0].version}, input {shape}, "
              f"output {list(output.shape)}, onnxruntime {onnxruntime.__version__}, "
              f"onnx {onnx.__version__}")


if __name__ == "__main__":
    main()
