import ArgumentParser
import ModelFormats
import Tensors

/// The axis order of an `.npy` input tensor.
enum TensorLayout: String, ExpressibleByArgument, CaseIterable {
  /// (N, height, width, channels): Keras, NumPy images.
  case nhwc
  /// (N, channels, height, width): PyTorch, ONNX.
  case nchw
}

/// `--layout`, for `predict` and `evaluate` with `.npy` inputs.
struct TensorLayoutOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Axis order of .npy inputs (default: nchw for ONNX models, as PyTorch feeds them; "
        + "nhwc for convviz's own models).", valueName: "layout"))
  var layout: TensorLayout?

  /// `--layout`, else the layout the model's framework uses.
  func layout(for model: LoadedModel) -> TensorLayout {
    if let layout { return layout }
    if case .onnx = model.source { return .nchw }
    return .nhwc
  }
}

/// Input tensors and labels read from NumPy `.npy` files, fed to a model
/// exactly as given: no resizing, no scaling, no mean or std (float32,
/// float64 or uint8 values, uint8 as 0…255).
enum NumPyInput {
  /// Whether `path` names an `.npy` file (by its extension).
  static func names(_ path: String) -> Bool { path.lowercased().hasSuffix(".npy") }

  /// The samples of `path` as the engine's (N, C, H, W) batch for `model`
  /// (or (N, F) for a model taking flat features); the file must be
  /// (N, H, W, C) or (N, C, H, W) as `layout` says, sized as the model's input.
  static func samples(
    _ path: String, model: LoadedModel, layout: TensorLayout, memory: MemoryOptions
  ) throws -> Tensor {
    let array = try NumPyFile.read(path, maximumBytes: memory.budget.bytes)
    guard array.dtype == .float32 || array.dtype == .float64 || array.dtype == .uint8 else {
      throw CommandFailure(
        "\(path): dtype \(array.dtype.name) is not an input type; save float32, float64 or "
          + "uint8 values")
    }
    try memory.check(.floats(array.count) * 2, for: "\(path): reading the inputs")
    let shape = array.shape
    switch model.input {
    case .image(let h, let w, let c):
      let expected = layout == .nchw ? [c, h, w] : [h, w, c]
      guard shape.count == 4, Array(shape[1...]) == expected, shape[0] >= 1 else {
        let axes = layout == .nchw ? "N, C, H, W" : "N, H, W, C"
        throw CommandFailure(
          "\(path): shape \(describe(shape)) does not fit the model's input: expected "
            + "(N, \(expected.map(String.init).joined(separator: ", "))), axes \(axes) "
            + "(--layout \(layout.rawValue))")
      }
      let values = array.floats
      let n = shape[0]
      guard layout == .nhwc else { return Tensor(shape: Shape(n, c, h, w), storage: values) }
      var planes = [Float](repeating: 0, count: values.count)
      for s in 0..<n {
        for y in 0..<h {
          for x in 0..<w {
            for k in 0..<c {
              planes[((s * c + k) * h + y) * w + x] = values[((s * h + y) * w + x) * c + k]
            }
          }
        }
      }
      return Tensor(shape: Shape(n, c, h, w), storage: planes)
    case .flat(let features):
      guard shape.count == 2, shape[1] == features, shape[0] >= 1 else {
        throw CommandFailure(
          "\(path): shape \(describe(shape)) does not fit the model's input: expected "
            + "(N, \(features))")
      }
      return Tensor(shape: Shape(shape[0], features), storage: array.floats)
    }
  }

  /// The class labels in `path`: a vector of `count` integers, each a
  /// class index below `classCount`.
  static func labels(
    _ path: String, count: Int, classCount: Int, memory: MemoryOptions
  ) throws -> [Int] {
    let array = try NumPyFile.read(path, maximumBytes: memory.budget.bytes)
    guard let labels = array.integers else {
      throw CommandFailure(
        "\(path): dtype \(array.dtype.name) is not an integer type; save the labels as "
          + "int64 (or another integer type)")
    }
    guard array.shape.count == 1 else {
      throw CommandFailure(
        "\(path): shape \(describe(array.shape)) is not a vector of class labels")
    }
    guard labels.count == count else {
      throw CommandFailure(
        "\(path): \(labels.count) labels for \(count) input samples")
    }
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
      throw CommandFailure(
        "\(path): label \(labels[bad]) (sample \(bad)) is not a class of the model, "
          + "0…\(classCount - 1)")
    }
    return labels
  }

  /// `(2, 28, 28, 1)`, as NumPy prints a shape.
  static func describe(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
  }
}
