/// How an image's pixels become the numbers a model was trained on, after
/// it has been brought to the input size: the value range, the channel
/// order and a per-channel mean and standard deviation, plus (for
/// torchvision's `Resize(S)` + `CenterCrop`) the side the image's shorter
/// side is scaled to before the centre is cut.
///
/// Each value x in [0, 1] (byte b / 255) becomes
/// `(x · scale − mean[c]) / std[c]`, channel c counted after the reorder:
/// torchvision's `ToTensor` + `Normalize` with scale 1, Caffe's BGR
/// mean subtraction with scale 255. `Datasets.PixelConversion` applies it;
/// model files record it (ONNX `metadata_props`, see `metadataEntries`).
public struct Preprocessing: Equatable, Sendable {
  /// The range of pixel values before mean and std: [0, 1] or [0, 255].
  public enum PixelScale: Int, CaseIterable, Sendable {
    case unit = 1
    case byte = 255
  }

  /// The order of a colour input's three channels.
  public enum ChannelOrder: String, CaseIterable, Sendable {
    case rgb, bgr
  }

  public var scale: PixelScale
  /// Subtracted per channel (one value for every channel, or one per
  /// channel); empty: nothing.
  public var mean: [Float]
  /// Divided per channel, after the mean; empty: 1.
  public var std: [Float]
  public var channelOrder: ChannelOrder
  /// With `--resize fill`: the shorter side of the image is first scaled
  /// to this many pixels (the longer side to `Int(S · long / short)`, as
  /// torchvision truncates) and the input's size is cut from the centre
  /// (offsets rounded half to even, as torchvision's `CenterCrop`). nil:
  /// the shorter side is scaled straight to the input's.
  public var shorterSide: Int?

  public init(
    scale: PixelScale = .unit, mean: [Float] = [], std: [Float] = [],
    channelOrder: ChannelOrder = .rgb, shorterSide: Int? = nil
  ) {
    self.scale = scale
    self.mean = mean
    self.std = std
    self.channelOrder = channelOrder
    self.shorterSide = shorterSide
  }

  /// Values in [0, 1], RGB, nothing subtracted: convviz's own models
  /// (Keras's `x / 255`).
  public static let standard = Preprocessing()

  /// torchvision's ImageNet classifiers: `Resize(256)`, `CenterCrop(224)`,
  /// `ToTensor()`, `Normalize(mean=[0.485, 0.456, 0.406], std=[0.229,
  /// 0.224, 0.225])`, for a 224 × 224 input.
  public static let imagenet = Preprocessing(
    scale: .unit, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: .rgb,
    shorterSide: 256)

  /// The input size the ImageNet preset was written for.
  public static let imagenetInputSide = 224

  /// Whether the values stay as they are ([0, 1], RGB, no mean or std).
  public var leavesValues: Bool {
    scale == .unit && mean.allSatisfy { $0 == 0 } && std.allSatisfy { $0 == 1 }
      && channelOrder == .rgb
  }

  /// `mean` or `std` has a count that fits neither 1 nor `channels`.
  public func mismatch(channels: Int) -> String? {
    for (name, values) in [("--mean", mean), ("--std", std)]
    where !values.isEmpty && values.count != 1 && values.count != channels {
      return "\(name) has \(values.count) values; the model takes "
        + (channels == 1 ? "1 channel (give 1)" : "\(channels) channels (give 1 or \(channels))")
    }
    return nil
  }

  /// Channel c's mean and std (0 and 1 when not given).
  public func meanAndStd(channel c: Int) -> (mean: Float, std: Float) {
    (
      mean.isEmpty ? 0 : mean[mean.count == 1 ? 0 : c],
      std.isEmpty ? 1 : std[std.count == 1 ? 0 : c]
    )
  }

  /// `0.485,0.456,0.406` as numbers; nil unless every part is a finite
  /// number.
  public static func values(_ text: String) -> [Float]? {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    let values = parts.compactMap { Float($0.filter { $0 != " " }) }
    guard !values.isEmpty, values.count == parts.count, values.allSatisfy(\.isFinite) else {
      return nil
    }
    return values
  }

  /// The values as `values(_:)` reads them, shortest exact form.
  public static func text(_ values: [Float]) -> String {
    values.map { "\($0)" }.joined(separator: ",")
  }

  /// The keys of a model file's metadata (ONNX `metadata_props`) that
  /// record this, with their text values: `convviz.pixel_scale` (`1` or
  /// `255`), `convviz.channel_order` (`rgb`, `bgr`), `convviz.mean` and
  /// `convviz.std` (comma-separated, left out when empty),
  /// `convviz.resize_shorter_side` (left out when nil).
  public var metadataEntries: [(key: String, value: String)] {
    var entries: [(key: String, value: String)] = [
      (Self.scaleKey, "\(scale.rawValue)"), (Self.orderKey, channelOrder.rawValue),
    ]
    if !mean.isEmpty { entries.append((Self.meanKey, Self.text(mean))) }
    if !std.isEmpty { entries.append((Self.stdKey, Self.text(std))) }
    if let shorterSide { entries.append((Self.shorterSideKey, "\(shorterSide)")) }
    return entries
  }

  public static let scaleKey = "convviz.pixel_scale"
  public static let orderKey = "convviz.channel_order"
  public static let meanKey = "convviz.mean"
  public static let stdKey = "convviz.std"
  public static let shorterSideKey = "convviz.resize_shorter_side"

  /// Reads what `metadataEntries` wrote through `value(key)`; keys that are
  /// missing keep the standard values. Returns the key and its text on the
  /// first value that does not parse.
  public init(metadata value: (String) -> String?) throws(InvalidEntry) {
    self.init()
    if let text = value(Self.scaleKey) {
      guard let number = Int(text), let scale = PixelScale(rawValue: number) else {
        throw InvalidEntry(key: Self.scaleKey, value: text, expected: "1 or 255")
      }
      self.scale = scale
    }
    if let text = value(Self.orderKey) {
      guard let order = ChannelOrder(rawValue: text.lowercased()) else {
        throw InvalidEntry(key: Self.orderKey, value: text, expected: "rgb or bgr")
      }
      channelOrder = order
    }
    if let text = value(Self.meanKey) {
      guard let values = Self.values(text) else {
        throw InvalidEntry(
          key: Self.meanKey, value: text, expected: "numbers such as 0.485,0.456,0.406")
      }
      mean = values
    }
    if let text = value(Self.stdKey) {
      guard let values = Self.values(text), values.allSatisfy({ $0 != 0 }) else {
        throw InvalidEntry(
          key: Self.stdKey, value: text, expected: "non-zero numbers such as 0.229,0.224,0.225")
      }
      std = values
    }
    if let text = value(Self.shorterSideKey) {
      guard let side = Int(text), side >= 1 else {
        throw InvalidEntry(
          key: Self.shorterSideKey, value: text, expected: "a positive pixel count")
      }
      shorterSide = side
    }
  }

  /// A metadata value `init(metadata:)` cannot read.
  public struct InvalidEntry: Error, Equatable, Sendable, CustomStringConvertible {
    public var key: String
    public var value: String
    public var expected: String

    public var description: String { "metadata \(key) is '\(value)', expected \(expected)" }
  }
}
