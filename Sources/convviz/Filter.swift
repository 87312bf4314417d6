import ArgumentParser
import Files
import ImageFilters
import Dispatch
import ImageCodecs
import Tensors

struct Filter: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Convolve images with built-in or custom kernels.",
    discussion: """
      Each kernel applied to each input writes one image, by default \
      output/<input-stem>-<kernel>.png; options that change the result (--stride, --sigma, \
      --size, --padding, ...) are added to the name, so variants never overwrite each other. \
      Inputs are PNG or JPEG files, folders of them, or one image of an MNIST IDX file written \
      mnist:PATH#INDEX, for example mnist:data/mnist/train-images-idx3-ubyte.gz#3. Images \
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

  @Option(
    parsing: .unconditional,
    help: "JPEG quality, 1–100 (default 90); only for JPEG outputs.")
  var quality: Int?

  @Option(
    help: ArgumentHelp(
      "Output encoding (default: png, or the extension of an -o file).", valueName: "format"))
  var format: ImageFormat?

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Output file when one image file and one kernel are given (.png, .jpg or .jpeg; - for "
        + "standard output), else output folder (default: output/).", valueName: "path"))
  var output: String?

  @Flag(help: "Also read the images in subfolders of folder inputs (outputs mirror them).")
  var recursive = false

  @Flag(help: "Allow an output to replace one of the input images.")
  var overwriteInput = false

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
    if let quality, !(1...100).contains(quality) {
      throw ValidationError("--quality must be between 1 and 100")
    }
    try checkEncoding()
  }

  /// `--format`, the extension of an `-o` file and `--quality` must agree.
  private func checkEncoding() throws {
    var named: ImageFormat?
    if let output, output != "-", !output.hasSuffix("/"), !Path.isDirectory(output) {
      named = ImageFormat(pathExtensionOf: output)
    }
    if let format, let named, format != named {
      throw ValidationError(
        "--format \(format.rawValue) contradicts -o \(output ?? ""), which names a \(named.name) file"
      )
    }
    let encoding = named ?? format ?? .png
    if quality != nil && encoding != .jpeg {
      throw ValidationError(
        "--quality applies to JPEG outputs, and these are \(encoding.name); "
          + "give --format jpeg or a .jpg name, or drop --quality")
    }
  }

  func run() throws {
    threads.apply()
    let operations = try (kernel.isEmpty ? ["edges"] : kernel).map(resolveKernel)
    var listing = InputImage.FolderListing()
    listing.recursive = recursive
    listing.recursiveOption = "--recursive"
    listing.outputNames = OutputNames(kernelFileStems: operations.compactMap(\.fileStem))
    let sources = try InputImage.expand(inputs, listing: listing)
    let single = inputs.count == 1 && !Path.isDirectory(inputs[0]) && operations.count == 1
    let plan = try OutputPlan(
      output: output, format: format, sources: sources, operationNames: operations.map(\.name),
      single: single)
    let readFiles =
      sources.map { NamedPath(role: "the input", path: $0.file) }
      + operations.compactMap { $0.file.map { NamedPath(role: "the kernel file", path: $0) } }
    try NamedPath.refuseCollisions(
      outputs: plan.files.map { NamedPath(role: "the output", path: $0) },
      inputs: overwriteInput ? [] : readFiles,
      inputOverride: "--overwrite-input")
    try plan.prepare()

    let work = FilterWork(
      operations: operations, options: filterOptions(), decodeOptions: decoding.decodeOptions,
      encodeOptions: EncodeOptions(quality: quality ?? 90), gray: gray, timings: timings,
      plan: plan, budget: memory.budget)
    let report = OrderedReport(count: sources.count)
    let progress = ProgressBar(label: "filtering", total: sources.count, minimumSteps: 4)
    DispatchQueue.concurrentPerform(iterations: sources.count) { i in
      report.finish(i, work.process(sources[i], index: i))
      progress.advance()
    }
    progress.finish()
    if report.failures > 0 {
      throw CommandFailure.summary(failed: report.failures, of: sources.count, noun: "input")
    }
  }

  private func filterOptions() -> FilterOptions {
    FilterOptions(
      stride: AxisPair(x: strideX ?? stride ?? 1, y: strideY ?? stride ?? 1),
      dilation: AxisPair(dilation), padding: padding, border: border,
      range: range, scale: scale, bias: bias)
  }
}
