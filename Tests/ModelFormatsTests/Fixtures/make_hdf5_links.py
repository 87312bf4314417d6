#!/usr/bin/env python3
"""An HDF5 fixture with every kind of link, for convviz's HDF5 reader tests.

Copies keras/mnist-narrow/model.h5 (made by make_keras_models.py) to
keras/mnist-narrow/linked.h5 and adds, beside Keras's own groups:

  model_weights/again     a second hard link to model_weights/dense (the
                          reader must read the object once, not twice)
  model_weights/loop      a hard link back to the root (a cycle)
  model_weights/soft      a soft link to /model_weights/dense/mnist_narrow/dense/kernel
  model_weights/dangling  a soft link to a path that does not exist
  model_weights/outside   an external link to /etc/hostname's root (never
                          followed: links to other files are refused)

Keras reads the result as the same model (it only follows the names
`layer_names` and `weight_names` list). Needs only h5py:

    /tmp/venv/bin/pip install h5py
    /tmp/venv/bin/python Tests/ModelFormatsTests/Fixtures/make_hdf5_links.py
"""
import pathlib
import shutil

import h5py

HERE = pathlib.Path(__file__).resolve().parent / "keras" / "mnist-narrow"


def main() -> None:
    target = HERE / "linked.h5"
    shutil.copyfile(HERE / "model.h5", target)
    with h5py.File(target, "r+") as f:
        weights = f["model_weights"]
        weights["again"] = weights["dense"]
        weights["loop"] = f["/"]
        weights["soft"] = h5py.SoftLink("/model_weights/dense/mnist_narrow/dense/kernel")
        weights["dangling"] = h5py.SoftLink("/model_weights/nothing/here")
        weights["outside"] = h5py.ExternalLink("/etc/hostname", "/")
    print(target)


if __name__ == "__main__":
    main()
