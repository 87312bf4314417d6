extension Image {
  /// The image with another channel layout, at the same bit depth.
  ///
  /// Color to gray uses ITU-R 601-2 luma, as Pillow's "L" mode:
  /// L = (299 R + 587 G + 114 B) / 1000, rounded to nearest.
  /// Gray to color copies the gray value into R, G and B. Adding alpha makes
  /// every pixel opaque (255 or 65535); dropping alpha discards it without
  /// compositing onto a background.
  public func converted(to target: Layout) -> Image {
    if target == layout { return self }
    if bitDepth == .sixteen {
      let samples = Self.convert(samples16, from: layout, to: target, opaque: UInt16.max)
      return Image(width: width, height: height, layout: target, samples16: samples)
    }
    let samples = Self.convert(samples8, from: layout, to: target, opaque: UInt8.max)
    return Image(width: width, height: height, layout: target, samples: samples)
  }

  /// An 8-bit copy: each 16-bit sample becomes round(v / 257), so 65535 → 255
  /// and 8-bit values widened by × 257 come back exactly. 8-bit images are
  /// returned as they are.
  public func to8Bit() -> Image {
    guard bitDepth == .sixteen else { return self }
    let count = samples16.count
    let samples = [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
      if count > 0 {
        samples16.withUnsafeBufferPointer { Self.narrowSamples($0, into: output.baseAddress!) }
      }
      initialized = count
    }
    return Image(width: width, height: height, layout: layout, samples: samples)
  }

  /// A 16-bit copy: each 8-bit sample v becomes v × 257, so 255 → 65535.
  public func to16Bit() -> Image {
    guard bitDepth == .eight else { return self }
    let samples = samples8.map { UInt16($0) &* 257 }
    return Image(width: width, height: height, layout: layout, samples16: samples)
  }

  private static func luma<T: FixedWidthInteger & UnsignedInteger>(_ r: T, _ g: T, _ b: T) -> T {
    let weighted = 299 * UInt64(r) + 587 * UInt64(g) + 114 * UInt64(b)
    return T((weighted + 500) / 1000)
  }

  private static func convert<T: FixedWidthInteger & UnsignedInteger>(
    _ samples: [T], from source: Layout, to target: Layout, opaque: T
  ) -> [T] {
    let pixels = samples.count / source.channels
    // Every output sample is written below, so the result starts
    // uninitialized instead of filled first.
    return [T](unsafeUninitializedCapacity: pixels * target.channels) { output, initialized in
      samples.withUnsafeBufferPointer { input in
        convertPixels(input, from: source, into: output, to: target, opaque: opaque)
      }
      initialized = pixels * target.channels
    }
  }

  /// `converted(to:)` on raw samples: every pixel of `input` (in `source`
  /// layout) into `output` (in `target` layout), for readers that convert
  /// a few rows at a time.
  static func convertPixels<T: FixedWidthInteger & UnsignedInteger>(
    _ input: UnsafeBufferPointer<T>, from source: Layout,
    into output: UnsafeMutableBufferPointer<T>, to target: Layout, opaque: T
  ) {
    let pixels = input.count / source.channels
    let sc = source.channels, tc = target.channels
    let sourceIsColor = source == .rgb || source == .rgba
    let targetIsColor = target == .rgb || target == .rgba
    let newAlpha = target.hasAlpha && !source.hasAlpha
    for p in 0..<pixels {
      let s = p * sc, t = p * tc
      if targetIsColor {
        for k in 0..<3 { output[t + k] = input[s + (sourceIsColor ? k : 0)] }
      } else {
        output[t] = sourceIsColor ? luma(input[s], input[s + 1], input[s + 2]) : input[s]
      }
      // Alpha is kept when both have it; a new alpha is opaque.
      if target.hasAlpha { output[t + tc - 1] = newAlpha ? opaque : input[s + sc - 1] }
    }
  }

  /// `to8Bit()` on raw samples.
  static func narrowSamples(
    _ input: UnsafeBufferPointer<UInt16>, into output: UnsafeMutablePointer<UInt8>
  ) {
    for i in input.indices { output[i] = UInt8((UInt32(input[i]) + 128) / 257) }
  }
}
