import Tensors
import _HDF5Shims

/// An HDF5 file as a child process read it (`cvz_h5_read_in_child`):
/// groups, float datasets and string attributes, what Keras weights files
/// hold. convviz's own process never calls libhdf5 on a file: Debian 12's
/// libhdf5 1.10 can crash on crafted files (Tests/FuzzRegressions/keras/),
/// loop on them (Fuzz/libhdf5-hangs/) or allocate without bound, and the
/// order in which a reader asks for things changes which of those it
/// meets. The child reads everything once, within bounds of time and
/// memory, and sends back a summary (its format is described in
/// hdf5_reader.c), which this type parses; every failure is a
/// `KerasProblem.corruptHDF5` with libhdf5's words, thrown when the
/// reader asks for what failed.
final class HDF5Summary {
  /// A value the child read, or libhdf5's words for why it could not.
  enum Outcome<Value> {
    case read(Value)
    case failed(String)
  }

  /// A dataset's values: where they lie in the summary, or why they are
  /// not there.
  enum Values {
    case at(offset: Int, count: Int)
    case failed(String)
    /// Not numbers, or over the tensor limit (the shape says which).
    case notRead
  }

  struct Link {
    let name: String
    let target: Outcome<Int>
  }

  struct Node {
    var kind: HDF5Object.Kind
    var attributes: [String: Outcome<[String]>] = [:]
    /// Why some attributes could not be listed, when they could not.
    var attributeFailure: String?
    var links: Outcome<[Link]>?
    var shape: Outcome<(dims: [UInt64], element: cvz_h5_class)>?
    var values: Values = .notRead
  }

  private let base: UnsafeRawPointer
  private let size: Int
  private(set) var nodes: [Int: Node] = [:]

  /// Takes ownership of the child's mapping.
  init(mapping base: UnsafeRawPointer, size: Int) throws(KerasProblem) {
    self.base = base
    self.size = size
    var reader = Reader(bytes: UnsafeRawBufferPointer(start: base, count: size))
    guard size >= 8, reader.bytes.prefix(8).elementsEqual("CVZH5SUM".utf8) else {
      throw Reader.malformed
    }
    reader.at = 8
    if try reader.u8() != 0 {
      throw .corruptHDF5(reason: try reader.text())
    }
    while true {
      let index = try reader.u64()
      if index == UInt64.max { break }
      guard index < 1 << 24, nodes[Int(index)] == nil else { throw Reader.malformed }
      nodes[Int(index)] = try reader.node()
    }
    guard nodes[0]?.kind == .group else { throw Reader.malformed }
  }

  deinit { cvz_h5_summary_free(base, size) }

  /// `count` float32 values at `offset` (checked when parsed).
  func floats(at offset: Int, count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      if count > 0 {
        UnsafeMutableRawBufferPointer(buffer).copyMemory(
          from: UnsafeRawBufferPointer(start: base + offset, count: count * 4))
      }
      initialized = count
    }
  }

  /// Reads the summary's little-endian fields, every length checked.
  private struct Reader {
    static let malformed = KerasProblem.corruptHDF5(
      reason: "the process reading the HDF5 file sent back a malformed summary")

    let bytes: UnsafeRawBufferPointer
    var at = 0

    mutating func take(_ count: Int) throws(KerasProblem) -> UnsafeRawBufferPointer {
      guard count >= 0, count <= bytes.count - at else { throw Self.malformed }
      defer { at += count }
      return UnsafeRawBufferPointer(rebasing: bytes[at..<at + count])
    }

    mutating func u8() throws(KerasProblem) -> UInt8 { try take(1)[0] }

    mutating func u32() throws(KerasProblem) -> UInt32 {
      UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self))
    }

    mutating func u64() throws(KerasProblem) -> UInt64 {
      UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self))
    }

    /// A count or length, at most what is left of the summary.
    mutating func count() throws(KerasProblem) -> Int {
      let value = try u64()
      guard value <= UInt64(bytes.count - at) else { throw Self.malformed }
      return Int(value)
    }

    mutating func text() throws(KerasProblem) -> String {
      String(decoding: try take(try count()), as: UTF8.self)
    }

    mutating func node() throws(KerasProblem) -> Node {
      let kind: HDF5Object.Kind =
        switch try u8() {
        case UInt8(CVZ_H5_GROUP.rawValue): .group
        case UInt8(CVZ_H5_DATASET.rawValue): .dataset
        default: .other
        }
      var node = Node(kind: kind)
      if try u8() != 0 { node.attributeFailure = try text() }
      for _ in 0..<(try count()) {
        let name = try text()
        if try u8() == 0 {
          let strings = try count()
          let text = try take(try count())
          let parts = text.split(separator: 0, omittingEmptySubsequences: false)
          guard parts.count > strings else { throw Self.malformed }
          node.attributes[name] = .read(
            parts.prefix(strings).map { String(decoding: $0, as: UTF8.self) })
        } else {
          node.attributes[name] = .failed(try text())
        }
      }
      switch kind {
      case .group:
        if try u8() == 0 {
          var links: [Link] = []
          for _ in 0..<(try count()) {
            let name = try text()
            let target: Outcome<Int> =
              if try u8() == 0 {
                .read(try index())
              } else {
                .failed(try text())
              }
            links.append(Link(name: name, target: target))
          }
          node.links = .read(links)
        } else {
          node.links = .failed(try text())
        }
      case .dataset:
        if try u8() == 0 {
          let rank = Int(try u32())
          guard rank <= Int(CVZ_H5_MAX_RANK) else { throw Self.malformed }
          var dims: [UInt64] = []
          for _ in 0..<rank { dims.append(try u64()) }
          node.shape = .read((dims, cvz_h5_class(UInt32(try u8()))))
        } else {
          node.shape = .failed(try text())
        }
        switch try u8() {
        case 0:
          let count = try count()
          guard count <= (bytes.count - at) / 4 else { throw Self.malformed }
          node.values = .at(offset: at, count: count)
          at += count * 4
        case 1: node.values = .failed(try text())
        default: node.values = .notRead
        }
      case .other:
        break
      }
      return node
    }

    mutating func index() throws(KerasProblem) -> Int {
      let value = try u64()
      guard value < 1 << 24 else { throw Self.malformed }
      return Int(value)
    }
  }
}

/// A group or dataset of an HDF5 file (`HDF5Summary`).
final class HDF5Object {
  enum Kind { case group, dataset, other }

  /// HDF5's eight-byte signature at the start of a file.
  static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
  /// Attributes (JSON configs, name lists) larger than this are refused
  /// (hdf5_reader.c's MAXIMUM_ATTRIBUTE_BYTES).
  static let maximumAttributeBytes = 64 << 20

  private let file: HDF5Summary
  /// The object's node in the summary: one per object, however many
  /// links reach it.
  let index: Int
  /// The largest dataset, in bytes, this file may allocate.
  let tensorLimit: Int

  private init(file: HDF5Summary, index: Int, tensorLimit: Int) {
    self.file = file
    self.index = index
    self.tensorLimit = tensorLimit
  }

  private var node: HDF5Summary.Node { file.nodes[index]! }

  var kind: Kind { node.kind }

  /// The root group of the HDF5 file `bytes`, read in a child process
  /// that may take `seconds`, use at most `memoryLimit` bytes more than it
  /// starts with and send back at most `summaryLimit` bytes. A dataset may
  /// need at most `tensorLimit` bytes.
  static func open(
    _ bytes: [UInt8], seconds: Double, tensorLimit: Int, memoryLimit: Int, summaryLimit: Int
  ) throws(KerasProblem) -> HDF5Object {
    var reason = [CChar](repeating: 0, count: 512)
    if cvz_h5_load(&reason, reason.count) != 0 {
      throw .libraryUnavailable(
        reason: reason.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    var summary: UnsafeRawPointer? = nil
    var summarySize = 0
    let status = bytes.withUnsafeBytes {
      cvz_h5_read_in_child(
        $0.baseAddress, $0.count, seconds, tensorLimit, memoryLimit, summaryLimit, &summary,
        &summarySize, &reason, reason.count)
    }
    guard status == 0, let summary else {
      let message = reason.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      throw .corruptHDF5(reason: message.isEmpty ? "libhdf5 failed" : message)
    }
    let file = try HDF5Summary(mapping: summary, size: summarySize)
    return HDF5Object(file: file, index: 0, tensorLimit: tensorLimit)
  }

  /// The object at `path` (a name or a/b/c) below this group; nil when
  /// there is none.
  func child(_ path: String) throws(KerasProblem) -> HDF5Object? {
    var at = index
    for name in path.split(separator: "/") {
      guard let links = file.nodes[at]?.links else { return nil }
      switch links {
      case .failed(let reason): throw .corruptHDF5(reason: reason)
      case .read(let links):
        guard let link = links.first(where: { $0.name == name }) else { return nil }
        switch link.target {
        case .failed(let reason): throw .corruptHDF5(reason: reason)
        case .read(let target):
          guard file.nodes[target] != nil else {
            throw .corruptHDF5(reason: "the HDF5 reader left out the object at \(path)")
          }
          at = target
        }
      }
    }
    return HDF5Object(file: file, index: at, tensorLimit: tensorLimit)
  }

  /// The group at `path`, or nil when there is none or it is not a group.
  func group(_ path: String) throws(KerasProblem) -> HDF5Object? {
    guard let object = try child(path), object.kind == .group else { return nil }
    return object
  }

  /// The names of this group's links, in name order.
  func childNames() throws(KerasProblem) -> [String] {
    switch node.links {
    case nil: throw .corruptHDF5(reason: "cannot list an HDF5 object that is not a group")
    case .failed(let reason): throw .corruptHDF5(reason: reason)
    case .read(let links):
      return try links.map { (link) throws(KerasProblem) in
        if link.name.isEmpty, case .failed(let reason) = link.target {
          throw .corruptHDF5(reason: reason)
        }
        return link.name
      }
    }
  }

  /// A string attribute's strings (one for a scalar); nil when the object
  /// has no attribute `name`.
  func strings(_ name: String) throws(KerasProblem) -> [String]? {
    switch node.attributes[name] {
    case .read(let strings): return strings
    case .failed(let reason): throw .corruptHDF5(reason: reason)
    case nil:
      if let reason = node.attributeFailure { throw .corruptHDF5(reason: reason) }
      return nil
    }
  }

  /// The string attribute `name` when it holds exactly one string.
  func string(_ name: String) throws(KerasProblem) -> String? {
    guard let values = try strings(name), values.count == 1 else { return nil }
    return values[0]
  }

  /// The dataset's dimensions.
  func shape() throws(KerasProblem) -> (dims: [Int], isNumber: Bool) {
    switch node.shape {
    case nil:
      throw .corruptHDF5(reason: "cannot read the shape of an HDF5 object that is not a dataset")
    case .failed(let reason): throw .corruptHDF5(reason: reason)
    case .read(let (dims, element)):
      guard dims.allSatisfy({ $0 <= UInt64(Int.max) }) else {
        throw .corruptHDF5(reason: "a dataset has a dimension beyond any size")
      }
      let isNumber = element == CVZ_H5_CLASS_FLOAT || element == CVZ_H5_CLASS_INTEGER
      return (dims.map { Int($0) }, isNumber)
    }
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
    switch node.values {
    case .failed(let reason): throw .corruptHDF5(reason: reason)
    case .notRead: throw .corruptHDF5(reason: "the HDF5 reader did not read \(what)")
    case .at(let offset, let stored):
      guard stored == count else {
        throw .corruptHDF5(reason: "dataset holds \(stored) values, expected \(count)")
      }
      return Tensor(shape: Shape(dims), storage: file.floats(at: offset, count: count))
    }
  }
}
