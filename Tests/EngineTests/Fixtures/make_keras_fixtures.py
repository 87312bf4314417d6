"""Generates keras_fixtures.json: Keras forward outputs for fixed weights.

Run once (not part of the test suite):
    python3 -m venv /tmp/kerasenv && /tmp/kerasenv/bin/pip install keras jax jaxlib
    KERAS_BACKEND=jax /tmp/kerasenv/bin/python make_keras_fixtures.py

Keras is channels-last (NHWC); convviz is NCHW. Inputs and outputs are
transposed here so the fixture tensors are directly comparable: every image
tensor in the JSON is NCHW, conv kernels stay in Keras's HWIO layout, dense
kernels are (in, out). Flatten+Dense checks that convviz flattens in Keras's
(H, W, C) order.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.default_rng(2024)


def rand(*shape):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def nchw(x):
    return np.transpose(x, (0, 3, 1, 2))


def flat(x):
    return [float(v) for v in np.asarray(x, dtype=np.float32).ravel()]


def run(layer, x):
    return np.asarray(layer(x), dtype=np.float32)


fixtures = {}

conv_cases = [
    ("conv_valid_s1", (2, 5, 6, 3), 4, (3, 3), (1, 1), "valid"),
    ("conv_same_s1", (2, 5, 6, 3), 4, (2, 3), (1, 1), "same"),
    ("conv_valid_s2", (1, 7, 8, 2), 3, (3, 3), (2, 2), "valid"),
    ("conv_same_s2", (2, 7, 8, 2), 3, (3, 3), (2, 2), "same"),
    ("conv_same_s2_even", (1, 6, 6, 2), 2, (4, 4), (2, 2), "same"),
]
for name, shape, filters, kernel_size, strides, padding in conv_cases:
    x = rand(*shape)
    layer = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding)
    layer.build(shape)
    kernel = rand(*kernel_size, shape[3], filters)
    bias = rand(filters)
    layer.set_weights([kernel, bias])
    y = run(layer, x)
    fixtures[name] = {
        "input_shape": list(nchw(x).shape), "input": flat(nchw(x)),
        "kernel_shape": list(kernel.shape), "kernel": flat(kernel), "bias": flat(bias),
        "strides": list(strides), "padding": padding,
        "output_shape": list(nchw(y).shape), "output": flat(nchw(y)),
    }

x = rand(3, 7)
dense = keras.layers.Dense(5)
dense.build((3, 7))
kernel, bias = rand(7, 5), rand(5)
dense.set_weights([kernel, bias])
y = run(dense, x)
fixtures["dense"] = {
    "input_shape": list(x.shape), "input": flat(x), "kernel_shape": list(kernel.shape),
    "kernel": flat(kernel), "bias": flat(bias), "output_shape": list(y.shape), "output": flat(y),
}

pool_cases = [
    ("maxpool_2", "max", (2, 6, 6, 3), (2, 2), None, "valid"),
    ("avgpool_2", "average", (2, 6, 6, 3), (2, 2), None, "valid"),
    ("maxpool_3s2_overlap", "max", (1, 7, 9, 2), (3, 3), (2, 2), "valid"),
    ("avgpool_3s2_overlap", "average", (1, 7, 9, 2), (3, 3), (2, 2), "valid"),
    ("maxpool_3s2_same", "max", (1, 6, 7, 2), (3, 3), (2, 2), "same"),
    ("avgpool_3s2_same", "average", (1, 6, 7, 2), (3, 3), (2, 2), "same"),
]
for name, kind, shape, pool, strides, padding in pool_cases:
    x = rand(*shape)
    cls = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
    layer = cls(pool_size=pool, strides=strides, padding=padding)
    y = run(layer, x)
    fixtures[name] = {
        "reduction": kind, "pool_size": list(pool), "strides": list(strides or pool),
        "padding": padding, "input_shape": list(nchw(x).shape), "input": flat(nchw(x)),
        "output_shape": list(nchw(y).shape), "output": flat(nchw(y)),
    }

x = rand(2, 3, 4, 2)
model = keras.Sequential([keras.Input((3, 4, 2)), keras.layers.Flatten(), keras.layers.Dense(3)])
kernel, bias = rand(24, 3), rand(3)
model.layers[-1].set_weights([kernel, bias])
y = np.asarray(model(x), dtype=np.float32)
fixtures["flatten_dense"] = {
    "input_shape": list(nchw(x).shape), "input": flat(nchw(x)), "kernel_shape": list(kernel.shape),
    "kernel": flat(kernel), "bias": flat(bias), "output_shape": list(y.shape), "output": flat(y),
}

fixtures["_generator"] = {"keras": keras.__version__, "backend": keras.backend.backend()}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_fixtures.json")
with open(path, "w") as f:
    json.dump(fixtures, f, indent=None, separators=(",", ":"), sort_keys=True)
    f.write("\n")
print(f"wrote {path}")
