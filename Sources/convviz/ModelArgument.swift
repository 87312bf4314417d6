import ArgumentParser
import Engine
import Files
import ModelFormats
import Tensors
import Training
import Foundation

/// What a `MODEL` argument names: a built-in preset, a spec file, or (for
/// commands that accept one) a trained model file.
enum ModelArgument {
  case preset(Preset)
  case specFile(path: String, spec: ModelSpec)
  case modelFile(path: String, file: ModelFile)

  /// The help of the MODEL argument of every command that reads a
  /// trained model (`loadModel`).
  static let help = ArgumentHelp(
    "A model file written by `convviz train`, an ONNX model, or a Keras model (.keras, .h5).",
    valueName: "model")

  /// The architecture, whatever the source.
  var spec: ModelSpec {
    switch self {
    case .preset(let preset): return preset.spec
    case .specFile(_, let spec): return spec
    case .modelFile(_, let file): return file.spec
    }
  }

  /// A short name for tables and metadata: the preset name or the file name.
  var title: String {
    switch self {
    case .preset(let preset): return preset.rawValue
    case .specFile(let path, _), .modelFile(let path, _):
      return (path as NSString).lastPathComponent
    }
  }

  /// Resolves `text`: a preset name first, then a model file (recognised by
  /// its magic bytes) when `allowModelFile`, then a spec file.
  ///
  /// An unknown name is a command-line mistake (listing the presets); an
  /// unparsable spec names the file and line; a damaged model file throws
  /// its `ModelFileError`.
  static func resolve(
    _ text: String, allowModelFile: Bool = true, memory: MemoryOptions
  ) throws -> ModelArgument {
    if let preset = Preset(rawValue: text) { return .preset(preset) }
    try checkName(text)
    // Bounded, regular files only: /dev/zero as a spec would never end.
    let data = try FileContents.read(text, maximumBytes: ModelFile.maximumFileSize)
    if data.starts(with: ModelFile.magic) {
      guard allowModelFile else {
        throw CommandFailure.usage("\(text) is a trained model file; give a preset or a spec file")
      }
      return .modelFile(path: text, file: try readModelFile(text, memory: memory))
    }
    guard let specText = String(validating: data, as: UTF8.self) else {
      throw CommandFailure("\(text): not a model spec or model file (not UTF-8 text)")
    }
    do {
      return .specFile(path: text, spec: try ModelSpec.parse(specText))
    } catch {
      throw CommandFailure("\(text): \(error)")
    }
  }

  /// The ONNX model `text` names, read and checked, or nil when `text` is
  /// a preset or a file of another kind (detected from its first bytes).
  static func readONNX(_ text: String) throws -> ONNXModel? {
    guard Preset(rawValue: text) == nil, Path.isFile(text),
      ONNXModel.looksLikeONNX(try firstBytes(of: text))
    else { return nil }
    return try ONNXModel.read(from: text)
  }

  /// The Keras model `text` names (`.keras` zip or `.h5` HDF5, detected
  /// from its first bytes), read and checked, or nil when `text` is a
  /// preset or a file of another kind. Reading holds the file, libhdf5's
  /// copy of the weights file and the weights (and for a `.keras` zip the
  /// weights file taken out of it): about four times the file's size.
  static func readKeras(_ text: String, memory: MemoryOptions) throws -> KerasModel? {
    guard Preset(rawValue: text) == nil, Path.isFile(text),
      KerasModel.looksLikeKeras(try firstBytes(of: text))
    else { return nil }
    if let size = Path.status(of: text)?.size {
      try memory.check(MemoryEstimate.bytes(Int(size)) * 4, for: "\(text): reading the model")
    }
    let bytes = try FileContents.read(text, maximumBytes: KerasModel.maximumFileSize)
    return try KerasModel.decode(bytes, path: text, memory: memory.budget)
  }

  /// Up to the first 16 bytes of the file at `path`, to tell formats apart
  /// without reading it whole.
  static func firstBytes(of path: String) throws -> [UInt8] {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CommandFailure("\(path): cannot open the model file")
    }
    defer { try? handle.close() }
    return [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
  }

  /// A Keras file as a loaded model: one holding its architecture directly,
  /// a weights-only file (`save_weights`) with the spec `architecture`
  /// names (a preset or a spec file) as a convviz model file.
  static func loadKeras(
    _ keras: KerasModel, path: String, architecture: String?, memory: MemoryOptions
  ) throws -> LoadedModel {
    if keras.architecture != nil {
      if architecture != nil {
        throw CommandFailure.usage(
          "\(path) holds its own architecture; --architecture is for weights-only Keras files")
      }
      return try LoadedModel(keras, path: path)
    }
    guard let architecture else {
      throw ModelFileError.keras(path: path, .weightsWithoutArchitecture)
    }
    let spec = try resolve(architecture, allowModelFile: false, memory: memory).spec
    do {
      return LoadedModel(try keras.modelFile(spec: spec))
    } catch {
      throw ModelFileError.keras(path: path, error)
    }
  }

  /// The model a running command needs, from a `model.bin`, an ONNX file or
  /// a Keras file (told apart by their first bytes): the one loading path of
  /// `predict`, `evaluate`, `dump-weights`, `featuremaps`, `report` and
  /// `explain`. A model the importer cannot run is one line naming the
  /// file, node or layer, and why. `architecture` (`--architecture`) gives
  /// a weights-only Keras file its layers.
  ///
  /// `input` gives the size of an ONNX model whose file leaves its height
  /// and width open (`--size`, or a preset's); without one such a model is
  /// refused with a hint.
  static func loadModel(
    _ path: String, memory: MemoryOptions, input: ModelInputOptions? = nil,
    architecture: String? = nil
  ) throws -> LoadedModel {
    if Path.isFile(path), let estimate = CommandMemory.modelFile(path) {
      try memory.check(estimate, for: "\(path): reading the model")
    }
    if let onnx = try readONNX(path) {
      let size = input?.inputSize
      if onnx.hasOpenImageSize && size == nil {
        throw CommandFailure(
          "\(path): the model leaves its input height and width open; give --size HxW")
      }
      return try LoadedModel(
        consume onnx, path: path, inputSize: size.map { ($0.height, $0.width) })
    }
    if let keras = try readKeras(path, memory: memory) {
      return try loadKeras(keras, path: path, architecture: architecture, memory: memory)
    }
    if architecture != nil {
      throw CommandFailure.usage("--architecture is for weights-only Keras files (.h5)")
    }
    return LoadedModel(try readModelFile(path, memory: memory))
  }

  /// Where `convviz train` writes by default, and where dump-weights and
  /// report look when no model is named.
  static let defaultModelPath = Train.defaultOutput

  /// Reads a trained model file, once its size fits the memory budget; a
  /// missing default model gets a hint to train one.
  static func readModelFile(_ path: String, memory: MemoryOptions) throws -> ModelFile {
    if !FileManager.default.fileExists(atPath: path) {
      var message = "\(path): no such model file"
      if path == defaultModelPath {
        message += "; train one first: convviz train --model mnist-cnn --data DIR"
      }
      throw CommandFailure(message)
    }
    if let estimate = CommandMemory.modelFile(path) {
      try memory.check(estimate, for: "\(path): reading the model")
    }
    return try ModelFile.read(from: path)
  }

  /// Throws a `ValidationError` unless `text` is a preset or an existing
  /// file; cheap enough for a command's `validate()`.
  static func checkName(_ text: String) throws {
    if Preset(rawValue: text) != nil { return }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: text, isDirectory: &isDirectory) else {
      let presets = Preset.allCases.map(\.rawValue).joined(separator: ", ")
      throw ValidationError(
        "model '\(text)' is neither a preset (\(presets)) nor an existing file")
    }
    guard !isDirectory.boolValue else {
      throw ValidationError("model '\(text)' is a folder; give a preset, spec file or model file")
    }
  }
}
