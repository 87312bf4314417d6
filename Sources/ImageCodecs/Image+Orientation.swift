extension Image {
  /// The image turned upright for an EXIF orientation: for `.right` (6) the
  /// stored pixels are rotated 90° clockwise, for `.left` (8) 90°
  /// counter-clockwise, and orientations 5...8 swap width and height.
  ///
  /// Every orientation maps output pixel (x, y) to stored pixel
  /// `origin + x * stepX + y * stepY` (in pixels), so one loop serves all
  /// eight; `orientedReference` spells each mapping out and is tested
  /// against this.
  public func oriented(_ orientation: EXIFOrientation) -> Image {
    if orientation == .up { return self }
    let w = width, h = height
    let (origin, stepX, stepY): (Int, Int, Int)
    switch orientation {
    case .up: (origin, stepX, stepY) = (0, 1, w)
    case .upMirrored: (origin, stepX, stepY) = (w - 1, -1, w)
    case .down: (origin, stepX, stepY) = (h * w - 1, -1, -w)
    case .downMirrored: (origin, stepX, stepY) = ((h - 1) * w, 1, -w)
    case .leftMirrored: (origin, stepX, stepY) = (0, w, 1)
    case .right: (origin, stepX, stepY) = ((h - 1) * w, -w, 1)
    case .rightMirrored: (origin, stepX, stepY) = (h * w - 1, -w, -1)
    case .left: (origin, stepX, stepY) = (w - 1, w, -1)
    }
    let outWidth = orientation.swapsAxes ? h : w, outHeight = orientation.swapsAxes ? w : h
    let c = channels
    // Rotations read the source by columns; 64×64 tiles keep those reads
    // within a few pages instead of one page per pixel.
    let tile = 64
    // Every output sample is written below, so the result starts
    // uninitialized: copying the input first would be one more pass over
    // the image and its page faults.
    func remap<T: FixedWidthInteger>(_ samples: [T]) -> [T] {
      [T](unsafeUninitializedCapacity: samples.count) { output, initialized in
        samples.withUnsafeBufferPointer { input in
          for tileY in stride(from: 0, to: outHeight, by: tile) {
            for tileX in stride(from: 0, to: outWidth, by: tile) {
              for y in tileY..<min(tileY + tile, outHeight) {
                var from = origin + tileX * stepX + y * stepY
                var to = (y * outWidth + tileX) * c
                for _ in tileX..<min(tileX + tile, outWidth) {
                  let f = from * c
                  if c == 3 {  // the common case, unrolled
                    output[to] = input[f]
                    output[to + 1] = input[f + 1]
                    output[to + 2] = input[f + 2]
                  } else {
                    for k in 0..<c { output[to + k] = input[f + k] }
                  }
                  to += c
                  from += stepX
                }
              }
            }
          }
        }
        initialized = samples.count
      }
    }
    if bitDepth == .sixteen {
      return Image(width: outWidth, height: outHeight, layout: layout, samples16: remap(samples16))
    }
    return Image(width: outWidth, height: outHeight, layout: layout, samples: remap(samples8))
  }

  /// `oriented(_:)` written as one explicit coordinate mapping per case.
  func orientedReference(_ orientation: EXIFOrientation) -> Image {
    let w = width, h = height
    let outWidth = orientation.swapsAxes ? h : w, outHeight = orientation.swapsAxes ? w : h
    // The stored pixel that output pixel (x, y) shows.
    func source(_ x: Int, _ y: Int) -> (Int, Int) {
      switch orientation {
      case .up: return (x, y)
      case .upMirrored: return (w - 1 - x, y)
      case .down: return (w - 1 - x, h - 1 - y)
      case .downMirrored: return (x, h - 1 - y)
      case .leftMirrored: return (y, x)
      case .right: return (y, h - 1 - x)
      case .rightMirrored: return (w - 1 - y, h - 1 - x)
      case .left: return (w - 1 - y, x)
      }
    }
    func remap<T>(_ samples: [T]) -> [T] {
      var out: [T] = []
      for y in 0..<outHeight {
        for x in 0..<outWidth {
          let (sx, sy) = source(x, y)
          out += samples[((sy * w + sx) * channels)..<((sy * w + sx + 1) * channels)]
        }
      }
      return out
    }
    if bitDepth == .sixteen {
      return Image(width: outWidth, height: outHeight, layout: layout, samples16: remap(samples16))
    }
    return Image(width: outWidth, height: outHeight, layout: layout, samples: remap(samples8))
  }
}
