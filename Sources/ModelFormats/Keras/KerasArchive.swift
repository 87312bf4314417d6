import Foundation
import ZIPFoundation

/// The parts of a `.keras` file (Keras 3's format): a zip holding
/// `config.json` (the architecture), `metadata.json` (the Keras version)
/// and `model.weights.h5` (the weights, HDF5), read into memory entry by
/// entry with ZIPFoundation, checksums checked.
struct KerasArchive {
  /// The local file header signature every non-empty zip starts with.
  static let signature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
  /// `config.json` and `metadata.json` larger than this are refused.
  static let maximumConfigBytes = 64 << 20

  var config: [UInt8]
  var metadata: [UInt8]?
  var weights: [UInt8]

  /// Whether `prefix`, a file's first bytes, looks like a zip.
  static func looksLikeZip(_ prefix: some Collection<UInt8>) -> Bool {
    prefix.starts(with: signature)
  }

  /// Reads the three entries of `bytes`; the weights may be at most
  /// `weightsLimit` bytes.
  init(_ bytes: [UInt8], weightsLimit: Int) throws(KerasProblem) {
    let archive: Archive
    do {
      archive = try Archive(data: Data(bytes), accessMode: .read)
    } catch {
      throw .corruptArchive(reason: "\(error)")
    }
    var entries: [String: Entry] = [:]
    for entry in archive where entries[entry.path] == nil {
      entries[entry.path] = entry
    }
    guard let config = entries["config.json"] else {
      let names = entries.keys.sorted().prefix(5).joined(separator: ", ")
      throw .notKerasArchive(
        reason: "a zip without config.json"
          + (names.isEmpty ? " (it is empty)" : " (it holds \(names)\(entries.count > 5 ? ", …" : ""))"))
    }
    guard let weights = entries["model.weights.h5"] else {
      if entries["model.weights.npz"] != nil {
        throw .notKerasArchive(reason: "weights in model.weights.npz; convviz reads model.weights.h5")
      }
      throw .notKerasArchive(reason: "a zip with config.json but no model.weights.h5")
    }
    self.config = try Self.read(config, from: archive, limit: Self.maximumConfigBytes)
    self.metadata = try entries["metadata.json"].map { (entry) throws(KerasProblem) in
      try Self.read(entry, from: archive, limit: Self.maximumConfigBytes)
    }
    self.weights = try Self.read(weights, from: archive, limit: weightsLimit)
  }

  /// One entry's bytes, refused past `limit` (also when the entry holds
  /// more than its header says) and checked against its CRC-32.
  private static func read(
    _ entry: Entry, from archive: Archive, limit: Int
  ) throws(KerasProblem) -> [UInt8] {
    guard entry.type == .file else {
      throw .notKerasArchive(reason: "\(entry.path) is not a file")
    }
    let declared = entry.uncompressedSize
    guard declared <= UInt64(limit) else {
      throw .tooLarge(what: entry.path, bytes: Int(clamping: declared), limit: limit)
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(min(declared, 1 << 26)))
    struct Overflow: Error {}
    do {
      let checksum = try archive.extract(entry) { chunk in
        guard bytes.count + chunk.count <= Int(declared) else { throw Overflow() }
        bytes.append(contentsOf: chunk)
      }
      guard checksum == entry.checksum, bytes.count == Int(declared) else {
        throw KerasProblem.corruptArchive(
          reason: "\(entry.path) does not match its checksum or size")
      }
    } catch let problem as KerasProblem {
      throw problem
    } catch is Overflow {
      throw .corruptArchive(reason: "\(entry.path) holds more than its declared \(declared) bytes")
    } catch {
      throw .corruptArchive(reason: "\(entry.path): \(error)")
    }
    return bytes
  }
}
