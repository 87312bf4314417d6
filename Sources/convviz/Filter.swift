import ArgumentParser
import Files
import ImageFilters
import Tensors

struct Filter: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "filter",
    abstract: "Convolve images with built-in or custom kernels.",
    discussion: """
      Each kernel applied to each input writes one image, by default \
      output/<input-stem>-<kernel>.png; options that change the result (--stride, --sigma, \
      --size, --padding, ...) are added to the name, so variants never overwrite each other. \
      Inputs are PNG, JPEG or PNM files, folders of them, or one image of an MNIST IDX file \
      written mnist:PATH#INDEX, for example mnist:data/mnist/train-images-idx3-ubyte.gz#3. Images \
      that convviz wrote from another image of the same folder are skipped, with a note. \
      Several inputs are processed in parallel on all cores; lines are printed in input order.

      \(OutputRule.text)
      """)

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "A built-in kernel name, a matrix like '1,0,-1;2,0,-2;1,0,-1', or a file holding one.",
      discussion: "Repeat to write one output per kernel. `convviz kernels` lists the names.",
      valueName: "kernel"))
  var kernel: [String] = []

  @Option(parsing: .unconditional, help: "Standard deviation of the gaussian kernel, in pixels.")
  var sigma: Double = 1

  @Option(
    parsing: .unconditional,
    help: "Width and height of the gaussian and box kernels (default: 2*ceil(3*sigma)+1 and 3).")
  var size: Int?

  @Option(parsing: .unconditional, help: "Multiply each convolution result by this factor.")
  var scale: Float = 1

  @Option(parsing: .unconditional, help: "Add this to each result after scaling.")
  var bias: Float = 0

  @Option(parsing: .unconditional, help: "Step between kernel positions, on both axes.")
  var stride: Int?

  @Option(
    name: .customLong("stride-x"), parsing: .unconditional,
    help: "Horizontal step (overrides --stride).")
  var strideX: Int?

  @Option(
    name: .customLong("stride-y"), parsing: .unconditional,
    help: "Vertical step (overrides --stride).")
  var strideY: Int?

  @Option(parsing: .unconditional, help: "Spacing between kernel taps (1: a dense kernel).")
  var dilation: Int = 1

  @Option(
    parsing: .unconditional,
    help:
      "valid: no padding, so a 3×3 kernel turns W×H into (W−2)×(H−2); same: keep W×H at stride 1; N: N pixels on every side.",
    transform: Padding.parse)
  var padding: Padding = .valid

  @Option(help: "Value of pixels outside the image (reflect mirrors without repeating the edge).")
  var border: Border = .zero

  @Option(
    help:
      "How results become pixels: clamp (cut to 0..255), normalize (min..max onto 0..255), abs (|v|, then cut)."
  )
  var range: RangeMode = .clamp

  @Flag(help: "Convert colour images to gray (ITU-R 601 luma) before filtering.")
  var gray = false

  @OptionGroup var decoding: DecodingOptions
  @OptionGroup var threads: ThreadOptions

  @OptionGroup var memory: MemoryOptions

  @OptionGroup var batch: ImageBatchOptions

  func validate() throws {
    for (name, value) in [("--stride", stride), ("--stride-x", strideX), ("--stride-y", strideY)] {
      if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
    }
    if dilation < 1 { throw ValidationError("--dilation must be at least 1") }
    if let size, size < 1 { throw ValidationError("--size must be at least 1") }
    if !(sigma > 0) { throw ValidationError("--sigma must be greater than 0") }
  }

  func run() throws {
    threads.apply()
    let operations = try (kernel.isEmpty ? ["edges"] : kernel).map(resolveKernel)
    let options = filterOptions()
    let steps = operations.map { named in
      ImageStep(
        name: named.name, file: named.file,
        geometry: { image throws(FilterError) in
          try FilterGeometry(operation: named.operation, image: image, options: options)
        },
        scratchBytes: { geometry, image in
          geometry.scratchBytes(
            colourChannels: image.layout.hasAlpha ? image.channels - 1 : image.channels)
        },
        apply: { image, buffers in
          try ImageFilters.apply(named.operation, to: image, options: options, buffers: buffers)
        },
        stream: { width, height, layout, depth throws(FilterError) in
          try StreamingPipeline(
            step: .filter(named.operation, options), width: width, height: height,
            layout: layout, bitDepth: depth)
        })
    }
    let run = ImageBatch(
      options: batch, decodeOptions: decoding.decodeOptions, budget: memory.budget, gray: gray,
      stage: "filter", progressLabel: "filtering")
    try run.run(steps)
  }

  private func filterOptions() -> FilterOptions {
    FilterOptions(
      stride: AxisPair(x: strideX ?? stride ?? 1, y: strideY ?? stride ?? 1),
      dilation: AxisPair(dilation), padding: padding, border: border,
      range: range, scale: scale, bias: bias)
  }
}
