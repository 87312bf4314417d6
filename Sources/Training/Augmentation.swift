import Foundation
import Tensors
import _Runtime

/// Random changes to training images, drawn afresh for every batch from a
/// seeded generator: the `--augment` option.
///
/// The text form is a comma-separated list (`flip,shift=0.1,crop=4,rotate=10,
/// brightness=0.1`); `standard` is Keras's `ImageDataGenerator` recipe for
/// the CIFAR-10 example, `flip,shift=0.1`. Each image of a batch gets, in
/// this order:
///
/// - `flip`: mirrored left–right with probability ½;
/// - `rotate=D`: rotated about its centre by an angle uniform in [−D, D]
///   degrees, bilinear, outside samples from `fill`;
/// - `shift=F`: moved by whole pixels, horizontally by round(u·W) and
///   vertically by round(v·H) with u, v uniform in [−F, F] (as torchvision
///   rounds), the uncovered border from `fill`;
/// - `crop=P`: zero-padded by P pixels on every side and cropped back to its
///   size at a uniform offset (torchvision's `RandomCrop(size, padding=P)`);
/// - `brightness=B`: every sample multiplied by a factor uniform in
///   [1 − B, 1 + B], then clamped to [0, 1] (torchvision's `ColorJitter`).
///
/// `fill=nearest|constant|reflect|wrap` (default `nearest`, Keras's) gives
/// the pixels outside the image for `shift` and `rotate`, as Keras
/// documents them for `abcd`: `aaaa|abcd|dddd`, `0000|abcd|0000`,
/// `dcba|abcd|dcba`, `abcd|abcd|abcd`.
public struct Augmentation: Equatable, Sendable, CustomStringConvertible {
  /// How `shift` and `rotate` fill pixels whose source lies outside the image.
  public enum FillMode: String, CaseIterable, Sendable {
    case nearest, constant, reflect, wrap
  }

  public var flip = false
  /// Largest shift as a fraction of the width and height, in [0, 0.5].
  public var shift = 0.0
  /// Padding of the random crop in pixels, 0...64.
  public var crop = 0
  /// Largest rotation in degrees, [0, 180].
  public var rotation = 0.0
  /// Largest relative brightness change, [0, 1).
  public var brightness = 0.0
  public var fill = FillMode.nearest

  /// No augmentation.
  public init() {}

  /// Keras's `ImageDataGenerator(width_shift_range=0.1,
  /// height_shift_range=0.1, horizontal_flip=True)`, the CIFAR-10 example's.
  public static let standard: Augmentation = {
    var augmentation = Augmentation()
    augmentation.flip = true
    augmentation.shift = 0.1
    return augmentation
  }()

  /// True when no transform is on: batches are used as they are.
  public var isIdentity: Bool {
    !flip && shift == 0 && crop == 0 && rotation == 0 && brightness == 0
  }

  /// Parses the text form (see the type's documentation); `none` is no
  /// augmentation. Later items override earlier ones, so `standard,shift=0.2`
  /// is a flip with a larger shift.
  public init(parsing text: String) throws(TrainerError) {
    self.init()
    func invalid(_ reason: String) -> TrainerError { .invalidAugmentation(reason) }
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    if items == ["none"] { return }
    for item in items {
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      let name = parts.first ?? ""
      let value = parts.count == 2 ? parts[1] : nil
      func number(_ range: ClosedRange<Double>, _ what: String) throws(TrainerError) -> Double {
        guard let value else { throw invalid("\(name) needs a value, e.g. \(name)=\(what)") }
        guard let number = Double(value), number.isFinite, range.contains(number) else {
          throw invalid("\(name)=\(value) is out of range; \(name) takes \(what)")
        }
        return number
      }
      switch name {
      case "standard", "flip":
        guard value == nil else { throw invalid("\(name) takes no value") }
        if name == "standard" {
          flip = Self.standard.flip
          shift = Self.standard.shift
        } else {
          flip = true
        }
      case "shift": shift = try number(0...0.5, "a fraction of the size in [0, 0.5]")
      case "rotate": rotation = try number(0...180, "degrees in [0, 180]")
      case "brightness":
        brightness = try number(0...0.999_999, "a relative change in [0, 1)")
      case "crop":
        let pixels = try number(0...64, "a padding of 0 to 64 pixels")
        guard pixels == pixels.rounded() else {
          throw invalid("crop=\(value ?? "") must be a whole number of pixels")
        }
        crop = Int(pixels)
      case "fill":
        guard let value, let mode = FillMode(rawValue: value) else {
          let modes = FillMode.allCases.map(\.rawValue).joined(separator: ", ")
          throw invalid("fill takes one of \(modes), not '\(value ?? "")'")
        }
        fill = mode
      case "":
        throw invalid("empty item in '\(text)'")
      default:
        throw invalid(
          "unknown transform '\(name)'; use standard, flip, shift=F, crop=P, rotate=D, "
            + "brightness=B, fill=MODE or none")
      }
    }
  }

  /// The canonical text form, which `init(parsing:)` reads back: `none`
  /// when off, else the transforms in order, `fill` only when it matters.
  public var description: String {
    guard !isIdentity else { return "none" }
    var items: [String] = []
    if flip { items.append("flip") }
    if shift != 0 { items.append("shift=\(shift)") }
    if crop != 0 { items.append("crop=\(crop)") }
    if rotation != 0 { items.append("rotate=\(rotation)") }
    if brightness != 0 { items.append("brightness=\(brightness)") }
    if fill != .nearest && (shift != 0 || rotation != 0) { items.append("fill=\(fill.rawValue)") }
    return items.joined(separator: ",")
  }
}

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

extension Augmentation {
  /// One image's random transform for images of `height` × `width`, drawn
  /// from `generator` in a fixed order (only the enabled transforms draw).
  public func draw(
    height: Int, width: Int, using generator: inout SeededGenerator
  ) -> ImageTransform {
    var t = ImageTransform()
    if flip { t.flip = generator.nextUnitFloat() < 0.5 }
    if rotation != 0 {
      t.rotation = generator.nextFloat(in: -Float(rotation), Float(rotation))
    }
    if shift != 0 {
      let s = Float(shift)
      t.shiftX = Int((generator.nextFloat(in: -s, s) * Float(width)).rounded())
      t.shiftY = Int((generator.nextFloat(in: -s, s) * Float(height)).rounded())
    }
    if crop != 0 {
      let choices = UInt64(2 * crop + 1)
      t.cropX = Int(generator.next() % choices) - crop
      t.cropY = Int(generator.next() % choices) - crop
    }
    if brightness != 0 {
      let b = Float(brightness)
      t.brightness = 1 + generator.nextFloat(in: -b, b)
    }
    return t
  }

  /// Augments every image of `batch`, (N, C, H, W), in place: transforms
  /// are drawn for the images in order, then applied to the images in
  /// parallel on the runtime's pool (each image's result depends on its
  /// transform alone, so the thread count changes nothing).
  public func apply(to batch: inout Tensor, using generator: inout SeededGenerator) {
    guard !isIdentity else { return }
    precondition(batch.shape.rank == 4, "augmentation needs (N, C, H, W) images")
    let (n, c, h, w) = (batch.shape[0], batch.shape[1], batch.shape[2], batch.shape[3])
    let transforms = (0..<n).map { _ in draw(height: h, width: w, using: &generator) }
    batch.storage.withUnsafeMutableBufferPointer { images in
      transforms.withUnsafeBufferPointer { transforms in
        var job = AugmentationJob(
          images: images.baseAddress!, transforms: transforms.baseAddress!, channels: c,
          height: h, width: w, fill: fill)
        _ = withUnsafeMutablePointer(to: &job) { job in
          cvz_parallel_for(Int32(n), augmentImage, job)
        }
      }
    }
  }
}

/// What the pool's workers share: the batch, one transform per image.
private struct AugmentationJob {
  let images: UnsafeMutablePointer<Float>
  let transforms: UnsafePointer<ImageTransform>
  let channels: Int
  let height: Int
  let width: Int
  let fill: Augmentation.FillMode
}

/// One image of an `AugmentationJob`, for `cvz_parallel_for`.
private func augmentImage(_ context: UnsafeMutableRawPointer?, _ index: Int32) -> Int32 {
  let job = context!.assumingMemoryBound(to: AugmentationJob.self).pointee
  let count = job.channels * job.height * job.width
  withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { scratch in
    job.transforms[Int(index)].apply(
      image: job.images + Int(index) * count, channels: job.channels, height: job.height,
      width: job.width, fill: job.fill, scratch: scratch.baseAddress!)
  }
  return CVZ_STATUS_OK
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
