import Files
import Dispatch
import ImageCodecs
import Tensors

/// The run of `filter` or `pool`: expand the inputs, plan every output,
/// refuse collisions, then process the inputs in parallel, printing in
/// input order.
struct ImageBatch {
  var options: ImageBatchOptions
  var decodeOptions: DecodeOptions
  var budget: MemoryBudget
  var gray: Bool
  /// `filter`, `pool`: the `--timings` stage and the progress bar's verb.
  var stage: String
  var progressLabel: String

  func run(_ steps: [ImageStep]) throws {
    var listing = InputImage.FolderListing()
    listing.recursive = options.recursive
    listing.recursiveOption = "--recursive"
    listing.outputNames = OutputNames(kernelFileStems: steps.compactMap(\.fileStem))
    let inputs = options.inputs
    let sources = try InputImage.expand(inputs, listing: listing)
    let single = inputs.count == 1 && !Path.isDirectory(inputs[0]) && steps.count == 1
    let plan = try OutputPlan(
      output: options.output, format: options.format, sources: sources,
      operationNames: steps.map(\.name), single: single)
    let readFiles =
      sources.map { NamedPath(role: "the input", path: $0.file) }
      + steps.compactMap { $0.file.map { NamedPath(role: "the kernel file", path: $0) } }
    try NamedPath.refuseCollisions(
      outputs: plan.files.map { NamedPath(role: "the output", path: $0) },
      inputs: options.overwriteInput ? [] : readFiles,
      inputOverride: "--overwrite-input")
    try plan.prepare()

    let work = ImageWork(
      steps: steps, stage: stage, decodeOptions: decodeOptions,
      encodeOptions: options.encodeOptions, gray: gray, timings: options.timings, plan: plan,
      budget: budget)
    let report = OrderedReport(count: sources.count)
    let progress = ProgressBar(label: progressLabel, total: sources.count, minimumSteps: 4)
    DispatchQueue.concurrentPerform(iterations: sources.count) { i in
      report.finish(i, work.process(sources[i], index: i))
      progress.advance()
    }
    progress.finish()
    if report.failures > 0 {
      throw CommandFailure.summary(failed: report.failures, of: sources.count, noun: "input")
    }
  }
}
