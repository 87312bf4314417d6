import Tensors

/// The naive pooling forward pass, the definition `Pooling2D` follows.
///
/// input (N, C, H, W) → (N, C, H′, W′); each output cell reduces the real
/// (unpadded) cells of its window: their max, mean, or sqrt(mean of squares).
public func pooling2dForwardReference(
  input: Tensor, reduction: Pooling2D.Reduction, poolSize: (Int, Int), strides: (Int, Int),
  padding: Padding
) -> Tensor {
  pooling2dForwardReference(
    input: input, reduction: reduction,
    window: PoolWindow(size: poolSize, strides: strides, padding: padding))
}

/// The same over any `window`: taps `dilation` apart, and with
/// `countIncludePad` the mean divides by the taps inside the padded plane
/// (cells past it, which only `ceilMode` windows reach, never count).
public func pooling2dForwardReference(
  input: Tensor, reduction: Pooling2D.Reduction, window: PoolWindow
) -> Tensor {
  let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
  let g = window.checkedGeometry(height: h, width: w)
  var output = Tensor(zeros: Shape(n, c, g.outputHeight, g.outputWidth))
  for b in 0..<n {
    for ch in 0..<c {
      for oy in 0..<g.outputHeight {
        for ox in 0..<g.outputWidth {
          let cells = g.windowCells(oy: oy, ox: ox).map {
            input.storage[input.offset(n: b, c: ch, y: $0.y, x: $0.x)]
          }
          let value: Float
          switch reduction {
          case .max:
            value = cells.max() ?? 0
          case .average:
            value = cells.reduce(0, +) / Float(g.divisor(oy: oy, ox: ox, window: window))
          case .l2:
            value = (cells.map { $0 * $0 }.reduce(0, +) / Float(cells.count)).squareRoot()
          }
          output.storage[output.offset(n: b, c: ch, y: oy, x: ox)] = value
        }
      }
    }
  }
  return output
}

/// The naive pooling backward pass: the input gradient of
/// `pooling2dForwardReference`. Max sends each output's gradient to the first
/// maximal cell of its window; average spreads it evenly; L2 sends
/// dy · x / (count · y), taken as zero where y = 0.
public func pooling2dBackwardReference(
  input: Tensor, dOutput: Tensor, reduction: Pooling2D.Reduction, poolSize: (Int, Int),
  strides: (Int, Int), padding: Padding
) -> Tensor {
  pooling2dBackwardReference(
    input: input, dOutput: dOutput, reduction: reduction,
    window: PoolWindow(size: poolSize, strides: strides, padding: padding))
}

/// The same over any `window`.
public func pooling2dBackwardReference(
  input: Tensor, dOutput: Tensor, reduction: Pooling2D.Reduction, window: PoolWindow
) -> Tensor {
  let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
  let g = window.checkedGeometry(height: h, width: w)
  let output = pooling2dForwardReference(input: input, reduction: reduction, window: window)
  var dInput = Tensor(zeros: input.shape)
  for b in 0..<n {
    for ch in 0..<c {
      for oy in 0..<g.outputHeight {
        for ox in 0..<g.outputWidth {
          let out = output.offset(n: b, c: ch, y: oy, x: ox)
          let dy = dOutput.storage[out]
          let cells = g.windowCells(oy: oy, ox: ox).map {
            input.offset(n: b, c: ch, y: $0.y, x: $0.x)
          }
          switch reduction {
          case .max:
            var best = cells[0]
            for i in cells where input.storage[i] > input.storage[best] { best = i }
            dInput.storage[best] += dy
          case .average:
            let divisor = Float(g.divisor(oy: oy, ox: ox, window: window))
            for i in cells { dInput.storage[i] += dy / divisor }
          case .l2:
            let y = output.storage[out]
            guard y > 0 else { continue }
            for i in cells { dInput.storage[i] += dy * input.storage[i] / (Float(cells.count) * y) }
          }
        }
      }
    }
  }
  return dInput
}

extension PoolWindow {
  func checkedGeometry(height h: Int, width w: Int) -> WindowGeometry {
    WindowGeometry(
      checkedHeight: h, width: w, kernel: (height, width), strides: (strideY, strideX),
      padding: padding, dilations: (dilationY, dilationX), ceilMode: ceilMode)
  }
}

extension WindowGeometry {
  /// The taps of output cell (oy, ox)'s window along one axis that fall
  /// inside [low, high).
  private func taps(start: Int, count: Int, dilation: Int, low: Int, high: Int) -> [Int] {
    (0..<count).map { start + $0 * dilation }.filter { $0 >= low && $0 < high }
  }

  /// The real input cells (y, x) of output cell (oy, ox)'s window, row-major.
  func windowCells(oy: Int, ox: Int) -> [(y: Int, x: Int)] {
    let y0 = oy * strideY - padTop, x0 = ox * strideX - padLeft
    var cells: [(y: Int, x: Int)] = []
    for y in taps(start: y0, count: kernelHeight, dilation: dilationY, low: 0, high: inputHeight) {
      for x in taps(start: x0, count: kernelWidth, dilation: dilationX, low: 0, high: inputWidth) {
        cells.append((y, x))
      }
    }
    return cells
  }

  /// What average pooling divides output cell (oy, ox)'s sum by: its real
  /// cells, or with `countIncludePad` its taps inside the padded plane.
  func divisor(oy: Int, ox: Int, window: PoolWindow) -> Int {
    guard window.countIncludePad else { return windowCells(oy: oy, ox: ox).count }
    let y0 = oy * strideY - padTop, x0 = ox * strideX - padLeft
    let rows = taps(
      start: y0, count: kernelHeight, dilation: dilationY, low: -padTop,
      high: inputHeight + padBottom)
    let columns = taps(
      start: x0, count: kernelWidth, dilation: dilationX, low: -padLeft,
      high: inputWidth + padRight)
    return rows.count * columns.count
  }
}
