/// The EXIF orientation tag (0x0112): how the stored pixels must be turned
/// to show the picture upright. Raw values are the tag's 1...8.
///
/// See the EXIF 2.32 specification, tag "Orientation", or
/// https://magnushoff.com/articles/jpeg-orientation/ for pictures.
public enum EXIFOrientation: Int, Sendable, CaseIterable {
  case up = 1, upMirrored, down, downMirrored, leftMirrored, right, rightMirrored, left

  /// Whether turning upright swaps width and height (orientations 5...8).
  public var swapsAxes: Bool { rawValue >= 5 }

  /// Reads the orientation from the first APP1 "Exif" segment before the
  /// image data of a JPEG. Nil when there is none or it is malformed:
  /// a broken EXIF block never makes a decodable image fail.
  init?(jpeg bytes: UnsafeBufferPointer<UInt8>) {
    guard let orientation = Self.scanJPEG(bytes).orientation else { return nil }
    self = orientation
  }

  /// `init?(jpeg:)` on the first bytes of a file: the orientation, and
  /// whether the scan got to a verdict (the image data, or the EXIF tag)
  /// within `bytes`, so that the rest of the file cannot change it.
  static func scanJPEG(
    _ bytes: UnsafeBufferPointer<UInt8>
  ) -> (orientation: EXIFOrientation?, decided: Bool) {
    guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return (nil, false) }
    var position = 2
    while position + 4 <= bytes.count {
      guard bytes[position] == 0xFF else { return (nil, false) }
      let marker = bytes[position + 1]
      if marker == 0xFF { position += 1; continue }  // fill byte
      if marker == 0xDA || marker == 0xD9 { return (nil, true) }  // image data or end: no EXIF
      if marker == 0x01 || (0xD0...0xD7).contains(marker) { position += 2; continue }
      let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
      let start = position + 4, end = position + 2 + length
      guard length >= 2, end <= bytes.count else { return (nil, false) }
      if marker == 0xE1, let value = Self.orientation(inAPP1: bytes[start..<end]) {
        return (EXIFOrientation(rawValue: value), true)
      }
      position = end
    }
    return (nil, false)
  }

  /// Whether the chunks of a PNG's first bytes reach the image data (IDAT)
  /// within `bytes`: then every chunk before it was seen.
  static func pngReachesImageData(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count >= 8, bytes.prefix(8).elementsEqual(PNGCodec.signature) else {
      return false
    }
    var position = 8
    while position + 8 <= bytes.count {
      let length = (0..<4).reduce(0) { $0 << 8 | Int(bytes[position + $1]) }
      if bytes[(position + 4)..<(position + 8)].elementsEqual([0x49, 0x44, 0x41, 0x54]) {
        return true
      }
      guard length <= bytes.count else { return false }
      position += 12 + length
    }
    return false
  }

  /// Reads the orientation from a PNG's eXIf chunk (PNG 1.5's extension: a
  /// TIFF header and IFD0, which some writers put after an "Exif\0\0"
  /// prefix as in JPEG). Nil when there is none or it is malformed.
  init?(png bytes: UnsafeBufferPointer<UInt8>) {
    guard bytes.count >= 8, bytes.prefix(8).elementsEqual(PNGCodec.signature) else { return nil }
    var position = 8
    while position + 12 <= bytes.count {
      let length = (0..<4).reduce(0) { $0 << 8 | Int(bytes[position + $1]) }
      let start = position + 8
      guard length <= bytes.count - start - 4 else { return nil }
      let type = String(decoding: bytes[(position + 4)..<start], as: UTF8.self)
      if type == "IEND" { return nil }
      if type == "eXIf" {
        var tiff = bytes[start..<(start + length)]
        if tiff.starts(with: Self.exifHeader) { tiff = tiff.dropFirst(Self.exifHeader.count) }
        guard let value = Self.orientation(inTIFF: tiff) else { return nil }
        self.init(rawValue: value)
        return
      }
      position = start + length + 4
    }
    return nil
  }

  private static let exifHeader: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]

  /// The orientation value in an APP1 payload ("Exif\0\0" + TIFF header +
  /// IFD0), in either byte order; nil if the payload is not EXIF or has no
  /// valid tag.
  static func orientation(inAPP1 payload: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
    guard payload.count >= 14, payload.prefix(6).elementsEqual(exifHeader) else { return nil }
    return orientation(inTIFF: payload.dropFirst(exifHeader.count))
  }

  /// The orientation value in a TIFF header + IFD0, in either byte order.
  static func orientation(inTIFF payload: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
    guard payload.count >= 8 else { return nil }
    let tiff = payload.startIndex
    let tiffCount = payload.endIndex - tiff
    let bigEndian: Bool
    switch (payload[tiff], payload[tiff + 1]) {
    case (0x4D, 0x4D): bigEndian = true
    case (0x49, 0x49): bigEndian = false
    default: return nil
    }
    func read(_ offset: Int, _ size: Int) -> Int? {
      guard offset >= 0, offset + size <= tiffCount else { return nil }
      var value = 0
      for i in 0..<size {
        let byte = Int(payload[tiff + offset + (bigEndian ? i : size - 1 - i)])
        value = value << 8 | byte
      }
      return value
    }
    guard read(2, 2) == 42, let ifd = read(4, 4), let entries = read(ifd, 2) else { return nil }
    for entry in 0..<entries {
      let at = ifd + 2 + entry * 12
      guard let tag = read(at, 2) else { return nil }
      guard tag == 0x0112 else { continue }
      // Type SHORT (3), count 1: the value sits in the first 2 bytes of the field.
      guard read(at + 2, 2) == 3, read(at + 4, 4) == 1, let value = read(at + 8, 2),
        (1...8).contains(value)
      else { return nil }
      return value
    }
    return nil
  }
}
