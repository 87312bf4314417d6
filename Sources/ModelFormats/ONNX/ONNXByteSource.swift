import Files
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Bytes an ONNX reader takes by offset: a model file read piece by piece
/// with `pread` (its pages never held in the process), or bytes already in
/// memory. The wire scanner and the weight conversion read through it, so
/// a weight goes from the file straight into its Float array.
protocol ONNXByteSource {
  /// The number of bytes.
  var count: Int { get }
  /// Fills `buffer` with the bytes from `offset`; throws
  /// `ONNXSourceFailure` when they cannot be read (the file shrank, or the
  /// system reported an error).
  func copy(from offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(ONNXSourceFailure)
}

/// Why an `ONNXByteSource` could not give its bytes.
struct ONNXSourceFailure: Error {
  let reason: String
}

/// Bytes in memory: a whole model read at once (`[UInt8]`), or a parsed
/// `raw_data` field (`Data`).
struct ONNXMemorySource<Bytes: ContiguousBytes & Collection>: ONNXByteSource {
  let bytes: Bytes

  var count: Int { bytes.count }

  func copy(
    from offset: Int, into buffer: UnsafeMutableRawBufferPointer
  ) throws(ONNXSourceFailure) {
    guard offset >= 0, buffer.count <= count - offset else {
      throw ONNXSourceFailure(reason: "read past the end of the data")
    }
    guard buffer.count > 0 else { return }
    bytes.withUnsafeBytes { all in
      buffer.copyMemory(
        from: UnsafeRawBufferPointer(rebasing: all[offset..<(offset + buffer.count)]))
    }
  }
}

/// A slice of another source (an external-data file's part for one tensor,
/// an initializer's `raw_data`).
struct ONNXSourceSlice: ONNXByteSource {
  let base: any ONNXByteSource
  let start: Int
  let count: Int

  func copy(
    from offset: Int, into buffer: UnsafeMutableRawBufferPointer
  ) throws(ONNXSourceFailure) {
    guard offset >= 0, buffer.count <= count - offset else {
      throw ONNXSourceFailure(reason: "read past the end of the data")
    }
    try base.copy(from: start + offset, into: buffer)
  }
}

/// A regular file open for reading, read with `pread`: nothing of it stays
/// in memory but what the caller copies out. The descriptor closes with the
/// last reference.
final class ONNXFileSource: ONNXByteSource {
  let path: String
  let count: Int
  private let fd: Int32

  /// Opens `path` with `FileContents.open`'s checks (a regular file, no
  /// larger than `maximumBytes`).
  init(path: String, maximumBytes: Int) throws(FileError) {
    (fd, count) = try FileContents.open(path, maximumBytes: maximumBytes)
    self.path = path
  }

  deinit { close(fd) }

  func copy(
    from offset: Int, into buffer: UnsafeMutableRawBufferPointer
  ) throws(ONNXSourceFailure) {
    guard offset >= 0, buffer.count <= count - offset else {
      throw ONNXSourceFailure(reason: "read past the end of the file")
    }
    var done = 0
    while done < buffer.count {
      let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
      if n < 0 {
        if errno == EINTR { continue }
        throw ONNXSourceFailure(reason: "cannot read file: \(String(cString: strerror(errno)))")
      }
      guard n > 0 else { throw ONNXSourceFailure(reason: "the file shrank while it was read") }
      done += n
    }
  }
}
