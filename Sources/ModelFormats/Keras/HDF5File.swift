import Tensors
import _HDF5Shims

/// An HDF5 file opened read-only from its bytes, through the
/// `_HDF5Shims` C functions: groups, float datasets and string attributes,
/// what Keras weights files hold. Every failure is a
/// `KerasProblem.corruptHDF5` with libhdf5's words.
///
/// Objects keep their file open; each handle is closed when its object
/// goes away.
final class HDF5Object {
  enum Kind { case group, dataset, other }

  /// HDF5's eight-byte signature at the start of a file.
  static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
  /// Attributes (JSON configs, name lists) larger than this are refused.
  static let maximumAttributeBytes = 64 << 20

  let handle: Int64
  let kind: Kind
  /// The object that must stay open while this one is (the file).
  private let owner: HDF5Object?
  /// The largest dataset, in bytes, this file may allocate.
  let tensorLimit: Int

  private init(handle: Int64, kind: Kind, owner: HDF5Object?, tensorLimit: Int) {
    self.handle = handle
    self.kind = kind
    self.owner = owner
    self.tensorLimit = tensorLimit
  }

  deinit { cvz_h5_close(handle) }

  /// The root group of the HDF5 file `bytes`. A dataset may need at most
  /// `tensorLimit` bytes.
  ///
  /// The file is first read whole in a child process
  /// (`cvz_h5_check_in_child`): Debian 12's libhdf5 1.10 can crash on
  /// crafted files (Tests/FuzzRegressions/keras/), loop on them
  /// (Fuzz/libhdf5-hangs/) or allocate without bound; a crash there costs
  /// only the child, and the child may use at most `memoryLimit` bytes more
  /// than it starts with: each becomes this error.
  static func open(
    _ bytes: [UInt8], tensorLimit: Int, memoryLimit: Int
  ) throws(KerasProblem) -> HDF5Object {
    var reason = [CChar](repeating: 0, count: 512)
    if cvz_h5_load(&reason, reason.count) != 0 {
      throw .libraryUnavailable(
        reason: reason.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    try call { message, capacity in
      bytes.withUnsafeBytes {
        cvz_h5_check_in_child(
          $0.baseAddress, $0.count, tensorLimit, memoryLimit, message, capacity)
      }
    }
    var file: Int64 = -1
    let status = try call { message, capacity in
      bytes.withUnsafeBytes {
        cvz_h5_open_image($0.baseAddress, $0.count, &file, message, capacity)
      }
    }
    guard status == 0 else { throw .corruptHDF5(reason: "cannot open") }
    return HDF5Object(handle: file, kind: .group, owner: nil, tensorLimit: tensorLimit)
  }

  /// Runs a shim function with a message buffer; a -1 becomes the error.
  @discardableResult
  private static func call(
    _ body: (UnsafeMutablePointer<CChar>, Int) -> Int32
  ) throws(KerasProblem) -> Int32 {
    var buffer = [CChar](repeating: 0, count: 512)
    let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    guard status >= 0 else {
      let reason = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      throw .corruptHDF5(reason: reason.isEmpty ? "libhdf5 failed" : reason)
    }
    return status
  }

  /// The object at `path` (a name or a/b/c) below this group; nil when
  /// there is none.
  func child(_ path: String) throws(KerasProblem) -> HDF5Object? {
    var object: Int64 = -1
    var kind = CVZ_H5_OTHER
    let status = try Self.call { message, capacity in
      cvz_h5_open(handle, path, &object, &kind, message, capacity)
    }
    guard status == 0 else { return nil }
    let mapped: Kind =
      switch kind {
      case CVZ_H5_GROUP: .group
      case CVZ_H5_DATASET: .dataset
      default: .other
      }
    return HDF5Object(
      handle: object, kind: mapped, owner: owner ?? self, tensorLimit: tensorLimit)
  }

  /// The group at `path`, or nil when there is none or it is not a group.
  func group(_ path: String) throws(KerasProblem) -> HDF5Object? {
    guard let object = try child(path), object.kind == .group else { return nil }
    return object
  }

  /// The names of this group's links, in name order.
  func childNames() throws(KerasProblem) -> [String] {
    var count: UInt64 = 0
    try Self.call { cvz_h5_child_count(handle, &count, $0, $1) }
    guard count <= 1 << 20 else {
      throw .corruptHDF5(reason: "a group has \(count) members")
    }
    var names: [String] = []
    var name = [CChar](repeating: 0, count: 4096)
    for index in 0..<count {
      _ = try name.withUnsafeMutableBufferPointer { (buffer) throws(KerasProblem) in
        try Self.call { cvz_h5_child_name(handle, index, buffer.baseAddress, buffer.count, $0, $1) }
      }
      names.append(name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    return names
  }

  /// A string attribute's strings (one for a scalar); nil when the object
  /// has no attribute `name`.
  func strings(_ name: String) throws(KerasProblem) -> [String]? {
    let exists = try Self.call { cvz_h5_attribute_exists(handle, name, $0, $1) }
    guard exists == 1 else { return nil }
    var text: UnsafeMutablePointer<CChar>? = nil
    var length = 0
    var count = 0
    try Self.call {
      cvz_h5_attribute_strings(
        handle, name, Self.maximumAttributeBytes, &text, &length, &count, $0, $1)
    }
    defer { cvz_h5_free(text) }
    guard let text else { return [] }
    let bytes = UnsafeBufferPointer(
      start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: length)
    let parts = bytes.split(separator: 0, omittingEmptySubsequences: false).prefix(count)
    return parts.map { String(decoding: $0, as: UTF8.self) }
  }

  /// The string attribute `name` when it holds exactly one string.
  func string(_ name: String) throws(KerasProblem) -> String? {
    guard let values = try strings(name), values.count == 1 else { return nil }
    return values[0]
  }

  /// The dataset's dimensions.
  func shape() throws(KerasProblem) -> (dims: [Int], isNumber: Bool) {
    var rank: Int32 = 0
    var dims = [UInt64](repeating: 0, count: Int(CVZ_H5_MAX_RANK))
    var element = CVZ_H5_CLASS_OTHER
    _ = try dims.withUnsafeMutableBufferPointer { (buffer) throws(KerasProblem) in
      try Self.call { cvz_h5_dataset_shape(handle, &rank, buffer.baseAddress, &element, $0, $1) }
    }
    let isNumber = element == CVZ_H5_CLASS_FLOAT || element == CVZ_H5_CLASS_INTEGER
    guard dims.prefix(Int(rank)).allSatisfy({ $0 <= UInt64(Int.max) }) else {
      throw .corruptHDF5(reason: "a dataset has a dimension beyond any size")
    }
    return (dims.prefix(Int(rank)).map { Int($0) }, isNumber)
  }

  /// The dataset's values as float32 in its own shape (row-major, as Keras
  /// stores kernels: HWIO for Conv2D, (in, out) for Dense). `what` names
  /// it in errors.
  func tensor(what: String) throws(KerasProblem) -> Tensor {
    let (dims, isNumber) = try shape()
    guard isNumber else {
      throw .invalidConfig(reason: "\(what) does not hold numbers")
    }
    guard let count = checkedProduct(dims), count <= tensorLimit / 4 else {
      throw .tooLarge(what: what, bytes: checkedProduct(dims + [4]) ?? Int.max, limit: tensorLimit)
    }
    var values = [Float](repeating: 0, count: count)
    _ = try values.withUnsafeMutableBufferPointer { (buffer) throws(KerasProblem) in
      try Self.call { cvz_h5_dataset_read_float(handle, buffer.baseAddress, count, $0, $1) }
    }
    return Tensor(shape: Shape(dims), storage: values)
  }
}
