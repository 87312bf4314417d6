"""PyTorch side of bench/train_vs_pytorch.sh: the seed's MNIST CNN (or, with
--model cifar-cnn, its deeper CIFAR-10 CNN), trained the way `convviz train
--model mnist-cnn|cifar-cnn` trains it.

Same networks as convviz's presets (mnist-cnn: Conv 32 3x3, ReLU, Conv 32 3x3,
ReLU, MaxPool 2, Dropout .25, Flatten, Dense 200, ReLU, Dense 10, softmax;
cifar-cnn: Conv 32 same, Conv 32 valid, MaxPool 2, Dropout .25, Conv 64 same,
Conv 64 valid, MaxPool 2, Dropout .25, Flatten, Dense 512, Dropout .5,
Dense 10), Glorot-uniform kernels and zero biases as in Keras,
Adadelta(lr=1.0, rho=0.95, eps=1e-7), batch 100, the last 10% of the
training images held out for validation (Keras's validation_split), training
batches reshuffled every epoch, 2 threads. MNIST is read from its IDX files;
CIFAR-10 from an image folder (train/<class>/*.jpg, test/<class>/*.jpg) decoded
once into memory before the clock starts, shuffled with the seed as convviz
shuffles a folder before splitting.

Prints one line per epoch and a final summary line that the shell script
parses:  RESULT seconds_per_epoch=<s> test_accuracy=<a>
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, path
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit(f"{folder}: missing {name}[.gz]")


def load(folder, split):
    images = read_idx(find(folder, f"{split}-images-idx3-ubyte"))
    labels = read_idx(find(folder, f"{split}-labels-idx1-ubyte"))
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def load_folder(root, seed, limit=None):
    """(N, 3, H, W) floats in [0, 1] and labels from root/<class>/<image>,
    classes in sorted order, shuffled with `seed`."""
    from PIL import Image
    classes = sorted(os.listdir(root))
    paths, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted(os.listdir(os.path.join(root, name))):
            paths.append(os.path.join(root, name, file))
            labels.append(label)
    order = np.random.default_rng(seed).permutation(len(paths))[:limit]
    images = np.stack([np.asarray(Image.open(paths[i]).convert("RGB")) for i in order])
    x = torch.from_numpy(images.astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(np.asarray(labels, dtype=np.int64)[order])


def model(name):
    if name == "cifar-cnn":
        net = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(6 * 6 * 64, 512), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(512, 10))
    else:
        net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(),
            nn.Conv2d(32, 32, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(12 * 12 * 32, 200), nn.ReLU(),
            nn.Linear(200, 10))  # softmax lives in CrossEntropyLoss
    for layer in net:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return net


def evaluate(net, x, y, batch):
    net.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = net(x[i:i + batch])
            loss += loss_fn(out, y[i:i + batch]).item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(x), correct / len(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--model", choices=["mnist-cnn", "cifar-cnn"], default="mnist-cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None,
                        help="first N samples of each split (smoke tests)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.model == "cifar-cnn":
        x, y = load_folder(os.path.join(args.data, "train"), args.seed, args.limit)
        x_test, y_test = load_folder(os.path.join(args.data, "test"), args.seed, args.limit)
    else:
        x, y = load(args.data, "train")
        x_test, y_test = load(args.data, "t10k")
    if args.limit:
        x, y, x_test, y_test = x[:args.limit], y[:args.limit], x_test[:args.limit], y_test[:args.limit]
    split_at = int(len(x) * (1 - 0.1))
    x_train, y_train, x_val, y_val = x[:split_at], y[:split_at], x[split_at:], y[split_at:]

    net = model(args.model)
    optimizer = torch.optim.Adadelta(net.parameters(), lr=1.0, rho=0.95, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    epoch_seconds = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        net.train()
        order = torch.randperm(len(x_train))
        total_loss, correct = 0.0, 0
        for i in range(0, len(x_train), args.batch_size):
            index = order[i:i + args.batch_size]
            xb, yb = x_train[index], y_train[index]
            optimizer.zero_grad()
            out = net(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(index)
            correct += (out.argmax(1) == yb).sum().item()
        val_loss, val_accuracy = evaluate(net, x_val, y_val, 1000)
        seconds = time.perf_counter() - start
        epoch_seconds.append(seconds)
        print(f"epoch {epoch}/{args.epochs}  loss {total_loss / len(x_train):.4f}  "
              f"accuracy {correct / len(x_train):.4f}  val_loss {val_loss:.4f}  "
              f"val_accuracy {val_accuracy:.4f}  {seconds:.1f}s", flush=True)
    _, test_accuracy = evaluate(net, x_test, y_test, 1000)
    print(f"RESULT seconds_per_epoch={sum(epoch_seconds) / len(epoch_seconds):.2f} "
          f"test_accuracy={test_accuracy:.4f}")


if __name__ == "__main__":
    main()
