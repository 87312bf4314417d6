import ImageCodecs

/// The specification of `pool`: the plain loop over every output sample.
///
/// Output sample (ox, oy, c) reduces input samples (x, y, c) for x in
/// ox·S_x − padLeft ..< + F_x and y in oy·S_y − padTop ..< + F_y that lie in
/// the image: their max; their mean; or sqrt(mean of squares), the last two
/// rounded to the nearest integer, ties to even.
public func poolReference(
  _ image: Image, mode: PoolMode, options: PoolOptions
) throws(FilterError) -> Image {
  let g = try options.geometry(for: image)
  let input: [Int] =
    image.bitDepth == .eight ? image.samples8.map(Int.init) : image.samples16.map(Int.init)
  let channels = image.channels
  var output: [Int] = []
  output.reserveCapacity(g.outputWidth * g.outputHeight * channels)
  for oy in 0..<g.outputHeight {
    let top = oy * g.stride.y - g.padTop
    let rows = max(top, 0)..<min(top + g.kernelRows, image.height)
    for ox in 0..<g.outputWidth {
      let left = ox * g.stride.x - g.padLeft
      let columns = max(left, 0)..<min(left + g.kernelCols, image.width)
      for c in 0..<channels {
        var values: [Int] = []
        for y in rows {
          for x in columns { values.append(input[(y * image.width + x) * channels + c]) }
        }
        let count = Double(values.count)
        switch mode {
        case .max:
          output.append(values.max()!)
        case .average:
          output.append(Int((Double(values.reduce(0, +)) / count).rounded(.toNearestOrEven)))
        case .l2:
          let meanSquare = Double(values.map { $0 * $0 }.reduce(0, +)) / count
          output.append(Int(meanSquare.squareRoot().rounded(.toNearestOrEven)))
        }
      }
    }
  }
  return Image(referenceSamples: output, like: image, width: g.outputWidth, height: g.outputHeight)
}
