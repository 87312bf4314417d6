#!/usr/bin/env python3
"""Keras fixtures for convviz's Keras reader tests, saved by Keras itself.

Builds two models with fixed-seed random weights and saves each the ways
Keras saves models, into Tests/ModelFormatsTests/Fixtures/keras/:

  mnist-narrow   the seed's MNIST CNN (the `mnist-cnn` preset: Conv2D relu,
                 Conv2D relu, MaxPooling2D, Dropout, Flatten, Dense relu,
                 Dense softmax), Sequential, with 8 filters and 32 units
                 instead of 32 and 200 so that each file stays far under
                 1 MB (the full network's 933,378 weights are 3.7 MB);
                 spec.txt is the same network in convviz's spec format.
  branches       a small Functional model that branches: Add and
                 Concatenate of convolution branches, `same` and strided
                 convolutions, average pooling, an Activation layer, and
                 relu, tanh, sigmoid, linear and softmax activations.
  mobilenet      a small MobileNetV2-like network: ZeroPadding2D and a
                 strided Conv2D + BatchNormalization + ReLU6 stem, inverted
                 residual blocks (1x1 expand, DepthwiseConv2D, 1x1 project,
                 each with BatchNormalization, Add), a squeeze-excitation
                 gate (GlobalAveragePooling2D keepdims, hard_sigmoid,
                 Multiply), GlobalAveragePooling2D, Dense softmax.
  layers         the other layers convviz maps: SeparableConv2D (dilated,
                 depth_multiplier 2, hard_swish), BatchNormalization
                 without center or scale and on flat features, LeakyReLU,
                 ReLU with negative_slope, Permute, Reshape (image to rows
                 and back), GlobalMaxPooling2D, grouped and dilated Conv2D,
                 relu6/tanh activations, a Softmax layer.

Each folder gets
  model.keras          model.save("model.keras"): config.json, metadata.json
                       and model.weights.h5 in a zip
  model.h5             model.save("model.h5"): Keras 2's legacy HDF5 format,
                       the architecture in the `model_config` attribute
  model.weights.h5     model.save_weights(...), Keras 3's weights-only file
  legacy.weights.h5    Keras 2's weights-only layout (`layer_names`,
                       `weight_names`), as tf.keras 2 `save_weights("x.h5")`
                       writes it (mnist-narrow only)
  reference.json       a fixed random batch (N, H, W, C) and Keras's
                       `predict` of it, float32 values written exactly

(mobilenet and layers: model.keras, model.h5 and reference.json only.)
Names on the command line make only those folders.

It also saves a tiny Sequential model the same four ways into
Fuzz/corpus/keras/, the seeds of the `keras` fuzz target.

The Swift tests load the committed files; neither Python nor Keras is needed
to run them.

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras jax h5py numpy
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python \
        Tests/ModelFormatsTests/Fixtures/make_keras_models.py
"""
import json
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent / "keras"
CORPUS = pathlib.Path(__file__).resolve().parents[3] / "Fuzz" / "corpus" / "keras"
SEED = 20261203
BATCH = 4


def mnist_narrow() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_narrow",
    )


MNIST_SPEC = """\
input 28 28 1
conv2d 8 3 relu
conv2d 8 3 relu
maxpool2d 2
dropout 0.25
flatten
dense 32 relu
dense 10 softmax
"""


def branches() -> keras.Model:
    x = keras.Input(shape=(12, 10, 3), name="image")
    a = layers.Conv2D(6, 3, padding="same", activation="relu", name="stem")(x)
    b = layers.Conv2D(6, 3, padding="same", name="left")(a)
    c = layers.Conv2D(6, 1, activation="tanh", name="right")(a)
    s = layers.Add(name="sum")([b, c])
    j = layers.Concatenate(name="join")([s, a])
    p = layers.AveragePooling2D(2, name="pool")(j)
    q = layers.Conv2D(5, 3, strides=2, padding="same", activation="sigmoid", name="down")(p)
    m = layers.MaxPooling2D(pool_size=2, strides=1, name="max")(q)
    f = layers.Flatten(name="flat")(m)
    d = layers.Dropout(0.5, name="drop")(f)
    h = layers.Dense(7, name="logits")(d)
    y = layers.Activation("softmax", name="probabilities")(h)
    return keras.Model(x, y, name="branches")


def tiny() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(6, 6, 1)),
            layers.Conv2D(2, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ],
        name="tiny",
    )


def inverted_residual(x, expand: int, out: int, strides: int, name: str):
    c = x.shape[-1]
    y = layers.Conv2D(c * expand, 1, use_bias=False, name=f"{name}_expand")(x)
    y = layers.BatchNormalization(name=f"{name}_expand_bn")(y)
    y = layers.ReLU(6.0, name=f"{name}_expand_relu")(y)
    y = layers.DepthwiseConv2D(
        3, strides=strides, padding="same", use_bias=False, name=f"{name}_depthwise")(y)
    y = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_depthwise_bn")(y)
    y = layers.ReLU(6.0, name=f"{name}_depthwise_relu")(y)
    y = layers.Conv2D(out, 1, use_bias=False, name=f"{name}_project")(y)
    y = layers.BatchNormalization(name=f"{name}_project_bn")(y)
    if strides == 1 and c == out:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def mobilenet() -> keras.Model:
    x = keras.Input(shape=(24, 24, 3), name="image")
    y = layers.ZeroPadding2D(((0, 1), (0, 1)), name="stem_pad")(x)
    y = layers.Conv2D(8, 3, strides=2, use_bias=False, name="stem")(y)
    y = layers.BatchNormalization(name="stem_bn")(y)
    y = layers.ReLU(6.0, name="stem_relu")(y)
    y = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="block0_depthwise")(y)
    y = layers.BatchNormalization(name="block0_depthwise_bn")(y)
    y = layers.ReLU(6.0, name="block0_relu")(y)
    y = layers.Conv2D(8, 1, use_bias=False, name="block0_project")(y)
    y = layers.BatchNormalization(name="block0_project_bn")(y)
    y = inverted_residual(y, 4, 8, 1, "block1")
    y = inverted_residual(y, 4, 12, 2, "block2")
    g = layers.GlobalAveragePooling2D(keepdims=True, name="se_pool")(y)
    g = layers.Conv2D(4, 1, activation="relu", name="se_reduce")(g)
    g = layers.Conv2D(12, 1, activation="hard_sigmoid", name="se_expand")(g)
    y = layers.Multiply(name="se_gate")([y, g])
    y = layers.Conv2D(32, 1, use_bias=False, name="head")(y)
    y = layers.BatchNormalization(name="head_bn")(y)
    y = layers.Activation("relu6", name="head_relu")(y)
    y = layers.GlobalAveragePooling2D(name="pool")(y)
    y = layers.Dropout(0.2, name="dropout")(y)
    y = layers.Dense(10, activation="softmax", name="predictions")(y)
    return keras.Model(x, y, name="mobilenet")


def all_layers() -> keras.Model:
    x = keras.Input(shape=(12, 10, 4), name="image")
    y = layers.Conv2D(8, 3, padding="same", groups=2, dilation_rate=2, name="grouped")(x)
    y = layers.BatchNormalization(center=False, scale=False, name="plain_bn")(y)
    y = layers.LeakyReLU(0.1, name="leaky")(y)
    y = layers.SeparableConv2D(
        6, 3, padding="same", depth_multiplier=2, dilation_rate=2, activation="hard_swish",
        name="separable")(y)
    y = layers.DepthwiseConv2D(
        3, strides=2, depth_multiplier=2, activation="tanh", name="depthwise")(y)
    y = layers.BatchNormalization(scale=False, epsilon=0.01, name="shift_bn")(y)
    y = layers.ReLU(negative_slope=0.2, name="leaky_relu")(y)
    y = layers.Permute((2, 1, 3), name="swap")(y)
    y = layers.Reshape((-1, 12), name="rows")(y)
    y = layers.Reshape((5, 4, 12), name="image_again")(y)
    a = layers.GlobalMaxPooling2D(name="max")(y)
    b = layers.Flatten(name="flat")(y)
    b = layers.Dense(12, activation="relu6", name="hidden")(b)
    b = layers.BatchNormalization(name="features_bn")(b)
    y = layers.Add(name="sum")([a, b])
    y = layers.Dense(5, name="logits")(y)
    y = layers.Softmax(name="probabilities")(y)
    return keras.Model(x, y, name="layers")


def randomize(model: keras.Model, rng: np.random.Generator) -> None:
    """Weights of a trained-looking size, biases non-zero, so that every
    weight's placement matters; batch normalisation statistics of a
    trained-looking spread (variances positive)."""
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if isinstance(layer, layers.BatchNormalization):
            values = []
            for variable, w in zip(layer.weights, weights):
                if "variance" in variable.path or "gamma" in variable.path:
                    values.append(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))
                else:
                    values.append(rng.normal(0, 0.2, w.shape).astype(np.float32))
            layer.set_weights(values)
        else:
            layer.set_weights(
                [rng.normal(0, 0.3, w.shape).astype(np.float32) for w in weights])


def save_legacy_weights(model: keras.Model, path: pathlib.Path) -> None:
    """Keras 2's weights-only HDF5 layout, which Keras 3 still reads."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def exact(values: np.ndarray) -> list:
    return [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]


def save(name: str, model: keras.Model, rng: np.random.Generator, extra: bool) -> None:
    folder = HERE / name
    folder.mkdir(parents=True, exist_ok=True)
    randomize(model, rng)
    model.save(folder / "model.keras")
    model.save(folder / "model.h5")
    if extra:
        model.save_weights(folder / "model.weights.h5")
    if name == "mnist-narrow":
        save_legacy_weights(model, folder / "legacy.weights.h5")
        (folder / "spec.txt").write_text(MNIST_SPEC)
    shape = (BATCH,) + tuple(model.input_shape[1:])
    batch = rng.random(shape, dtype=np.float32)
    output = model.predict(batch, verbose=0)
    reference = {
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "input_shape": list(shape),
        "input": exact(batch),
        "output_shape": list(output.shape),
        "output": exact(output),
    }
    (folder / "reference.json").write_text(json.dumps(reference) + "\n")
    # Each reloaded file must compute the same in Keras too.
    for saved in ("model.keras", "model.h5"):
        again = keras.models.load_model(folder / saved)
        np.testing.assert_allclose(again.predict(batch, verbose=0), output, rtol=1e-6)
    sizes = {p.name: p.stat().st_size for p in sorted(folder.iterdir())}
    assert all(size < 1 << 20 for size in sizes.values()), sizes
    print(name, sizes)


def main(names: list) -> None:
    rng = np.random.default_rng(SEED)
    keras.utils.set_random_seed(SEED)
    for name, build in (("mnist-narrow", mnist_narrow), ("branches", branches)):
        model = build()
        if not names or name in names:
            save(name, model, rng, extra=True)
    if not names:
        CORPUS.mkdir(parents=True, exist_ok=True)
        model = tiny()
        randomize(model, rng)
        model.save(CORPUS / "tiny.keras")
        model.save(CORPUS / "tiny.h5")
        model.save_weights(CORPUS / "tiny.weights.h5")
        save_legacy_weights(model, CORPUS / "tiny-legacy.weights.h5")
    # Each of the later models draws from its own generator, so that adding
    # one leaves the others' files as they were.
    for k, (name, build) in enumerate((("mobilenet", mobilenet), ("layers", all_layers))):
        if not names or name in names:
            save(name, build(), np.random.default_rng(SEED + 1 + k), extra=False)


if __name__ == "__main__":
    main(sys.argv[1:])
