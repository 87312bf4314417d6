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
