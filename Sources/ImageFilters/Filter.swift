import ImageCodecs
import _FilterKernels
import _Runtime

/// Filters `image` with `operation`: colour channels one by one, alpha kept.
///
/// - Output: `FilterGeometry`'s size, the input's layout and bit depth.
/// - Alpha: each output pixel takes the alpha of the input pixel under the
///   kernel's anchor (row/column (F−1)/2), clamped into the image, so it is
///   resampled by stride and never blurred.
/// - Gray conversion is the caller's (ImageCodecs), before filtering.
/// - Runs the C row kernels (`_FilterKernels`) on bands of output rows on
///   the `_Runtime` pool's threads; separable kernels take two 1-D passes.
///   Memory beyond input and output is a few float rows per band.
///   `.normalize` makes two passes.
/// - Matches `applyReference`; with non-integer weights a sample may differ by
///   1 where the exact value sits within float error of a rounding tie.
/// - `buffers`: the output's samples may be an array kept from an earlier
///   image of a batch (`SampleBuffers`), written over in full.
public func apply(
  _ operation: FilterOperation, to image: Image, options: FilterOptions,
  buffers: SampleBuffers? = nil
) throws(FilterError) -> Image {
  try apply(operation, to: image, options: options, baselineOnly: false, buffers: buffers)
}

/// `apply`, optionally forcing the C loops compiled for the baseline x86-64
/// target even on an AVX2 machine, so tests cover both copies.
func apply(
  _ operation: FilterOperation, to image: Image, options: FilterOptions, baselineOnly: Bool,
  buffers: SampleBuffers? = nil
) throws(FilterError) -> Image {
  let g = try FilterGeometry(operation: operation, image: image, options: options)
  try checkScaleAndBias(options)
  let (count, overflow) = g.outputWidth.multipliedReportingOverflow(
    by: g.outputHeight * image.channels)
  guard !overflow, count < Int(Int32.max) * 4 else {
    throw .outputTooLarge(width: g.outputWidth, height: g.outputHeight)
  }
  let job = FilterJob(
    operation: operation, image: image, geometry: g, options: options,
    baselineOnly: baselineOnly)
  switch image.bitDepth {
  case .eight:
    let samples = try job.run(input: image.samples8, outputCount: count, buffers: buffers)
    return Image(
      width: g.outputWidth, height: g.outputHeight, layout: image.layout, samples: samples)
  case .sixteen:
    let samples = try job.run(input: image.samples16, outputCount: count, buffers: buffers)
    return Image(
      width: g.outputWidth, height: g.outputHeight, layout: image.layout,
      samples16: samples)
  }
}

/// Bytes of scratch memory one band of `apply` allocates: a ring of
/// (kernel rows − 1)·dilation + 1 padded float rows (one per kernel row when
/// that exceeds 2·rows + 16) plus L1-sized buffers. At most one band per
/// thread runs at a time.
func scratchBytesPerBand(geometry g: FilterGeometry, colourChannels: Int) -> Int {
  var f = cvz_filter()
  f.out_width = Int32(g.outputWidth)
  f.stride_x = Int32(g.stride.x)
  f.dilation_x = Int32(g.dilation.x)
  f.dilation_y = Int32(g.dilation.y)
  f.colour_channels = Int32(colourChannels)
  f.kernels.0.rows = Int32(g.kernelRows)
  f.kernels.0.cols = Int32(g.kernelCols)
  return cvz_filter_scratch_bytes(&f)
}

/// One call of `apply`: owns the C description of the filter and runs it in bands.
private struct FilterJob {
  let operation: FilterOperation
  let image: Image
  let geometry: FilterGeometry
  let options: FilterOptions
  let baselineOnly: Bool

  func run<Sample: FixedWidthInteger & UnsignedInteger>(
    input: [Sample], outputCount: Int, buffers: SampleBuffers?
  ) throws(FilterError) -> [Sample] {
    var scratchBytes: Int?
    let output = SampleBuffers.samples(Sample.self, count: outputCount, from: buffers) {
      out, _ in
      input.withUnsafeBufferPointer { source in
        withKernelWeights(of: operation) { kernels in
          var f = description(
            input: UnsafeRawPointer(source.baseAddress!), output: out,
            sampleBytes: MemoryLayout<Sample>.size, kernels: kernels)
          if cvz_filter_image(&f) != CVZ_STATUS_OK { scratchBytes = cvz_filter_scratch_bytes(&f) }
        }
      }
      return scratchBytes == nil
    }
    guard let output else { throw .outOfMemory(bytes: scratchBytes ?? 0) }
    return output
  }

  private func description(
    input: UnsafeRawPointer, output: UnsafeMutableRawPointer, sampleBytes: Int,
    kernels: [cvz_kernel]
  ) -> cvz_filter {
    var f = filterDescription(
      geometry: geometry, options: options, width: image.width, height: image.height,
      layout: image.layout, bitDepth: image.bitDepth, kernels: kernels)
    f.input = input
    f.output = output
    f.baseline_only = baselineOnly ? 1 : 0
    return f
  }
}

/// The kernels' weights and factors as one contiguous Float buffer that
/// outlives the C calls, with a cvz_kernel for each kernel pointing into it.
func withKernelWeights<R>(
  of operation: FilterOperation, _ body: ([cvz_kernel]) throws -> R
) rethrows -> R {
  let kernels = operation.kernels
  var all: [Float] = []
  var offsets: [(weights: Int, column: Int?, row: Int?)] = []
  for k in kernels {
    let w = all.count
    all += k.weights
    var column: Int?
    var row: Int?
    if let factors = k.separableFactors {
      column = all.count
      all += factors.column
      row = all.count
      all += factors.row
    }
    offsets.append((w, column, row))
  }
  return try all.withUnsafeBufferPointer { buffer in
    let base = buffer.baseAddress!
    return try body(
      zip(kernels, offsets).map { k, o in
        cvz_kernel(
          rows: Int32(k.rows), cols: Int32(k.cols), weights: base + o.weights,
          column_factor: o.column.map { base + $0 }, row_factor: o.row.map { base + $0 })
      })
  }
}

/// The C description of a filter over a `width`×`height` image (input and
/// output pointers left for the caller).
func filterDescription(
  geometry g: FilterGeometry, options: FilterOptions, width: Int, height: Int,
  layout: Image.Layout, bitDepth: Image.BitDepth, kernels: [cvz_kernel]
) -> cvz_filter {
  var f = cvz_filter()
  f.sample_bytes = Int32(bitDepth == .eight ? 1 : 2)
  f.width = Int32(width)
  f.height = Int32(height)
  f.channels = Int32(layout.channels)
  f.colour_channels = Int32(layout.hasAlpha ? layout.channels - 1 : layout.channels)
  f.out_width = Int32(g.outputWidth)
  f.out_height = Int32(g.outputHeight)
  f.stride_x = Int32(g.stride.x)
  f.stride_y = Int32(g.stride.y)
  f.dilation_x = Int32(g.dilation.x)
  f.dilation_y = Int32(g.dilation.y)
  f.pad_top = Int32(g.padTop)
  f.pad_left = Int32(g.padLeft)
  f.anchor_row = Int32(g.anchorRow)
  f.anchor_col = Int32(g.anchorCol)
  switch options.border {
  case .zero: f.border = Int32(CVZ_BORDER_ZERO)
  case .replicate: f.border = Int32(CVZ_BORDER_REPLICATE)
  case .reflect: f.border = Int32(CVZ_BORDER_REFLECT)
  case .wrap: f.border = Int32(CVZ_BORDER_WRAP)
  }
  f.kernel_count = Int32(kernels.count)
  f.kernels.0 = kernels[0]
  if kernels.count == 2 { f.kernels.1 = kernels[1] }
  f.scale = options.scale
  f.bias = options.bias
  switch options.range {
  case .clamp: f.range = Int32(CVZ_RANGE_CLAMP)
  case .abs: f.range = Int32(CVZ_RANGE_ABS)
  case .normalize: f.range = Int32(CVZ_RANGE_NORMALIZE)
  }
  f.max_value = bitDepth == .eight ? 255 : 65535
  return f
}
