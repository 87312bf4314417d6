/// Built-in architectures, by the names `convviz train --model` accepts.
public enum Preset: String, CaseIterable, Sendable {
  /// The seed's final MNIST network; 933,378 parameters.
  case mnistCNN = "mnist-cnn"
  /// The chapter's fully connected baseline, Keras's classic mnist_mlp.
  case mnistMLP = "mnist-mlp"
  /// Keras's classic cifar10_cnn example.
  case cifarCNN = "cifar-cnn"
  /// VGG16 (Simonyan and Zisserman 2014) at 224×224×3; 138,357,544 parameters.
  case vgg16

  /// The preset in the spec text format, as docs/model-spec.md shows it.
  public var specText: String {
    switch self {
    case .mnistCNN:
      return """
        input 28 28 1
        conv2d 32 3 relu
        conv2d 32 3 relu
        maxpool2d 2
        dropout 0.25
        flatten
        dense 200 relu
        dense 10 softmax

        """
    case .mnistMLP:
      return """
        input 28 28 1
        flatten
        dense 512 relu
        dropout 0.2
        dense 512 relu
        dropout 0.2
        dense 10 softmax

        """
    case .cifarCNN:
      return """
        input 32 32 3
        conv2d 32 3 relu padding=same
        conv2d 32 3 relu
        maxpool2d 2
        dropout 0.25
        conv2d 64 3 relu padding=same
        conv2d 64 3 relu
        maxpool2d 2
        dropout 0.25
        flatten
        dense 512 relu
        dropout 0.5
        dense 10 softmax

        """
    case .vgg16:
      var lines = ["input 224 224 3"]
      for (filters, convs) in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)] {
        for _ in 0..<convs { lines.append("conv2d \(filters) 3 relu padding=same") }
        lines.append("maxpool2d 2")
      }
      lines += ["flatten", "dense 4096 relu", "dense 4096 relu", "dense 1000 softmax"]
      return lines.joined(separator: "\n") + "\n"
    }
  }

  /// The parsed preset.
  public var spec: ModelSpec {
    do {
      return try ModelSpec.parse(specText)
    } catch {
      preconditionFailure("preset \(rawValue) does not parse: \(error)")
    }
  }
}
