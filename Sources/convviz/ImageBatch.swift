import Files
import Dispatch
import ImageCodecs
import Synchronization
import Tensors
import _Runtime

/// The run of `filter` or `pool`: gather the inputs (arguments, then
/// `--from-list`), plan every output, take this `--shard`'s part, refuse
/// collisions, then process the inputs in parallel, printing in input order.
struct ImageBatch {
  var options: ImageBatchOptions
  var decodeOptions: DecodeOptions
  var budget: MemoryBudget
  var gray: Bool
  /// `filter`, `pool`: the `--timings` stage and the summary's verb.
  var stage: String
  var progressLabel: String

  func run(_ steps: [ImageStep]) throws {
    let clock = ContinuousClock.now
    var listing = InputImage.FolderListing()
    listing.recursive = options.recursive
    listing.recursiveOption = "--recursive"
    listing.outputNames = OutputNames(kernelFileStems: steps.compactMap(\.fileStem))
    let arguments = try options.inputs + (options.fromList.map(InputList.read) ?? [])
    let all = try InputImage.expand(arguments, listing: listing)
    let single =
      options.fromList == nil && arguments.count == 1 && !Path.isDirectory(arguments[0])
      && steps.count == 1
    let wholePlan = try OutputPlan(
      output: options.output, format: options.format, sources: all,
      operationNames: steps.map(\.name), single: single)
    let positions =
      options.shard.map { Array($0.positions(among: all.count)) } ?? Array(all.indices)
    let sources = positions.map { all[$0] }
    let plan = wholePlan.selecting(positions)
    let readFiles =
      sources.map { NamedPath(role: "the input", path: $0.file) }
      + steps.compactMap { $0.file.map { NamedPath(role: "the kernel file", path: $0) } }
    try NamedPath.refuseCollisions(
      outputs: plan.files.map { NamedPath(role: "the output", path: $0) },
      inputs: options.overwriteInput ? [] : readFiles,
      inputOverride: "--overwrite-input")
    try plan.prepare()

    var encodeOptions = options.encodeOptions
    // One --jpeg-dct for both sides of the command.
    encodeOptions.jpegDCT = decodeOptions.jpegDCT
    let work = ImageWork(
      steps: steps, stage: stage, decodeOptions: decodeOptions,
      encodeOptions: encodeOptions, gray: gray, timings: options.timings, plan: plan,
      budget: budget,
      // An input and an output for each image in flight (one per core).
      buffers: SampleBuffers(capacity: 2 * max(2, Int(cvz_threads()))))
    let report = OrderedReport(count: sources.count)
    let progress = ProgressBar(label: progressLabel, total: sources.count, minimumSteps: 4)
    let failFast = options.errorPolicy == .failFast
    let skipped = Mutex(0)
    DispatchQueue.concurrentPerform(iterations: sources.count) { i in
      if failFast && report.failures > 0 {
        skipped.withLock { $0 += 1 }
        report.finish(i, [])
      } else {
        report.finish(i, work.process(sources[i], index: i))
      }
      progress.advance()
    }
    progress.finish()
    let notRun = skipped.withLock { $0 }
    if !progress.isDrawn && (sources.count > 1 || options.shard != nil) {
      Terminal.note(
        summary(
          total: all.count, done: sources.count - notRun, failed: report.failures,
          skipped: notRun, seconds: seconds(since: clock)))
    }
    if failFast && report.failures > 0 {
      throw CommandFailure(
        "stopped at the first failed input (--fail-fast); \(notRun) of "
          + "\(plural(sources.count, "input")) not processed")
    }
    if report.failures > 0 {
      throw CommandFailure.summary(failed: report.failures, of: sources.count, noun: "input")
    }
  }

  /// `pool: 3 inputs in 0.8 s, 2 succeeded, 1 failed`, with the shard:
  /// `filter shard 2/4: 250 of 1000 inputs in 12.3 s, 250 succeeded, 0 failed`.
  private func summary(
    total: Int, done: Int, failed: Int, skipped: Int, seconds: Double
  )
    -> String
  {
    let count = done + skipped
    let what =
      options.shard.map { "\(stage) shard \($0): \(count) of \(plural(total, "input"))" }
      ?? "\(stage): \(plural(count, "input"))"
    var text =
      "\(what) in \(TextFormat.fixed(seconds, 1)) s, \(done - failed) succeeded, \(failed) failed"
    if skipped > 0 { text += ", \(skipped) not run" }
    return text
  }

  private func seconds(since start: ContinuousClock.Instant) -> Double {
    let (s, attoseconds) = (ContinuousClock.now - start).components
    return Double(s) + Double(attoseconds) * 1e-18
  }
}
