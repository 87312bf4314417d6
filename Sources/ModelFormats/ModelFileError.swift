import Files

/// Why a model file could not be read or written. Messages name the file
/// and the problem, plus what the user can do.
public enum ModelFileError: Error, Equatable, CustomStringConvertible {
  /// The file is missing, a directory, or unreadable.
  case cannotRead(path: String, reason: String)
  /// The first bytes are not "CVZMODEL".
  case notAModelFile(path: String)
  /// Written by another version of convviz.
  case unsupportedVersion(path: String, found: UInt32, expected: UInt32)
  /// Shorter than its header says (an interrupted copy, say).
  case truncated(path: String, expectedBytes: Int, actualBytes: Int)
  /// Longer than its header says.
  case trailingBytes(path: String, expectedBytes: Int, actualBytes: Int)
  case checksumMismatch(path: String, stored: UInt32, computed: UInt32)
  /// The checksum matches but a field is impossible.
  case malformed(path: String, reason: String)
  case invalidSpec(path: String, ModelSpecError)
  /// The stored tensors do not match what the spec needs.
  case parameterMismatch(path: String, reason: String)
  case tooLarge(path: String, bytes: Int)
  case cannotWrite(FileError)
  /// A model that the reader would refuse; it was not written.
  case unwritable(path: String, reason: String)
  /// An ONNX file that cannot be used, and why.
  case onnx(path: String, ONNXProblem)
  /// A Keras `.keras` or `.h5` file that cannot be used, and why.
  case keras(path: String, KerasProblem)

  public var description: String {
    switch self {
    case .cannotRead(let path, let reason):
      return "\(path): cannot read model file: \(reason)"
    case .notAModelFile(let path):
      return "\(path): not a convviz model file (no CVZMODEL signature)"
    case .unsupportedVersion(let path, let found, let expected) where found > expected:
      return "\(path): model file is version \(found), this convviz reads version \(expected); "
        + "upgrade convviz or retrain with `convviz train`"
    case .unsupportedVersion(let path, let found, let expected):
      return "\(path): model file is version \(found), expected \(expected); "
        + "retrain with `convviz train`"
    case .truncated(let path, let expected, let actual):
      return "\(path): model file is truncated (\(actual) of \(expected) bytes); "
        + "copy it again or retrain"
    case .trailingBytes(let path, let expected, let actual):
      return "\(path): model file has \(actual - expected) unexpected bytes after its end"
    case .checksumMismatch(let path, let stored, let computed):
      return "\(path): model file is corrupted (checksum \(hex(computed)), "
        + "expected \(hex(stored))); copy it again or retrain"
    case .malformed(let path, let reason):
      return "\(path): malformed model file: \(reason)"
    case .invalidSpec(let path, let error):
      return "\(path): model file holds an invalid model spec: \(error)"
    case .parameterMismatch(let path, let reason):
      return "\(path): model file weights do not match its spec: \(reason)"
    case .tooLarge(let path, let bytes):
      return "\(path): \(bytes) bytes is too large for a model file"
    case .cannotWrite(let error):
      return error.description
    case .unwritable(let path, let reason):
      return "\(path): model not written, it could not be read back: \(reason)"
    case .onnx(let path, let problem):
      return "\(path): \(problem)"
    case .keras(let path, let problem):
      return "\(path): \(problem)"
    }
  }
}

private func hex(_ value: UInt32) -> String {
  let digits = String(value, radix: 16)
  return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
