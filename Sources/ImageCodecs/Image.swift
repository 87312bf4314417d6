/// A decoded raster image: interleaved samples, top row first.
///
/// Samples are 8-bit (`samples8`) or 16-bit (`samples16`); exactly one of the
/// two arrays is filled, as `bitDepth` says. Index of sample `c` of pixel
/// (x, y) is `(y * width + x) * channels + c`.
public struct Image: Sendable, Equatable {
  /// How the channels of a pixel are to be read.
  public enum Layout: Int, Sendable, CaseIterable {
    case gray = 1, grayAlpha = 2, rgb = 3, rgba = 4
    public var channels: Int { rawValue }
    public var hasAlpha: Bool { self == .grayAlpha || self == .rgba }
  }
  public enum BitDepth: Int, Sendable { case eight = 8, sixteen = 16 }

  public var width: Int
  public var height: Int
  public var layout: Layout
  public var bitDepth: BitDepth
  public var samples8: [UInt8]
  public var samples16: [UInt16]

  public var channels: Int { layout.channels }
  public var pixelCount: Int { width * height }

  /// An 8-bit image.
  public init(width: Int, height: Int, layout: Layout, samples: [UInt8]) {
    precondition(
      samples.count == width * height * layout.channels, "sample count does not match size")
    self.width = width; self.height = height; self.layout = layout
    self.bitDepth = .eight; self.samples8 = samples; self.samples16 = []
  }

  /// A 16-bit image.
  public init(width: Int, height: Int, layout: Layout, samples16: [UInt16]) {
    precondition(
      samples16.count == width * height * layout.channels, "sample count does not match size")
    self.width = width; self.height = height; self.layout = layout
    self.bitDepth = .sixteen; self.samples8 = []; self.samples16 = samples16
  }
}
