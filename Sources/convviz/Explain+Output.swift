import ArgumentParser
import Datasets
import Engine
import Explain
import Files
import ImageCodecs
import ModelFormats
import Tensors
import Visualization

/// Where `explain` writes, checked before any work, and the pictures it writes.
extension ExplainCommand {
  /// The names written for one input, method and class.
  func outputStem(_ input: InputImage, _ method: Method, suffix: String) -> String {
    Path.join(Path.join(output, input.subfolder), "\(input.stem)-\(method.rawValue)-\(suffix)")
  }

  /// The side-by-side picture of several classes or methods:
  /// `STEM-METHOD-classes.png` for one method, `STEM-explain.png` for
  /// several; nil for one picture.
  func gridPath(_ input: InputImage, classCount: Int) -> String? {
    if methods.count > 1 {
      return Path.join(Path.join(output, input.subfolder), "\(input.stem)-explain.png")
    }
    return classCount > 1 ? outputStem(input, methods[0], suffix: "classes") + ".png" : nil
  }

  /// Rows of pictures stacked, each row side by side.
  static func grid(_ rows: [[Picture]]) -> Image {
    let images = rows.map { Canvas.row($0).image }
    var canvas = Canvas(
      width: images.map(\.width).max() ?? 1, height: images.map(\.height).reduce(0, +))
    var y = 0
    for image in images {
      canvas.draw(image, x: 0, y: y)
      y += image.height
    }
    return canvas.image
  }

  /// Refuses outputs that collide with each other or replace an input,
  /// then creates the folders, before any work.
  func prepareOutputs(_ inputs: [InputImage], classCount: Int, fixedClass: Int?) throws {
    // With --top the classes are known only per image; names with "top"
    // rank placeholders stand in for the collision check between images.
    let tags = fixedClass.map { ["\($0)"] } ?? (0..<classCount).map { "#\($0)" }
    var outputs: [NamedPath] = []
    for input in inputs {
      for method in methods {
        for tag in tags {
          let stem = outputStem(input, method, suffix: "class" + tag)
          outputs += [".png", ".npy"].map { NamedPath(role: "the output", path: stem + $0) }
        }
      }
      if let grid = gridPath(input, classCount: tags.count) {
        outputs.append(NamedPath(role: "the output", path: grid))
      }
    }
    try NamedPath.refuseCollisions(
      outputs: outputs,
      inputs: [NamedPath(role: "the model", path: model)]
        + inputs.map { NamedPath(role: "the image", path: $0.file) }
        + (baseline.map { [NamedPath(role: "the baseline", path: $0)] } ?? []))
    for folder in Set(inputs.map { Path.join(output, $0.subfolder) }) {
      try Folder.create(folder)
    }
  }

  /// Writes one class's picture and map; returns the picture for the
  /// side-by-side one of several classes.
  func write(
    _ attribution: Attribution, method: Method, input: InputImage, tensor: Tensor,
    layer: String?, className: String
  ) throws -> Picture {
    let stem = outputStem(input, method, suffix: "class\(attribution.classIndex)")
    let (height, width) = (attribution.map.shape[0], attribution.map.shape[1])
    let signed = method == .integratedGradients || method == .occlusion
    let colours = colormap ?? (signed ? .diverging : .viridis)
    let at = layer.map { " at \($0)" } ?? ""
    let picture = AttributionOverlay.picture(
      photo: ImageTensor.image(from: tensor), map: attribution.map, colorMap: colours,
      alpha: alpha, title: Terminal.escaped(input.stem),
      caption:
        "\(Terminal.escaped(className)) p=\(TextFormat.fixed(Double(attribution.probability), 3))"
        + " \(method.rawValue)\(at)")
    if let baselineScore = attribution.baselineScore {
      let total = attribution.map.storage.reduce(0, +)
      let difference = attribution.score - baselineScore
      Terminal.note(
        "\(input.path): class \(attribution.classIndex): attributions sum to "
          + "\(TextFormat.fixed(Double(total), 4)), score − baseline score "
          + "\(TextFormat.fixed(Double(difference), 4)) (more --steps narrow the gap)")
    }
    try PictureFile.write(picture.image, to: stem + ".png")
    try NumPyFile.write(shape: [height, width], values: attribution.map.storage, to: stem + ".npy")
    Terminal.say("wrote \(stem).png")
    Terminal.say("wrote \(stem).npy")
    return picture
  }
}
