import Files

/// Writes arrays in NumPy's `.npy` format (version 1.0), so that
/// `numpy.load` reads convviz's weights.
///
/// Layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
/// the magic bytes `\x93NUMPY`, version 1.0, a little-endian UInt16 header
/// length, then an ASCII dict `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (…), }` padded with spaces and ended by a newline so that the data
/// starts at a multiple of 64 bytes, then the float32 values, little-endian,
/// in C (row-major) order.
public enum NumPyFile {
  /// The complete file for a float32 array of `shape` (C order).
  public static func encode(shape: [Int], values: [Float]) -> [UInt8] {
    precondition(shape.reduce(1, *) == values.count, "\(values.count) values for shape \(shape)")
    let shapeText: String
    switch shape.count {
    case 0: shapeText = "()"
    case 1: shapeText = "(\(shape[0]),)"
    default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
    let preamble = 10
    let unpadded = preamble + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    let headerLength = header.utf8.count
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    bytes += [UInt8(headerLength & 0xFF), UInt8(headerLength >> 8)]
    bytes += Array(header.utf8)
    bytes.reserveCapacity(bytes.count + 4 * values.count)
    for v in values {
      let bits = v.bitPattern.littleEndian
      bytes += [
        UInt8(bits & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8((bits >> 16) & 0xFF),
        UInt8(bits >> 24),
      ]
    }
    return bytes
  }

  /// Writes the array atomically to `path`.
  public static func write(
    shape: [Int], values: [Float], to path: String
  )
    throws(VisualizationError)
  {
    do {
      try AtomicFile.write(encode(shape: shape, values: values), to: path)
    } catch {
      throw .cannotWrite(error)
    }
  }
}
