import ImageCodecs
import _FilterKernels
import _Runtime

/// Pools `image`: every channel (alpha included) on its own, the window
/// sliding by `options.stride`.
///
/// - Output: `PoolOptions.geometry`'s size, the input's layout and bit depth.
/// - Values: max is exact; average and L2 are computed exactly (in Double)
///   and rounded to the nearest integer, ties to even, so they always lie in
///   0...255 (or 0...65535) and need no clamping.
/// - Runs the C loops (`_FilterKernels`, `cvz_pool_image`) in bands of
///   output rows on the `_Runtime` pool's threads; allocates only the output.
/// - Matches `poolReference` sample for sample.
/// - `buffers`: the output's samples may be an array kept from an earlier
///   image of a batch (`SampleBuffers`), written over in full.
public func pool(
  _ image: Image, mode: PoolMode, options: PoolOptions, buffers: SampleBuffers? = nil
) throws(FilterError) -> Image {
  let g = try options.geometry(for: image)
  let (count, overflow) = g.outputWidth.multipliedReportingOverflow(
    by: g.outputHeight * image.channels)
  guard !overflow, count < Int(Int32.max) * 4 else {
    throw .outputTooLarge(width: g.outputWidth, height: g.outputHeight)
  }
  switch image.bitDepth {
  case .eight:
    let samples = runPool(
      image.samples8, image: image, geometry: g, mode: mode, count: count, buffers: buffers)
    return Image(
      width: g.outputWidth, height: g.outputHeight, layout: image.layout, samples: samples)
  case .sixteen:
    let samples = runPool(
      image.samples16, image: image, geometry: g, mode: mode, count: count, buffers: buffers)
    return Image(
      width: g.outputWidth, height: g.outputHeight, layout: image.layout, samples16: samples)
  }
}

private func runPool<Sample: FixedWidthInteger & UnsignedInteger>(
  _ input: [Sample], image: Image, geometry g: FilterGeometry, mode: PoolMode, count: Int,
  buffers: SampleBuffers?
) -> [Sample] {
  // Every output sample is written, so the buffer needs no zero fill.
  let output = SampleBuffers.samples(Sample.self, count: count, from: buffers) { out, _ in
    input.withUnsafeBufferPointer { source in
      var p = poolDescription(
        geometry: g, mode: mode, width: image.width, height: image.height,
        layout: image.layout, bitDepth: image.bitDepth)
      p.input = UnsafeRawPointer(source.baseAddress!)
      p.output = out
      _ = cvz_pool_image(&p)
    }
    return true
  }
  guard let output else { preconditionFailure("pooling writes every sample and cannot fail") }
  return output
}

/// The C description of pooling a `width`×`height` image (input and output
/// pointers left for the caller).
func poolDescription(
  geometry g: FilterGeometry, mode: PoolMode, width: Int, height: Int, layout: Image.Layout,
  bitDepth: Image.BitDepth
) -> cvz_pool {
  var p = cvz_pool()
  p.sample_bytes = Int32(bitDepth == .eight ? 1 : 2)
  p.width = Int32(width)
  p.height = Int32(height)
  p.channels = Int32(layout.channels)
  p.out_width = Int32(g.outputWidth)
  p.out_height = Int32(g.outputHeight)
  p.pool_width = Int32(g.kernelCols)
  p.pool_height = Int32(g.kernelRows)
  p.stride_x = Int32(g.stride.x)
  p.stride_y = Int32(g.stride.y)
  p.pad_top = Int32(g.padTop)
  p.pad_left = Int32(g.padLeft)
  switch mode {
  case .max: p.mode = Int32(CVZ_POOL_MAX)
  case .average: p.mode = Int32(CVZ_POOL_AVERAGE)
  case .l2: p.mode = Int32(CVZ_POOL_L2)
  }
  return p
}
