#!/usr/bin/env python3
"""ONNX weight storage as the `onnx` library writes it, for convviz's reader.

From the committed PyTorch export Fixtures/torch/mnist-cnn/model.onnx:

  external-data/  model.onnx + weights.bin: every initializer moved out by
                  onnx.save_model(..., save_as_external_data=True,
                  all_tensors_to_one_file=True, size_threshold=0)
  float16/        model.onnx: every float initializer stored as float16
                  (numpy's rounding, raw_data), as float16 exporters do

and output_0.pb in each: onnxruntime's output for Fixtures/torch/mnist-cnn/
input_0.pb. onnxruntime runs the external-data model as saved; it cannot
run float initializers of float16 without Casts, so float16's reference is
the float32 model whose weights are the same float16 values widened back,
what convviz's converting on load must compute.

    /tmp/convviz-bench-venv/bin/python \
        Tests/ModelFormatsTests/Fixtures/onnx/make_storage_fixtures.py
"""
import pathlib

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parent / "torch" / "mnist-cnn"


def run(model_path: pathlib.Path, batch: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: batch})[0]


def main() -> None:
    batch = numpy_helper.to_array(onnx.load_tensor(str(SOURCE / "input_0.pb")))

    external = HERE / "external-data"
    external.mkdir(exist_ok=True)
    model = onnx.load(str(SOURCE / "model.onnx"))
    onnx.save_model(model, str(external / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    reloaded = onnx.load(str(external / "model.onnx"), load_external_data=False)
    assert all(t.data_location == onnx.TensorProto.EXTERNAL for t in reloaded.graph.initializer)
    output = run(external / "model.onnx", batch)
    onnx.save_tensor(numpy_helper.from_array(output), str(external / "output_0.pb"))

    half = HERE / "float16"
    half.mkdir(exist_ok=True)
    model = onnx.load(str(SOURCE / "model.onnx"))
    widened = onnx.load(str(SOURCE / "model.onnx"))
    for tensor, wide in zip(model.graph.initializer, widened.graph.initializer):
        if tensor.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(tensor).astype(np.float16)
        tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
        wide.CopyFrom(numpy_helper.from_array(values.astype(np.float32), wide.name))
    onnx.save_model(model, str(half / "model.onnx"))
    widened_path = half / "widened.onnx"
    onnx.save_model(widened, str(widened_path))
    output = run(widened_path, batch)
    widened_path.unlink()
    onnx.save_tensor(numpy_helper.from_array(output), str(half / "output_0.pb"))
    for folder in (external, half):
        print(folder.name, {p.name: p.stat().st_size for p in sorted(folder.iterdir())})


if __name__ == "__main__":
    main()
