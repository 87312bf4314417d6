#!/usr/bin/env python3
"""Small PyTorch networks exported to ONNX, with onnxruntime's outputs, for
convviz's whole-model import tests.

Each fixture is a folder under Tests/ModelFormatsTests/Fixtures/torch/ with

  model.onnx    exported by torch.onnx.export (PyTorch's own exporter, so the
                graph holds the patterns PyTorch writes: Shape/Gather/Concat
                around view, BatchNormalization, Clip for ReLU6, ...),
  input_0.pb    a fixed random batch (ONNX TensorProto),
  output_0.pb   onnxruntime's output for it (checked against PyTorch's own
                within 1e-5 before it is written).

Weights are random with a fixed seed (pretrained weights cannot be
downloaded here); batch-norm statistics are random too, so that folding
them is tested. Every model.onnx stays under 1 MB. The Swift tests
(TorchFixtureTests) load the committed files; neither Python nor PyTorch
is needed to run them.

    apt-get install python3-torch python3-torchvision
    python3 -m venv --system-site-packages /tmp/tvenv
    /tmp/tvenv/bin/pip install "numpy<2" "onnxruntime<1.20" onnx
    /tmp/tvenv/bin/python scripts/make-torch-fixtures.py
"""
import pathlib

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime
import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "ModelFormatsTests" / "Fixtures" / "torch"
SEED = 20261203
BATCH = 2


def randomize_batch_norms(model: nn.Module, generator: torch.Generator) -> None:
    """Random running statistics and affine parameters, as after training."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c, generator=generator) * 0.2)
            module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(c, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(c, generator=generator) * 0.2)


# MARK: Networks


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block (resnet18/34)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetBlocks(nn.Module):
    """A ResNet in miniature: 7×7/2 stem, BN, ReLU, 3×3/2 max pooling
    (padding 1), two basic blocks (the second strided with a 1×1
    downsample), global average pooling, flatten, fully connected."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 7, 2, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1))
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation with MobileNetV3's hard sigmoid."""

    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)
        self.relu = nn.ReLU()
        self.scale = nn.Hardsigmoid()

    def forward(self, x):
        s = self.scale(self.fc2(self.relu(self.fc1(self.avgpool(x)))))
        return s * x


class MobileBlocks(nn.Module):
    """MobileNetV2/V3 in miniature: a hard-swish stem, an inverted residual
    with ReLU6 and a depthwise 3×3 (MobileNetV2), one with a strided
    depthwise 5×5, squeeze-and-excitation and hard swish (MobileNetV3),
    a dilated convolution, global average pooling and a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        self.v2 = nn.Sequential(
            nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True),
            nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False), nn.BatchNorm2d(32),
            nn.ReLU6(inplace=True),
            nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.v3 = nn.Sequential(
            nn.Conv2d(16, 48, 1, bias=False), nn.BatchNorm2d(48), nn.Hardswish(),
            nn.Conv2d(48, 48, 5, 2, 2, groups=48, bias=False), nn.BatchNorm2d(48),
            nn.Hardswish(),
            SqueezeExcitation(48, 16),
            nn.Conv2d(48, 24, 1, bias=False), nn.BatchNorm2d(24))
        self.dilated = nn.Sequential(
            nn.Conv2d(24, 24, 3, 1, 2, dilation=2, groups=4), nn.LeakyReLU(0.1))
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.v2(x)
        x = self.dilated(self.v3(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


class Fire(nn.Module):
    """torchvision's SqueezeNet fire module."""

    def __init__(self, cin: int, squeeze: int, expand1: int, expand3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand1, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand3, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.relu(self.squeeze(x))
        return torch.cat([self.relu(self.expand1x1(x)), self.relu(self.expand3x3(x))], 1)


class SqueezeNetFire(nn.Module):
    """SqueezeNet 1.1 in miniature: ceil-mode max pooling, two fire
    modules, dropout, a 1×1 classifier convolution, ReLU, global pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(16, 8, 16, 16), Fire(32, 8, 16, 16),
            nn.MaxPool2d(3, 2, ceil_mode=True))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Conv2d(32, 10, 1), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class MNISTNet(nn.Module):
    """The seed's Keras MNIST CNN in PyTorch, narrowed to stay under 1 MB
    (8 and 16 filters and 32 hidden units instead of 32, 64 and 128): two
    3×3 convolutions with ReLU, 2×2 max pooling, dropout, flatten through
    `view` (PyTorch writes Shape/Gather/Unsqueeze/Concat/Reshape for it),
    dense, dropout, dense, softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.dropout1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(16 * 12 * 12, 32)
        self.dropout2 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = self.dropout1(nn.functional.max_pool2d(x, 2))
        x = x.view(x.size(0), -1)
        x = self.dropout2(torch.relu(self.fc1(x)))
        return torch.softmax(self.fc2(x), dim=1)


def channel_shuffle(x, groups: int):
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(n, -1, h, w)


class ShuffleUnit(nn.Module):
    """torchvision's ShuffleNetV2 unit, stride 1 (chunk into two halves,
    a branch with a depthwise 3×3, concat, channel shuffle) and stride 2
    (two branches), then average pooling with padding and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True))
        half = 8
        self.branch = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))
        self.down1 = nn.Sequential(
            nn.Conv2d(16, 16, 3, 2, 1, groups=16, bias=False), nn.BatchNorm2d(16),
            nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.down2 = nn.Sequential(
            nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, 3, 2, 1, groups=16, bias=False), nn.BatchNorm2d(16),
            nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.pool = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        self.head = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = self.stem(x)
        a, b = x.chunk(2, dim=1)
        x = channel_shuffle(torch.cat((a, self.branch(b)), 1), 2)
        x = channel_shuffle(torch.cat((self.down1(x), self.down2(x)), 1), 2)
        x = self.pool(x)
        return self.head(torch.flatten(x, 1))


class AlexNetLike(nn.Module):
    """AlexNet/VGG-style: 11×11/4 with padding 2, asymmetric padding
    through a Pad node (ZeroPad2d), ceil-mode-free max pooling, average
    pooling counting the padding, Flatten of an image, dropout, two
    linear layers, tanh and sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 11, 4, 2), nn.ReLU(inplace=True),
            nn.ZeroPad2d((0, 1, 2, 0)),
            nn.Conv2d(8, 12, 3), nn.Tanh(),
            nn.MaxPool2d(2, 2),
            nn.AvgPool2d(3, 1, 1, count_include_pad=True), nn.Sigmoid())
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(12 * 7 * 7, 16), nn.ReLU(inplace=True), nn.Linear(16, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# (name, network, per-sample input shape, opset, fold). With fold False the
# export skips PyTorch's own Conv + BatchNorm fusion and constant folding
# (the model is in eval mode either way), so the graph keeps
# BatchNormalization nodes, which convviz must fold itself.
FIXTURE_MODELS = [
    ("resnet-blocks", ResNetBlocks, (3, 32, 32), 13, False),
    ("mobile-blocks", MobileBlocks, (3, 32, 32), 14, False),
    ("squeezenet-fire", SqueezeNetFire, (3, 32, 32), 11, True),
    ("mnist-cnn", MNISTNet, (1, 28, 28), 13, True),
    ("shuffle-unit", ShuffleUnit, (3, 32, 32), 13, True),
    ("alexnet-like", AlexNetLike, (3, 63, 63), 9, True),
]


def main() -> None:
    for index, (name, network, shape, opset, fold) in enumerate(FIXTURE_MODELS):
        torch.manual_seed(SEED + index)
        generator = torch.Generator().manual_seed(SEED + index)
        model = network()
        randomize_batch_norms(model, generator)
        model.eval()
        batch = torch.rand((BATCH,) + shape, generator=generator)
        folder = FIXTURES / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "model.onnx"
        torch.onnx.export(model, batch, str(path), opset_version=opset,
                          do_constant_folding=fold,
                          training=(torch.onnx.TrainingMode.EVAL if fold
                                    else torch.onnx.TrainingMode.PRESERVE),
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        onnx_model = onnx.load(str(path))
        onnx.checker.check_model(onnx_model, full_check=True)
        # Graph optimisations off: onnxruntime 1.19's Pad + AveragePool
        # fusion drops count_include_pad, which the reference must not.
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = onnxruntime.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
        (output,) = session.run(None, {"input": batch.numpy()})
        with torch.no_grad():
            expected = model(batch).numpy()
        np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-5)
        for file, array in (("input_0.pb", batch.numpy()), ("output_0.pb", output)):
            tensor = onnx.numpy_helper.from_array(np.ascontiguousarray(array), file[:-3])
            (folder / file).write_bytes(tensor.SerializeToString())
        ops = sorted({node.op_type for node in onnx_model.graph.node})
        size = path.stat().st_size
        assert size < 1 << 20, f"{name}: {size} bytes"
        print(f"{name}: opset {opset}, {size} bytes, input {list(batch.shape)}, "
              f"output {list(output.shape)}, ops {' '.join(ops)}")
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"onnx {onnx.__version__}")


if __name__ == "__main__":
    main()
