import ImageCodecs

/// One channel of samples as Float, row-major, top row first.
public struct FloatPlane: Sendable, Equatable {
  public var width: Int
  public var height: Int
  public var values: [Float]

  public init(width: Int, height: Int, values: [Float]) {
    precondition(values.count == width * height, "plane value count does not match size")
    self.width = width
    self.height = height
    self.values = values
  }

  public subscript(x: Int, y: Int) -> Float { values[y * width + x] }
}

/// Maps a coordinate outside 0..<count onto the image by `border`; nil means
/// "reads as 0". Works for any distance outside, e.g. padding wider than the image.
@inlinable
func borderIndex(_ i: Int, count n: Int, border: Border) -> Int? {
  if i >= 0 && i < n { return i }
  switch border {
  case .zero: return nil
  case .replicate: return min(max(i, 0), n - 1)
  case .wrap: return ((i % n) + n) % n
  case .reflect:
    if n == 1 { return 0 }
    let period = 2 * (n - 1)
    let m = ((i % period) + period) % period
    return m < n ? m : period - m
  }
}

/// The specification of a filter: the plain cross-correlation loop over Float.
///
/// output[oy][ox] = Σ_{r<F_rows, c<F_cols} kernel[r][c] ·
///   input[oy·S_y − padTop + r·D_y][ox·S_x − padLeft + c·D_x],
/// with out-of-image reads resolved by `border`. The fast path must match it.
/// Precondition: `geometry` was made for this plane's size and kernel's size.
public func convolveReference(
  _ input: FloatPlane, kernel: Kernel, geometry g: FilterGeometry, border: Border
) -> FloatPlane {
  precondition(
    g.inputWidth == input.width && g.inputHeight == input.height
      && g.kernelRows == kernel.rows && g.kernelCols == kernel.cols,
    "geometry does not match plane and kernel")
  var out = [Float](repeating: 0, count: g.outputWidth * g.outputHeight)
  for oy in 0..<g.outputHeight {
    for ox in 0..<g.outputWidth {
      var sum: Float = 0
      for r in 0..<kernel.rows {
        guard
          let y = borderIndex(
            oy * g.stride.y - g.padTop + r * g.dilation.y,
            count: input.height, border: border)
        else { continue }
        for c in 0..<kernel.cols {
          guard
            let x = borderIndex(
              ox * g.stride.x - g.padLeft + c * g.dilation.x,
              count: input.width, border: border)
          else { continue }
          sum += kernel[r, c] * input[x, y]
        }
      }
      out[oy * g.outputWidth + ox] = sum
    }
  }
  return FloatPlane(width: g.outputWidth, height: g.outputHeight, values: out)
}

/// The specification of `apply`: per colour channel `convolveReference`, then
/// gradient magnitude, scale and bias, and the range mapping; alpha is copied
/// from the input pixel under the kernel's anchor, clamped into the image.
/// Slow; for tests and as documentation.
public func applyReference(
  _ operation: FilterOperation, to image: Image, options: FilterOptions
) throws(FilterError) -> Image {
  let g = try FilterGeometry(operation: operation, image: image, options: options)
  try checkScaleAndBias(options)
  let channels = image.channels
  let colour = image.layout.hasAlpha ? channels - 1 : channels
  let sample: (Int) -> Float =
    image.bitDepth == .eight
    ? { Float(image.samples8[$0]) } : { Float(image.samples16[$0]) }
  let outCount = g.outputWidth * g.outputHeight
  var values = [Float](repeating: 0, count: outCount * colour)
  for c in 0..<colour {
    let plane = FloatPlane(
      width: image.width, height: image.height,
      values: (0..<image.pixelCount).map { sample($0 * channels + c) })
    let responses = operation.kernels.map {
      convolveReference(plane, kernel: $0, geometry: g, border: options.border).values
    }
    for i in 0..<outCount {
      var v = responses[0][i]
      if responses.count == 2 {
        v = (responses[0][i] * responses[0][i] + responses[1][i] * responses[1][i]).squareRoot()
      }
      values[i * colour + c] = options.scale * v + options.bias
    }
  }
  let maxValue: Float = image.bitDepth == .eight ? 255 : 65535
  let mapped = mapRange(values, mode: options.range, maxValue: maxValue)
  var samples = [Int](repeating: 0, count: outCount * channels)
  for i in 0..<outCount {
    for c in 0..<colour { samples[i * channels + c] = mapped[i * colour + c] }
  }
  if colour < channels {
    for oy in 0..<g.outputHeight {
      let y = min(max(oy * g.stride.y - g.padTop + g.anchorRow * g.dilation.y, 0), image.height - 1)
      for ox in 0..<g.outputWidth {
        let x = min(
          max(ox * g.stride.x - g.padLeft + g.anchorCol * g.dilation.x, 0), image.width - 1)
        let source = (y * image.width + x) * channels + colour
        samples[(oy * g.outputWidth + ox) * channels + colour] =
          image.bitDepth == .eight ? Int(image.samples8[source]) : Int(image.samples16[source])
      }
    }
  }
  return Image(
    referenceSamples: samples, like: image, width: g.outputWidth, height: g.outputHeight)
}

/// The range mapping of `RangeMode`, to integers 0...maxValue (ties to even).
func mapRange(_ values: [Float], mode: RangeMode, maxValue: Float) -> [Int] {
  var lo: Float = 0
  var factor: Float = 1
  if mode == .normalize {
    lo = values.min() ?? 0
    let hi = values.max() ?? 0
    factor = hi > lo ? maxValue / (hi - lo) : 0
  }
  return values.map { raw in
    var v = raw
    switch mode {
    case .clamp: break
    case .abs: v = Swift.abs(v)
    case .normalize: v = (v - lo) * factor
    }
    v = v > 0 ? v : 0
    v = v < maxValue ? v : maxValue
    return Int(v.rounded(.toNearestOrEven))
  }
}

func checkScaleAndBias(_ options: FilterOptions) throws(FilterError) {
  guard options.scale.isFinite, options.bias.isFinite else {
    throw .nonFiniteScaleOrBias(scale: options.scale, bias: options.bias)
  }
}

extension Image {
  /// An image of `width` × `height` with `source`'s layout and bit depth,
  /// from samples a reference computed as integers already in range.
  init(referenceSamples samples: [Int], like source: Image, width: Int, height: Int) {
    switch source.bitDepth {
    case .eight:
      self.init(
        width: width, height: height, layout: source.layout, samples: samples.map { UInt8($0) })
    case .sixteen:
      self.init(
        width: width, height: height, layout: source.layout,
        samples16: samples.map { UInt16($0) })
    }
  }
}
