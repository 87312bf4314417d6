extension Image {
  /// The image turned upright for an EXIF orientation: for `.right` (6) the
  /// stored pixels are rotated 90° clockwise, for `.left` (8) 90°
  /// counter-clockwise, and orientations 5...8 swap width and height.
  public func oriented(_ orientation: EXIFOrientation) -> Image {
    if orientation == .up { return self }
    let swapsAxes = orientation.rawValue >= 5
    let outWidth = swapsAxes ? height : width
    let outHeight = swapsAxes ? width : height
    let w = width, h = height
    // Maps an output pixel (x, y) to the stored pixel it shows.
    let source: (Int, Int) -> (Int, Int)
    switch orientation {
    case .up: source = { x, y in (x, y) }
    case .upMirrored: source = { x, y in (w - 1 - x, y) }
    case .down: source = { x, y in (w - 1 - x, h - 1 - y) }
    case .downMirrored: source = { x, y in (x, h - 1 - y) }
    case .leftMirrored: source = { x, y in (y, x) }
    case .right: source = { x, y in (y, h - 1 - x) }
    case .rightMirrored: source = { x, y in (w - 1 - y, h - 1 - x) }
    case .left: source = { x, y in (w - 1 - y, x) }
    }
    func remap<T>(_ samples: [T]) -> [T] {
      let c = channels
      var out = samples
      samples.withUnsafeBufferPointer { input in
        out.withUnsafeMutableBufferPointer { output in
          for y in 0..<outHeight {
            for x in 0..<outWidth {
              let (sx, sy) = source(x, y)
              let from = (sy * w + sx) * c, to = (y * outWidth + x) * c
              for k in 0..<c { output[to + k] = input[from + k] }
            }
          }
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
