import ArgumentParser
import ImageFilters
import Tensors

/// `convviz pool`: the chapter's pooling applied to images.
struct PoolCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pool",
    abstract: "Pool images: the max, mean or L2 norm of each window, per channel.",
    discussion: """
      Each input writes one image, by default output/<input-stem>-pool-<mode>-<size>.png, with \
      --stride and --padding added to the name when given. Every channel, alpha included, is \
      pooled on its own; 16-bit images stay 16-bit. average and l2 (sqrt of the mean of \
      squares, the Engine's L2 pooling) are rounded to the nearest integer, ties to even. \
      Padded cells never count. The output size is O = ⌊(I − F + P)/S⌋ + 1, the formula of \
      filter and of the network's pooling layers. Inputs are as for filter: PNG, JPEG or PNM \
      files, folders of them, or mnist:PATH#INDEX.

      \(OutputRule.text)
      """)

  @Option(help: "How each window is reduced: max, average, or l2 (sqrt of the mean of squares).")
  var mode: PoolMode = .max

  @Option(parsing: .unconditional, help: "Width and height of the window.")
  var size: Int = 2

  @Option(parsing: .unconditional, help: "Step between windows (default: the window size).")
  var stride: Int?

  @Option(
    help:
      "valid: only whole windows; same: ⌈W/S⌉×⌈H/S⌉, windows past the edge reduce what they hold.",
    transform: PoolCommand.parsePadding)
  var padding: Padding = .valid

  @Flag(help: "Convert colour images to gray (ITU-R 601 luma) before pooling.")
  var gray = false

  @OptionGroup var decoding: DecodingOptions
  @OptionGroup var threads: ThreadOptions
  @OptionGroup var memory: MemoryOptions
  @OptionGroup var batch: ImageBatchOptions

  func validate() throws {
    if size < 1 { throw ValidationError("--size must be at least 1") }
    if let stride, stride < 1 { throw ValidationError("--stride must be at least 1") }
  }

  @Sendable static func parsePadding(_ argument: String) throws -> Padding {
    switch argument {
    case "valid": return .valid
    case "same": return .same
    default: throw ValidationError("give valid or same")
    }
  }

  /// `pool-max-2`, `pool-average-3-stride2-same-gray`.
  var stepName: String {
    var parts = ["pool", mode.rawValue, "\(size)"]
    if let stride, stride != size { parts.append("stride\(stride)") }
    if padding == .same { parts.append("same") }
    if gray { parts.append("gray") }
    return parts.joined(separator: "-")
  }

  var poolOptions: PoolOptions {
    PoolOptions(size: AxisPair(size), stride: stride.map { AxisPair($0) }, padding: padding)
  }

  func run() throws {
    threads.apply()
    let (options, mode) = (poolOptions, self.mode)
    let step = ImageStep(
      name: stepName, file: nil,
      geometry: { image throws(FilterError) in try options.geometry(for: image) },
      scratchBytes: { _, _ in 0 },
      apply: { image, buffers in
        try ImageFilters.pool(image, mode: mode, options: options, buffers: buffers)
      },
      stream: { width, height, layout, depth throws(FilterError) in
        try StreamingPipeline(
          step: .pool(mode, options), width: width, height: height, layout: layout,
          bitDepth: depth)
      })
    let run = ImageBatch(
      options: batch, decodeOptions: decoding.decodeOptions, budget: memory.budget, gray: gray,
      stage: "pool", progressLabel: "pooling")
    try run.run([step])
  }
}

extension PoolMode: ExpressibleByArgument {}
