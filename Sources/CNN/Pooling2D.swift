import Foundation
import Tensors

/// 2-D pooling: Keras `MaxPooling2D` and `AveragePooling2D`, and L2 pooling.
///
/// Input (N, C, H, W) → output (N, C, H′, W′), H′ = (H − p) / s + 1 for
/// `.valid` and ceil(H / s) for `.same` (see `Padding`). `strides` defaults
/// to `poolSize`, as in Keras; windows may overlap (size 3, stride 2).
/// Padded cells never count: max ignores them and average and L2 divide by
/// the number of real cells in the window (TensorFlow's behaviour).
/// L2 pooling is sqrt(mean of squares) over the window, the "L2 pooling" of
/// Nielsen's Neural Networks and Deep Learning, chapter 6; its gradient
/// x / (count · y) is taken as zero where y is zero. Max pooling routes
/// the gradient to the first maximum in the window.
public struct Pooling2D: Layer {
  public enum Reduction: String, Sendable, CaseIterable {
    case max, average, l2
  }

  struct Cache {
    var inputShape: Shape
    var outputShape: Shape
    /// Max pooling: the flat input index that won each output cell.
    var argmax: [Int32]
    /// L2 pooling: the input and output, for x / (count · y).
    var input: Tensor?
    var output: Tensor?
  }

  public let reduction: Reduction
  public let poolSize: (height: Int, width: Int)
  public let strides: (y: Int, x: Int)
  public let padding: Padding
  private var cache: Cache?

  public init(
    _ reduction: Reduction, poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil,
    padding: Padding = .valid
  ) {
    let strides = strides ?? poolSize
    precondition(poolSize.0 >= 1 && poolSize.1 >= 1 && strides.0 >= 1 && strides.1 >= 1,
      "pool size and strides must be at least 1")
    self.reduction = reduction
    self.poolSize = poolSize
    self.strides = strides
    self.padding = padding
  }

  public var kind: String {
    switch reduction {
    case .max: "MaxPooling2D"
    case .average: "AveragePooling2D"
    case .l2: "L2Pooling2D"
    }
  }

  func geometry(height: Int, width: Int) -> WindowGeometry {
    WindowGeometry(
      inputHeight: height, inputWidth: width, kernel: (poolSize.height, poolSize.width),
      strides: (strides.y, strides.x), padding: padding)
  }

  public func outputShape(for inputShape: Shape) -> Shape {
    precondition(inputShape.rank == 3, "\(kind) expects (C, H, W), got \(inputShape)")
    let g = geometry(height: inputShape[1], width: inputShape[2])
    return Shape(inputShape[0], g.outputHeight, g.outputWidth)
  }

  public mutating func forward(_ input: Tensor, mode: Mode) -> Tensor {
    precondition(input.shape.rank == 4, "\(kind) expects (N, C, H, W), got \(input.shape)")
    precondition(input.count < Int(Int32.max), "\(kind) input too large for 32-bit indices")
    let (planes, h, w) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
    let g = geometry(height: h, width: w)
    let (oh, ow) = (g.outputHeight, g.outputWidth)
    var output = Tensor(zeros: Shape(input.shape[0], input.shape[1], oh, ow))
    var argmax = [Int32](repeating: 0, count: reduction == .max ? output.count : 0)
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        argmax.withUnsafeMutableBufferPointer { winner in
          for p in 0..<planes {
            for oy in 0..<oh {
              let y0 = max(oy * g.strideY - g.padTop, 0)
              let y1 = min(oy * g.strideY - g.padTop + g.kernelHeight, h)
              for ox in 0..<ow {
                let x0 = max(ox * g.strideX - g.padLeft, 0)
                let x1 = min(ox * g.strideX - g.padLeft + g.kernelWidth, w)
                let out = (p * oh + oy) * ow + ox
                switch reduction {
                case .max:
                  var best = p * h * w + y0 * w + x0
                  for iy in y0..<y1 {
                    for ix in x0..<x1 where x[p * h * w + iy * w + ix] > x[best] {
                      best = p * h * w + iy * w + ix
                    }
                  }
                  y[out] = x[best]
                  winner[out] = Int32(best)
                case .average, .l2:
                  var sum: Float = 0
                  for iy in y0..<y1 {
                    for ix in x0..<x1 {
                      let v = x[p * h * w + iy * w + ix]
                      sum += reduction == .l2 ? v * v : v
                    }
                  }
                  let mean = sum / Float((y1 - y0) * (x1 - x0))
                  y[out] = reduction == .l2 ? mean.squareRoot() : mean
                }
              }
            }
          }
        }
      }
    }
    if mode == .training {
      let keep = reduction == .l2
      cache = Cache(
        inputShape: input.shape, outputShape: output.shape, argmax: argmax,
        input: keep ? input : nil, output: keep ? output : nil)
    } else {
      cache = nil
    }
    return output
  }

  public mutating func backward(_ dOutput: Tensor) -> Tensor {
    guard let cache else { preconditionFailure("\(kind).backward without a training forward") }
    self.cache = nil
    precondition(dOutput.shape == cache.outputShape, "\(kind) dOutput shape mismatch")
    let shape = cache.inputShape
    let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
    let g = geometry(height: h, width: w)
    let (oh, ow) = (g.outputHeight, g.outputWidth)
    var dInput = Tensor(zeros: shape)
    let input = cache.input ?? Tensor(zeros: Shape(0))
    let output = cache.output ?? Tensor(zeros: Shape(0))
    dOutput.storage.withUnsafeBufferPointer { dy in
      dInput.storage.withUnsafeMutableBufferPointer { dx in
        if reduction == .max {
          cache.argmax.withUnsafeBufferPointer { winner in
            for i in 0..<dy.count { dx[Int(winner[i])] += dy[i] }
          }
          return
        }
        input.storage.withUnsafeBufferPointer { x in
          output.storage.withUnsafeBufferPointer { y in
            for p in 0..<planes {
              for oy in 0..<oh {
                let y0 = max(oy * g.strideY - g.padTop, 0)
                let y1 = min(oy * g.strideY - g.padTop + g.kernelHeight, h)
                for ox in 0..<ow {
                  let x0 = max(ox * g.strideX - g.padLeft, 0)
                  let x1 = min(ox * g.strideX - g.padLeft + g.kernelWidth, w)
                  let out = (p * oh + oy) * ow + ox
                  let count = Float((y1 - y0) * (x1 - x0))
                  // average: d/dx = 1/count; L2: d/dx = x / (count · y).
                  let scale: Float
                  if reduction == .average {
                    scale = dy[out] / count
                  } else {
                    scale = y[out] > 0 ? dy[out] / (count * y[out]) : 0
                  }
                  for iy in y0..<y1 {
                    for ix in x0..<x1 {
                      let i = p * h * w + iy * w + ix
                      dx[i] += reduction == .average ? scale : scale * x[i]
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return dInput
  }
}
