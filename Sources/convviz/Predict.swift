import ArgumentParser
import Engine
import ModelFormats
import Training
import Datasets
import ImageCodecs
import Tensors

/// `convviz predict model.bin IMAGE...`: the most likely classes of each image.
struct Predict: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Classify images with a trained model and print the top classes.",
    discussion: """
      Each IMAGE is a PNG or JPEG file, a folder of them, or one image of an MNIST IDX \
      file written mnist:PATH#INDEX (0-based). Images must have the model's input size; colour and gray \
      are converted to the model's channels. Prints one line per image: its top classes \
      with their probabilities, most likely first.
      """)

  @Argument(help: ArgumentHelp("A model file written by `convviz train`.", valueName: "model"))
  var model: String

  @Argument(
    help: ArgumentHelp(
      "PNG or JPEG files, folders of them, or mnist:PATH#INDEX.", valueName: "image"))
  var images: [String]

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("How many classes to show per image.", valueName: "k"))
  var top = 3

  func validate() throws {
    guard !images.isEmpty else { throw ValidationError("give at least one image") }
    guard top >= 1 else { throw ValidationError("--top must be at least 1") }
  }

  func run() throws {
    let file = try ModelFile.read(from: model)
    guard case .image(let height, let width, let channels) = file.spec.input,
      channels == 1 || channels == 3
    else {
      throw CommandFailure("\(model): the model does not take 1- or 3-channel images")
    }
    let inputs = try InputImage.expand(images)
    var samples: [Float] = []
    for input in inputs {
      let image = try input.load(options: .default)
      guard image.width == width, image.height == height else {
        throw CommandFailure(
          "\(input.path): image is \(image.width)×\(image.height) but the model takes "
            + "\(width)×\(height) images")
      }
      samples += PixelConversion.planes(of: image, channels: channels)
    }
    var network = file.spec.makeModel(parameters: file.parameters)
    let output = network.predict(
      Tensor(shape: Shape(inputs.count, channels, height, width), storage: samples))
    let classes = output.count / inputs.count
    let names =
      file.metadata.classNames.count == classes
      ? file.metadata.classNames : (0..<classes).map(String.init)
    for (i, input) in inputs.enumerated() {
      let scores = Array(output.storage[(i * classes)..<((i + 1) * classes)])
      Terminal.say(input.path + ": " + Self.topClasses(scores, names: names, k: top))
    }
  }

  /// `7 0.9981  2 0.0012  3 0.0004`: the `k` best classes, ties by index.
  static func topClasses(_ scores: [Float], names: [String], k: Int) -> String {
    let ranked = scores.indices.sorted {
      scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1)
    }
    return ranked.prefix(k).map { "\(names[$0]) \(TextFormat.fixed(Double(scores[$0]), 4))" }
      .joined(separator: "  ")
  }
}
