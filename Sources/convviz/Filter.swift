import ArgumentParser
import AtomicFiles
import Convolution
import Dispatch
import Foundation
import ImageCodecs

struct Filter: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Convolve images with built-in or custom kernels.",
    discussion: """
      Each kernel applied to each input writes one image, by default \
      output/<input-stem>-<kernel>.png. Inputs are PNG or JPEG files, folders of \
      them, or one image of an MNIST IDX file written mnist:PATH#INDEX, for example \
      mnist:data/mnist/train-images-idx3-ubyte.gz#3. Several inputs are processed in parallel on all cores.
      """)

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "A built-in kernel name, a matrix like '1,0,-1;2,0,-2;1,0,-1', or a file holding one.",
      discussion: "Repeat to write one output per kernel. `convviz kernels` lists the names.",
      valueName: "kernel"))
  var kernel: [String] = []

  @Option(help: "Standard deviation of the gaussian kernel, in pixels.")
  var sigma: Double = 1

  @Option(help: "Width and height of the gaussian and box kernels (default: 2*ceil(3*sigma)+1 and 3).")
  var size: Int?

  @Option(help: "Multiply each convolution result by this factor.")
  var scale: Float = 1

  @Option(help: "Add this to each result after scaling.")
  var bias: Float = 0

  @Option(help: "Step between kernel positions, on both axes.")
  var stride: Int?

  @Option(name: .customLong("stride-x"), help: "Horizontal step (overrides --stride).")
  var strideX: Int?

  @Option(name: .customLong("stride-y"), help: "Vertical step (overrides --stride).")
  var strideY: Int?

  @Option(help: "Spacing between kernel taps (1: a dense kernel).")
  var dilation: Int = 1

  @Option(help: "valid: no padding, so a 3×3 kernel turns W×H into (W−2)×(H−2); same: keep W×H at stride 1; N: N pixels on every side.")
  var padding: PaddingChoice = .valid

  @Option(help: "Value of pixels outside the image (reflect mirrors without repeating the edge).")
  var border: Border = .zero

  @Option(help: "How results become pixels: clamp (cut to 0..255), normalize (min..max onto 0..255), abs (|v|, then cut).")
  var range: RangeMode = .clamp

  @Flag(help: "Convert colour images to gray (ITU-R 601 luma) before filtering.")
  var gray = false

  @OptionGroup var decoding: DecodingOptions
  @OptionGroup var threads: ThreadOptions

  @Option(help: "JPEG quality for .jpg outputs, 1–100.")
  var quality: Int = 90

  @Option(help: "Output format when -o names a folder.")
  var format: OutputFormat = .png

  @Option(
    name: .shortAndLong,
    help: "Output file (one input and one kernel) or folder (default: output/).")
  var output: String?

  @Flag(help: "Print the time spent decoding, filtering and encoding to stderr.")
  var timings = false

  @Argument(help: "PNG or JPEG files, folders of them, or mnist:PATH#INDEX.")
  var inputs: [String] = []

  func validate() throws {
    if inputs.isEmpty { throw ValidationError("give at least one input image") }
    for (name, value) in [("--stride", stride), ("--stride-x", strideX), ("--stride-y", strideY)] {
      if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
    }
    if dilation < 1 { throw ValidationError("--dilation must be at least 1") }
    if let size, size < 1 { throw ValidationError("--size must be at least 1") }
    if !(sigma > 0) { throw ValidationError("--sigma must be greater than 0") }
    if !(1...100).contains(quality) { throw ValidationError("--quality must be between 1 and 100") }
    if case .pixels(let n) = padding, n < 0 { throw ValidationError("--padding must be valid, same or a number ≥ 0") }
  }

  func run() throws {
    threads.apply()
    let operations = try (kernel.isEmpty ? ["edges"] : kernel).map(resolveKernel)
    let sources = try InputImage.expand(inputs)
    let options = filterOptions()
    let destinations = try OutputPlan(
      output: output, sources: sources, operations: operations.map(\.name), format: format)

    if sources.count == 1 {
      try process(sources[0], index: 0, operations: operations, options: options, plan: destinations)
      return
    }
    let progress = ProgressLine(total: sources.count, label: "filtering")
    let failures = FailureList()
    DispatchQueue.concurrentPerform(iterations: sources.count) { i in
      do {
        try process(sources[i], index: i, operations: operations, options: options, plan: destinations)
      } catch {
        failures.append("\(error)")
      }
      progress.advance()
    }
    progress.finish()
    let messages = failures.all
    for message in messages.dropLast() { Terminal.error(message) }
    if let last = messages.last {
      throw CommandFailure(
        messages.count == 1 ? last : "\(last) (\(messages.count) of \(sources.count) inputs failed)")
    }
  }

  private func process(
    _ source: InputImage, index: Int, operations: [NamedOperation], options: FilterOptions,
    plan: OutputPlan
  ) throws {
    var clock = Stopwatch()
    var image = try source.load(options: decoding.decodeOptions)
    if gray { image = image.converted(to: image.layout.hasAlpha ? .grayAlpha : .gray) }
    let decodeTime = clock.lap()
    for (position, operation) in operations.enumerated() {
      let geometry: FilterGeometry
      do {
        geometry = try FilterGeometry(operation: operation.operation, image: image, options: options)
      } catch {
        throw CommandFailure("\(source.path): \(error)")
      }
      if !geometry.strideDividesEvenly {
        let dropped = geometry.droppedPixels
        Terminal.warn(
          "\(source.path): stride \(options.stride) does not divide the padded size; the last "
            + "\(dropped.x) column(s) and \(dropped.y) row(s) are dropped (floor, as Keras does)")
      }
      _ = clock.lap()
      let filtered = try Convolution.apply(operation.operation, to: image, options: options)
      let filterTime = clock.lap()
      // Past the last kernel the source is not needed: let it go before
      // encoding, so that a huge image is held at most twice at once.
      if position == operations.count - 1 {
        image = Image(width: 0, height: 0, layout: .gray, samples: [])
      }
      let destination = plan.path(for: source, operation: operation.name, index: index)
      var encodeTime = 0.0
      try ImageFile.withEncoded(
        filtered, as: plan.format(of: destination), options: EncodeOptions(quality: quality)
      ) { bytes in
        encodeTime = clock.lap()
        try AtomicFile.write(bytes, to: destination)
      }
      let writeTime = clock.lap()
      if timings {
        Terminal.toStandardError(
          """
          timing decode \(format(decodeTime)) ms
          timing filter \(format(filterTime)) ms
          timing encode \(format(encodeTime)) ms
          timing write \(format(writeTime)) ms

          """)
      }
      Terminal.say("wrote \(destination) (\(filtered.width)×\(filtered.height), \(operation.name))")
    }
  }

  private func format(_ milliseconds: Double) -> String {
    String(format: "%.2f", milliseconds)
  }

  private func resolveKernel(_ text: String) throws -> NamedOperation {
    if let builtin = BuiltinKernel(rawValue: text) {
      let operation = try builtin.operation(sigma: sigma, size: size)
      return NamedOperation(name: builtin.rawValue, operation: operation)
    }
    if FileManager.default.fileExists(atPath: text) {
      let contents: String
      do {
        contents = try String(contentsOfFile: text, encoding: .utf8)
      } catch {
        throw CommandFailure("\(text): cannot read kernel file")
      }
      do {
        let kernel = try Kernel.parse(contents)
        let name = ((text as NSString).lastPathComponent as NSString).deletingPathExtension
        return NamedOperation(name: name, operation: .kernel(kernel))
      } catch {
        throw CommandFailure("\(text): \(error)")
      }
    }
    if text.contains(",") || text.contains(";") || Float(text) != nil {
      do {
        return NamedOperation(name: "custom", operation: .kernel(try Kernel.parse(text)))
      } catch {
        throw CommandFailure("--kernel '\(text)': \(error)")
      }
    }
    let names = BuiltinKernel.allCases.map(\.rawValue).joined(separator: ", ")
    throw CommandFailure(
      "--kernel '\(text)' is not a built-in kernel, a matrix or a file; built-in kernels: \(names)")
  }

  private func filterOptions() -> FilterOptions {
    FilterOptions(
      stride: AxisPair(x: strideX ?? stride ?? 1, y: strideY ?? stride ?? 1),
      dilation: AxisPair(dilation), padding: padding.padding, border: border,
      range: range, scale: scale, bias: bias)
  }
}

/// A kernel with the name its outputs carry.
struct NamedOperation {
  var name: String
  var operation: FilterOperation
}
