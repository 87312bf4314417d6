/// How an image whose size differs from a model's input is brought to it.
///
/// `convviz train`, `evaluate` and `predict` take it as `--resize`, and model
/// files record the one used in training so later commands apply the same.
public enum ResizeMode: String, CaseIterable, Sendable {
  /// Scale until the image covers the input (the shorter side fits), then
  /// cut the centre: torchvision's `Resize` + `CenterCrop`, the usual
  /// classifier preprocessing. Nothing is distorted; the edges of the longer
  /// side are lost.
  case fill
  /// Scale until the whole image fits (the longer side fits), then pad the
  /// rest with zeros, centred (a letterbox). Nothing is lost or distorted.
  case fit
  /// Scale each axis on its own to the input size; the aspect ratio changes.
  case stretch
  /// No resizing: an image of another size is an error.
  case none

  /// The scaled size and the position of the input window in it: for `fill`
  /// the window lies inside the scaled image (a crop), for `fit` the scaled
  /// image lies inside the window (padding). nil for `none`.
  ///
  /// Scaled sizes are rounded to the nearest pixel and the window centred,
  /// its offset rounded down. With `shorterSide` (`fill` only; see
  /// `Preprocessing.shorterSide`) the scaled size and the window follow
  /// torchvision's `Resize(shorterSide)` + `CenterCrop` instead.
  func layout(
    height: Int, width: Int, toHeight: Int, toWidth: Int, shorterSide: Int? = nil
  )
    -> (height: Int, width: Int, top: Int, left: Int)?
  {
    if self == .fill, let side = shorterSide {
      // torchvision's _compute_resized_output_size: int(S * long / short).
      let long = Int(Double(side) * Double(max(height, width)) / Double(min(height, width)))
      let (scaledHeight, scaledWidth) = height <= width ? (side, long) : (long, side)
      // A window larger than the scaled image would need padding; the
      // image is stretched to cover it instead.
      let h = max(toHeight, scaledHeight)
      let w = max(toWidth, scaledWidth)
      // CenterCrop: int(round((h - crop) / 2)), Python rounding half to even.
      func offset(_ spare: Int) -> Int { Int((Double(spare) / 2).rounded(.toNearestOrEven)) }
      return (h, w, offset(h - toHeight), offset(w - toWidth))
    }
    let scaleY = Double(toHeight) / Double(height)
    let scaleX = Double(toWidth) / Double(width)
    func scaled(_ side: Int, _ scale: Double) -> Int {
      max(1, Int((Double(side) * scale).rounded()))
    }
    switch self {
    case .none:
      return nil
    case .stretch:
      return (toHeight, toWidth, 0, 0)
    case .fill:
      let scale = max(scaleY, scaleX)
      let h = max(toHeight, scaled(height, scale))
      let w = max(toWidth, scaled(width, scale))
      return (h, w, (h - toHeight) / 2, (w - toWidth) / 2)
    case .fit:
      let scale = min(scaleY, scaleX)
      let h = min(toHeight, scaled(height, scale))
      let w = min(toWidth, scaled(width, scale))
      return (h, w, (toHeight - h) / 2, (toWidth - w) / 2)
    }
  }

  /// `channels` planes of height × width floats brought to toHeight ×
  /// toWidth; nil when the sizes differ and the mode is `none`. Equal sizes
  /// come back unchanged whatever the mode.
  /// `shorterSide`: see `layout`; an image already of the input size is
  /// still scaled and cut then, as torchvision does.
  public func apply(
    _ planes: [Float], channels: Int, height: Int, width: Int, toHeight: Int, toWidth: Int,
    shorterSide: Int? = nil
  ) -> [Float]? {
    precondition(planes.count == channels * height * width, "planes do not match the size")
    let torchvision = self == .fill && shorterSide != nil
    if height == toHeight && width == toWidth && !torchvision { return planes }
    guard
      let layout = layout(
        height: height, width: width, toHeight: toHeight, toWidth: toWidth,
        shorterSide: shorterSide)
    else { return nil }
    let scaled = Resampling.resize(
      planes, channels: channels, height: height, width: width, toHeight: layout.height,
      toWidth: layout.width)
    if layout.height == toHeight && layout.width == toWidth { return scaled }
    var out = [Float](repeating: 0, count: channels * toHeight * toWidth)
    for c in 0..<channels {
      for y in 0..<min(layout.height, toHeight) {
        for x in 0..<min(layout.width, toWidth) {
          // fill: the window starts inside the scaled image; fit: the image
          // starts inside the window.
          let (sy, sx, dy, dx) =
            self == .fill
            ? (y + layout.top, x + layout.left, y, x) : (y, x, y + layout.top, x + layout.left)
          out[(c * toHeight + dy) * toWidth + dx] =
            scaled[(c * layout.height + sy) * layout.width + sx]
        }
      }
    }
    return out
  }
}

extension Tensor {
  /// Every sample of an (N, C, H, W) tensor brought to height × width with
  /// `mode`; nil when the sizes differ and the mode is `none`.
  public func resized(
    height: Int, width: Int, mode: ResizeMode, shorterSide: Int? = nil
  ) -> Tensor? {
    precondition(shape.rank == 4, "expected (N, C, H, W), got \(shape)")
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    if h == height && w == width && (mode != .fill || shorterSide == nil) { return self }
    let size = c * h * w
    var resized: [Float] = []
    resized.reserveCapacity(n * c * height * width)
    for i in 0..<n {
      let sample = Array(storage[(i * size)..<((i + 1) * size)])
      guard
        let out = mode.apply(
          sample, channels: c, height: h, width: w, toHeight: height, toWidth: width,
          shorterSide: shorterSide)
      else { return nil }
      resized += out
    }
    return Tensor(shape: Shape(n, c, height, width), storage: resized)
  }
}
