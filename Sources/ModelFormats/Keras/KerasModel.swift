import Engine
import Foundation
import Tensors

/// A Keras model as convviz reads it: the architecture (Sequential or
/// Functional) and the weights, from any of the files Keras saves.
///
/// - `.keras` (Keras 3's `model.save("m.keras")`): a zip of `config.json`,
///   `metadata.json` and `model.weights.h5`.
/// - legacy `.h5` (`model.save("m.h5")`, Keras 2's format): the
///   architecture in the root's `model_config` attribute, the weights
///   under `model_weights`.
/// - weights only (`save_weights`, Keras 3's or Keras 2's layout): no
///   architecture; `parameters(for:)` fits them to a convviz spec.
///
/// The kind is told from the bytes (zip or HDF5 signature), never from the
/// file name. `makeGraph` builds the engine's graph (KerasModel+Graph).
public struct KerasModel: Sendable {
  public enum Format: String, Sendable {
    case keras = "Keras 3 .keras"
    case legacyHDF5 = "Keras legacy HDF5"
    case weightsOnly = "Keras weights"
  }

  public let format: Format
  /// The Keras version that saved the file, when it says.
  public let kerasVersion: String?
  /// nil for a weights-only file.
  public let architecture: KerasArchitecture?
  let weights: KerasWeights

  /// Files larger than this are refused before they are read.
  public static let maximumFileSize = 1 << 33

  /// Whether `prefix`, a file's first bytes, looks like a Keras file: a zip
  /// (`.keras`) or an HDF5 file (`.h5`).
  public static func looksLikeKeras(_ prefix: some Collection<UInt8>) -> Bool {
    KerasArchive.looksLikeZip(prefix) || prefix.starts(with: HDF5Object.signature)
  }

  /// Reads a Keras file's bytes; `path` names it in errors. libhdf5 reads
  /// the weights in a child process that may take `readingTime`, use at
  /// most `readingAllowance` bytes (within `memory`; a corrupt file that
  /// makes it allocate more is refused as corrupt) and send back at most
  /// `memory` bytes.
  public static func decode(
    _ bytes: [UInt8], path: String, memory: MemoryBudget = .systemDefault()
  ) throws(ModelFileError) -> KerasModel {
    do {
      return try KerasModel(bytes, memory: memory)
    } catch {
      throw .keras(path: path, error)
    }
  }

  /// The largest single tensor a file of `bytes` bytes may allocate: Keras
  /// stores weights uncompressed, so a dataset larger than many times its
  /// file is a corrupt one.
  static func tensorLimit(fileBytes: Int) -> Int {
    min(1 << 33, fileBytes.multipliedReportingOverflow(by: 64).partialValue + (1 << 20))
  }

  /// The memory libhdf5 may use to read an HDF5 file of `fileBytes` bytes
  /// (in the child process that reads it first): its copy of the file,
  /// the largest tensor the file may hold, and 256 MiB for its own tables,
  /// within `budget`.
  /// (`fileBytes` counts bytes in memory, far from overflowing.)
  static func readingAllowance(fileBytes: Int, budget: MemoryBudget) -> Int {
    min(budget.bytes, 2 * fileBytes + tensorLimit(fileBytes: fileBytes) + (256 << 20))
  }

  /// The time libhdf5 may take to read an HDF5 file of `fileBytes` bytes:
  /// 10 s, and a second for every 16 MiB (a file that takes longer has
  /// sent it round a loop; reading a 500 MB model takes about a second).
  static func readingTime(fileBytes: Int) -> Double {
    10 + Double(fileBytes) / Double(16 << 20)
  }

  /// Opens the HDF5 file `bytes`, its reading bounded as `decode` says.
  static func openHDF5(_ bytes: [UInt8], memory: MemoryBudget) throws(KerasProblem) -> HDF5Object {
    try HDF5Object.open(
      bytes, seconds: readingTime(fileBytes: bytes.count),
      tensorLimit: tensorLimit(fileBytes: bytes.count),
      memoryLimit: readingAllowance(fileBytes: bytes.count, budget: memory),
      summaryLimit: memory.bytes)
  }

  init(_ bytes: [UInt8], memory: MemoryBudget) throws(KerasProblem) {
    if KerasArchive.looksLikeZip(bytes) {
      let archive = try KerasArchive(bytes, weightsLimit: Self.maximumFileSize)
      architecture = try KerasArchitecture(json: archive.config)
      kerasVersion = archive.metadata.flatMap {
        try? JSONDecoder().decode(JSONValue.self, from: Data($0))["keras_version"]?.string
      }
      let root = try Self.openHDF5(archive.weights, memory: memory)
      weights = try KerasWeights.keras3(root)
      format = .keras
      return
    }
    guard bytes.starts(with: HDF5Object.signature) else {
      throw .notKerasArchive(reason: "neither a zip (.keras) nor an HDF5 (.h5) file")
    }
    let root = try Self.openHDF5(bytes, memory: memory)
    kerasVersion = try root.string("keras_version")
    if let config = try root.string("model_config") {
      architecture = try KerasArchitecture(json: Array(config.utf8))
      guard let group = try root.group("model_weights") else {
        throw .invalidConfig(reason: "a legacy model file without model_weights")
      }
      weights = try KerasWeights.legacy(group)
      format = .legacyHDF5
    } else if try root.strings("layer_names") != nil {
      architecture = nil
      weights = try KerasWeights.legacy(root)
      format = .weightsOnly
    } else if try root.group("layers") != nil {
      architecture = nil
      weights = try KerasWeights.keras3(root)
      format = .weightsOnly
    } else {
      throw .notKerasArchive(
        reason: "an HDF5 file without Keras's model_config, layer_names or layers")
    }
  }

  /// The weights fitted to `spec`, named as `spec.parameterShapes` names
  /// them: each Conv2D or Dense row takes the stored layer of its Keras
  /// name (the spec's rows are named as Keras names layers: `conv2d`,
  /// `conv2d_1`, `dense`), or, when the file's names differ, the stored
  /// layers with weights in order. Shapes must match.
  public func parameters(for spec: ModelSpec) throws(KerasProblem) -> [NamedTensor] {
    let expected = spec.parameterShapes
    let weighted = weights.layers.filter { !$0.tensors.isEmpty }
    var rows: [String] = []
    for shape in expected {
      let row = String(shape.name.split(separator: "/").first ?? "")
      if rows.last != row { rows.append(row) }
    }
    let byName = rows.allSatisfy { row in weighted.contains { $0.name == row || $0.key == row } }
    guard byName || weighted.count == rows.count else {
      let missing = rows.first { row in !weighted.contains { $0.name == row || $0.key == row } }
      throw .missingLayer(layer: missing ?? "?", stored: weighted.map(\.name))
    }
    var result: [NamedTensor] = []
    for (k, row) in rows.enumerated() {
      let tensors: [Tensor]
      if byName {
        tensors =
          weighted.first { $0.name == row }?.tensors
          ?? weighted.first { $0.key == row }?.tensors ?? []
      } else {
        tensors = weighted[k].tensors
      }
      let wanted = expected.filter { $0.name.hasPrefix(row + "/") }
      for (i, shape) in wanted.enumerated() {
        let weight = String(shape.name.dropFirst(row.count + 1))
        guard i < tensors.count else { throw .missingWeight(layer: row, weight: weight) }
        guard tensors[i].shape == shape.shape else {
          throw .weightShape(
            layer: row, weight: weight, expected: shape.shape.dims, found: tensors[i].shape.dims)
        }
        result.append(NamedTensor(name: shape.name, tensor: tensors[i]))
      }
      guard tensors.count == wanted.count else {
        throw .unsupportedSetting(
          layer: row, className: "weights",
          reason: "\(tensors.count) stored weights where the spec's layer has \(wanted.count)")
      }
    }
    return result
  }
}
