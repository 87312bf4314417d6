import Foundation
import Tensors
import _Runtime

/// What `Augmentation` does to one image: the random draws, made once.
public struct ImageTransform: Equatable, Sendable {
  public var flip = false
  /// Degrees, counter-clockwise as displayed (y down).
  public var rotation: Float = 0
  /// Whole pixels, right and down.
  public var shiftX = 0
  public var shiftY = 0
  /// Offset of the crop window from the centre, in pixels: content moves by
  /// (cropX, cropY) and the uncovered border is zero.
  public var cropX = 0
  public var cropY = 0
  public var brightness: Float = 1

  public init(
    flip: Bool = false, rotation: Float = 0, shiftX: Int = 0, shiftY: Int = 0, cropX: Int = 0,
    cropY: Int = 0, brightness: Float = 1
  ) {
    self.flip = flip
    self.rotation = rotation
    self.shiftX = shiftX
    self.shiftY = shiftY
    self.cropX = cropX
    self.cropY = cropY
    self.brightness = brightness
  }
}

extension ImageTransform {
  /// The reference: applies the transform to one H×W plane in place, every
  /// sample through the fill rule; `scratch` holds at least H·W floats.
  /// `apply(image:…)` is the fast path, tested against it.
  public func applyReference(
    plane: UnsafeMutableBufferPointer<Float>, height h: Int, width w: Int,
    fill: Augmentation.FillMode, scratch: inout [Float]
  ) {
    precondition(plane.count == h * w && scratch.count >= h * w, "plane is not H×W")
    if flip {
      for y in 0..<h {
        var (left, right) = (y * w, y * w + w - 1)
        while left < right {
          plane.swapAt(left, right)
          left += 1
          right -= 1
        }
      }
    }
    if rotation != 0 {
      copy(plane, into: &scratch)
      scratch.withUnsafeBufferPointer { source in
        rotate(source, into: plane, height: h, width: w, fill: fill)
      }
    }
    if shiftX != 0 || shiftY != 0 {
      copy(plane, into: &scratch)
      scratch.withUnsafeBufferPointer { source in
        translate(source, into: plane, height: h, width: w, dx: shiftX, dy: shiftY, fill: fill)
      }
    }
    if cropX != 0 || cropY != 0 {
      copy(plane, into: &scratch)
      scratch.withUnsafeBufferPointer { source in
        translate(source, into: plane, height: h, width: w, dx: cropX, dy: cropY, fill: .constant)
      }
    }
    if brightness != 1 {
      for i in plane.indices { plane[i] = min(max(plane[i] * brightness, 0), 1) }
    }
  }

  private func copy(_ plane: UnsafeMutableBufferPointer<Float>, into scratch: inout [Float]) {
    scratch.withUnsafeMutableBufferPointer { out in
      out.baseAddress!.update(from: plane.baseAddress!, count: plane.count)
    }
  }

  /// out(y, x) = source(y − dy, x − dx), outside samples by `fill`.
  private func translate(
    _ source: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    height h: Int, width w: Int, dx: Int, dy: Int, fill: Augmentation.FillMode
  ) {
    for y in 0..<h {
      let sy = fill.index(y - dy, extent: h)
      for x in 0..<w {
        let sx = fill.index(x - dx, extent: w)
        out[y * w + x] = (sy >= 0 && sx >= 0) ? source[sy * w + sx] : 0
      }
    }
  }

  /// Bilinear rotation about the centre ((W−1)/2, (H−1)/2): each output
  /// pixel reads the source at the inversely rotated position.
  private func rotate(
    _ source: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    height h: Int, width w: Int, fill: Augmentation.FillMode
  ) {
    let radians = Double(rotation) * .pi / 180
    let (cosA, sinA) = (Float(cos(radians)), Float(sin(radians)))
    let (cx, cy) = (Float(w - 1) / 2, Float(h - 1) / 2)
    func sample(_ y: Int, _ x: Int) -> Float {
      let sy = fill.index(y, extent: h)
      let sx = fill.index(x, extent: w)
      return (sy >= 0 && sx >= 0) ? source[sy * w + sx] : 0
    }
    for y in 0..<h {
      for x in 0..<w {
        // Counter-clockwise on screen (y down) is clockwise in maths axes;
        // the inverse map rotates the output position back.
        let (rx, ry) = (Float(x) - cx, Float(y) - cy)
        let fx = cosA * rx - sinA * ry + cx
        let fy = sinA * rx + cosA * ry + cy
        let (x0, y0) = (Int(fx.rounded(.down)), Int(fy.rounded(.down)))
        let (ax, ay) = (fx - Float(x0), fy - Float(y0))
        let top = (1 - ax) * sample(y0, x0) + ax * sample(y0, x0 + 1)
        let bottom = (1 - ax) * sample(y0 + 1, x0) + ax * sample(y0 + 1, x0 + 1)
        out[y * w + x] = (1 - ay) * top + ay * bottom
      }
    }
  }
}

extension Augmentation.FillMode {
  /// The source index for position `i` along an axis of `extent`
  /// samples, or −1 for a zero (`constant` outside the image).
  @inline(__always)
  func index(_ i: Int, extent n: Int) -> Int {
    if i >= 0 && i < n { return i }
    switch self {
    case .constant: return -1
    case .nearest: return i < 0 ? 0 : n - 1
    case .wrap: return ((i % n) + n) % n
    case .reflect:
      // Half-sample symmetric, the edge repeated: dcba|abcd|dcba.
      let period = 2 * n
      let m = ((i % period) + period) % period
      return m < n ? m : period - 1 - m
    }
  }
}

extension ImageTransform {
  /// Applies the transform to one image of C planes in place, as
  /// `applyReference` does to each plane, bit for bit, but with the fill
  /// rule only where a read leaves the image and the rotation's
  /// coordinates computed once for all planes. `scratch` holds C·H·W floats.
  func apply(
    image: UnsafeMutablePointer<Float>, channels c: Int, height h: Int, width w: Int,
    fill: Augmentation.FillMode, scratch: UnsafeMutablePointer<Float>
  ) {
    let plane = h * w
    if flip {
      for row in 0..<(c * h) {
        var (left, right) = (row * w, row * w + w - 1)
        while left < right {
          (image[left], image[right]) = (image[right], image[left])
          left += 1
          right -= 1
        }
      }
    }
    if rotation != 0 {
      scratch.update(from: image, count: c * plane)
      rotateFast(scratch, into: image, channels: c, height: h, width: w, fill: fill)
    }
    let moves: [(dx: Int, dy: Int, fill: Augmentation.FillMode)] = [
      (shiftX, shiftY, fill), (cropX, cropY, .constant),
    ]
    for (dx, dy, mode) in moves where dx != 0 || dy != 0 {
      scratch.update(from: image, count: c * plane)
      for channel in 0..<c {
        translateFast(
          scratch + channel * plane, into: image + channel * plane, height: h, width: w,
          dx: dx, dy: dy, fill: mode)
      }
    }
    if brightness != 1 {
      for i in 0..<(c * plane) { image[i] = min(max(image[i] * brightness, 0), 1) }
    }
  }

  /// `translate` with the in-image span of each row copied at once.
  private func translateFast(
    _ source: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, height h: Int,
    width w: Int, dx: Int, dy: Int, fill: Augmentation.FillMode
  ) {
    let inside = max(0, dx)..<max(max(0, dx), min(w, w + dx))
    for y in 0..<h {
      let row = out + y * w
      let sy = fill.index(y - dy, extent: h)
      guard sy >= 0 else {
        row.update(repeating: 0, count: w)
        continue
      }
      let sourceRow = source + sy * w
      if !inside.isEmpty {
        (row + inside.lowerBound).update(
          from: sourceRow + (inside.lowerBound - dx), count: inside.count)
      }
      for x in 0..<w where !inside.contains(x) {
        let sx = fill.index(x - dx, extent: w)
        row[x] = sx >= 0 ? sourceRow[sx] : 0
      }
    }
  }

  /// `rotate` for all planes at once; interior pixels read their four
  /// neighbours directly.
  private func rotateFast(
    _ source: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, channels c: Int,
    height h: Int, width w: Int, fill: Augmentation.FillMode
  ) {
    let plane = h * w
    let radians = Double(rotation) * .pi / 180
    let (cosA, sinA) = (Float(cos(radians)), Float(sin(radians)))
    let (cx, cy) = (Float(w - 1) / 2, Float(h - 1) / 2)
    for y in 0..<h {
      for x in 0..<w {
        let (rx, ry) = (Float(x) - cx, Float(y) - cy)
        let fx = cosA * rx - sinA * ry + cx
        let fy = sinA * rx + cosA * ry + cy
        let (x0, y0) = (Int(fx.rounded(.down)), Int(fy.rounded(.down)))
        let (ax, ay) = (fx - Float(x0), fy - Float(y0))
        if x0 >= 0 && x0 + 1 < w && y0 >= 0 && y0 + 1 < h {
          let i = y0 * w + x0
          for channel in 0..<c {
            let s = source + channel * plane + i
            let top = (1 - ax) * s[0] + ax * s[1]
            let bottom = (1 - ax) * s[w] + ax * s[w + 1]
            out[channel * plane + y * w + x] = (1 - ay) * top + ay * bottom
          }
        } else {
          let ys = (fill.index(y0, extent: h), fill.index(y0 + 1, extent: h))
          let xs = (fill.index(x0, extent: w), fill.index(x0 + 1, extent: w))
          for channel in 0..<c {
            let s = source + channel * plane
            func at(_ sy: Int, _ sx: Int) -> Float { sy >= 0 && sx >= 0 ? s[sy * w + sx] : 0 }
            let top = (1 - ax) * at(ys.0, xs.0) + ax * at(ys.0, xs.1)
            let bottom = (1 - ax) * at(ys.1, xs.0) + ax * at(ys.1, xs.1)
            out[channel * plane + y * w + x] = (1 - ay) * top + ay * bottom
          }
        }
      }
    }
  }
}
