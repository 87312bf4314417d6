import Files

/// NumPy's `.npy` format, read and written: convviz writes weights and
/// attributions for `numpy.load`, and reads the input tensors and labels
/// a user fed another framework (`predict`, `evaluate`).
///
/// Layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
/// the magic bytes `\x93NUMPY`, a version (1.0: a little-endian UInt16
/// header length; 2.0 and 3.0: UInt32), then an ASCII dict `{'descr':
/// '<f4', 'fortran_order': False, 'shape': (…), }` padded with spaces and
/// ended by a newline so that the data starts at a multiple of 64 bytes,
/// then the values in C (row-major) order.
public enum NumPyFile {
  /// The element types convviz reads (little-endian, or single bytes).
  public enum DType: String, CaseIterable, Sendable {
    case float32 = "f4", float64 = "f8"
    case uint8 = "u1", uint16 = "u2", uint32 = "u4", uint64 = "u8"
    case int8 = "i1", int16 = "i2", int32 = "i4", int64 = "i8"

    /// Bytes per element.
    public var size: Int { Int(rawValue.dropFirst())! }
    public var isFloat: Bool { self == .float32 || self == .float64 }
    /// NumPy's name, `float32`, `uint8`.
    public var name: String { "\(self)" }
  }

  /// A decoded array: its element type, shape and raw little-endian data.
  public struct Array: Sendable {
    public var dtype: DType
    public var shape: [Int]
    /// `count × dtype.size` bytes, C order.
    public var data: [UInt8]

    /// The number of elements, the product of the shape (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// Every element as a Float (float64 and integers converted; Float's
    /// rounding for values it cannot hold exactly).
    public var floats: [Float] {
      var out = [Float](repeating: 0, count: count)
      data.withUnsafeBytes { raw in
        for i in 0..<count {
          let at = i * dtype.size
          switch dtype {
          case .float32:
            out[i] = Float(
              bitPattern: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
          case .float64:
            out[i] = Float(
              Double(
                bitPattern: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian))
          default: out[i] = Float(integer(raw, at))
          }
        }
      }
      return out
    }

    /// Every element as an Int; nil for float arrays.
    public var integers: [Int]? {
      guard !dtype.isFloat else { return nil }
      return data.withUnsafeBytes { raw in (0..<count).map { integer(raw, $0 * dtype.size) } }
    }

    private func integer(_ raw: UnsafeRawBufferPointer, _ at: Int) -> Int {
      switch dtype {
      case .uint8: return Int(raw[at])
      case .int8: return Int(Int8(bitPattern: raw[at]))
      case .uint16: return Int(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian)
      case .int16: return Int(raw.loadUnaligned(fromByteOffset: at, as: Int16.self).littleEndian)
      case .uint32: return Int(raw.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
      case .int32: return Int(raw.loadUnaligned(fromByteOffset: at, as: Int32.self).littleEndian)
      // Labels beyond Int.max are out of any class range; clamp, do not trap.
      case .uint64:
        return Int(clamping: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian)
      case .int64: return Int(raw.loadUnaligned(fromByteOffset: at, as: Int64.self).littleEndian)
      case .float32, .float64: preconditionFailure("not an integer dtype")
      }
    }
  }

  static let magic: [UInt8] = [0x93] + Swift.Array("NUMPY".utf8)

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
    var bytes: [UInt8] = magic + [1, 0]
    bytes += [UInt8(headerLength & 0xFF), UInt8(headerLength >> 8)]
    bytes += Swift.Array(header.utf8)
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
  ) throws(FileError) {
    try AtomicFile.write(encode(shape: shape, values: values), to: path)
  }

  /// Reads the array in `path`, refusing files larger than `maximumBytes`.
  public static func read(_ path: String, maximumBytes: Int) throws(NumPyError) -> Array {
    let bytes: [UInt8]
    do {
      bytes = try FileContents.read(path, maximumBytes: maximumBytes)
    } catch {
      throw .file(error)
    }
    do {
      return try decode(bytes)
    } catch {
      throw .format(path: path, error)
    }
  }

  /// Decodes a whole `.npy` file: versions 1.0 to 3.0, C order, the dtypes
  /// of `DType` little-endian (or `|` for single bytes).
  public static func decode(_ bytes: [UInt8]) throws(NumPyError.Problem) -> Array {
    guard bytes.count >= 10, bytes.starts(with: magic) else {
      throw .notNumPy
    }
    let major = bytes[6]
    let headerStart: Int
    let headerLength: Int
    switch major {
    case 1:
      headerStart = 10
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    case 2, 3:
      guard bytes.count >= 12 else { throw .truncated(expectedBytes: 12, foundBytes: bytes.count) }
      headerStart = 12
      headerLength = (8...11).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
    default:
      throw .unsupportedVersion(major: Int(major), minor: Int(bytes[7]))
    }
    guard bytes.count >= headerStart + headerLength else {
      throw .truncated(expectedBytes: headerStart + headerLength, foundBytes: bytes.count)
    }
    let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
    let fields = try HeaderFields(header)
    guard !fields.fortranOrder else { throw .fortranOrder }
    let dataStart = headerStart + headerLength
    guard let count = checkedCount(fields.shape),
      case (let size, false) = count.multipliedReportingOverflow(by: fields.dtype.size)
    else {
      throw .badHeader("shape \(fields.shape) is too large")
    }
    guard bytes.count - dataStart >= size else {
      throw .truncated(expectedBytes: dataStart + size, foundBytes: bytes.count)
    }
    guard bytes.count - dataStart == size else {
      throw .trailingBytes(bytes.count - dataStart - size)
    }
    return Array(dtype: fields.dtype, shape: fields.shape, data: Swift.Array(bytes[dataStart...]))
  }

  private static func checkedCount(_ shape: [Int]) -> Int? {
    var count = 1
    for d in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, d >= 0 else { return nil }
      count = product
    }
    return count
  }

  /// The three keys of the header dict, parsed from NumPy's own
  /// `repr` (single-quoted keys, Python literals).
  struct HeaderFields {
    var dtype: DType
    var fortranOrder: Bool
    var shape: [Int]

    init(_ header: String) throws(NumPyError.Problem) {
      func value(_ key: String) throws(NumPyError.Problem) -> Substring {
        guard let range = header.firstRange(of: "'\(key)':") else {
          throw .badHeader("no '\(key)' in the header")
        }
        return header[range.upperBound...].drop { $0 == " " }
      }
      let descrText = try value("descr")
      guard descrText.first == "'", let end = descrText.dropFirst().firstIndex(of: "'") else {
        throw .badHeader("'descr' is not a string")
      }
      let descr = descrText[descrText.index(after: descrText.startIndex)..<end]
      guard let order = descr.first, let type = DType(rawValue: String(descr.dropFirst())) else {
        throw .unsupportedDType(String(descr))
      }
      switch order {
      case "<", "=": break
      case "|" where type.size == 1: break
      case ">" where type.size == 1: break
      default: throw .unsupportedDType(String(descr))
      }
      dtype = type
      let fortran = try value("fortran_order")
      if fortran.hasPrefix("False") {
        fortranOrder = false
      } else if fortran.hasPrefix("True") {
        fortranOrder = true
      } else {
        throw .badHeader("'fortran_order' is neither True nor False")
      }
      let shapeText = try value("shape")
      guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
        throw .badHeader("'shape' is not a tuple")
      }
      var dims: [Int] = []
      for part in shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(
        separator: ",")
      {
        let text = String(part.filter { $0 != " " })
        if text.isEmpty { continue }
        guard let d = Int(text), d >= 0 else {
          throw .badHeader("'shape' holds \(text), not a size")
        }
        dims.append(d)
      }
      shape = dims
    }
  }
}

/// Why an `.npy` file could not be read.
public enum NumPyError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What is wrong inside the file's bytes.
  public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
    case notNumPy
    case unsupportedVersion(major: Int, minor: Int)
    case badHeader(String)
    case unsupportedDType(String)
    case fortranOrder
    case truncated(expectedBytes: Int, foundBytes: Int)
    case trailingBytes(Int)

    public var description: String {
      switch self {
      case .notNumPy:
        return "not a NumPy .npy file (no \\x93NUMPY magic)"
      case .unsupportedVersion(let major, let minor):
        return ".npy format version \(major).\(minor) is not supported (1.0 to 3.0 are)"
      case .badHeader(let reason):
        return "damaged .npy header: \(reason)"
      case .unsupportedDType(let descr):
        return "dtype '\(descr)' is not supported; save float32, float64, uint8 or (labels) "
          + "a little-endian integer array"
      case .fortranOrder:
        return "the array is in Fortran order; save it with np.ascontiguousarray first"
      case .truncated(let expected, let found):
        return "truncated: \(found) bytes, the header promises \(expected)"
      case .trailingBytes(let extra):
        return "\(extra) bytes after the data the header describes"
      }
    }
  }

  /// The file could not be read.
  case file(FileError)
  /// The file's bytes are not an array convviz reads.
  case format(path: String, Problem)

  public var description: String {
    switch self {
    case .file(let error): return error.description
    case .format(let path, let problem): return "\(path): \(problem)"
    }
  }
}
