import ArgumentParser
import Explain
import ModelFormats

/// `--layer` of the explanation commands: a row number of `convviz
/// summary` (model files) or a graph tensor name, checked to have
/// (channels, height, width) maps.
enum LayerArgument {
  /// The tensor `layer` names; a usage failure naming `--layer` and the
  /// spatial layers when it names none or one without maps.
  static func resolve(_ layer: String, in explainer: Explainer, spec: ModelSpec?) throws -> String {
    let name = spec.flatMap { spec in
      Int(layer).flatMap { $0 >= 0 && $0 < spec.layers.count ? $0 : nil }.map {
        spec.tensorName(ofRow: $0)
      }
    }
    do {
      try explainer.checkLayer(name ?? layer)
    } catch {
      throw CommandFailure.usage(
        error.description.replacingOccurrences(
          of: "--layer \(name ?? layer)", with: "--layer \(layer)"))
    }
    return name ?? layer
  }

  /// A comma-separated list of indices, "0,5,9", or ranges "0-15".
  static func indices(_ text: String, option: String) throws -> [Int] {
    var out: [Int] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
      guard (1...2).contains(bounds.count),
        let lo = Int(bounds[0]), let hi = Int(bounds[bounds.count - 1]), lo >= 0, lo <= hi
      else {
        throw ValidationError(
          "\(option) \(text): give unit numbers from 0, separated by commas, or ranges such as 0-15"
        )
      }
      out += Array(lo...hi)
    }
    var seen = Set<Int>()
    return out.filter { seen.insert($0).inserted }
  }
}

extension LayerArgument {
  /// A node of any loaded model, as `train --freeze` names it.
  struct Node {
    /// The layer's number in `convviz summary` (a spec row for a
    /// `model.bin`); nil for a graph tensor named directly.
    var index: Int?
    var tensor: String
    var name: String
  }

  /// `text` as a row number of `convviz summary`, a layer name, or (for
  /// an imported model) any tensor of its graph; a usage failure listing
  /// the layers otherwise. A `model.bin` is cut at whole rows only.
  static func node(_ text: String, in model: LoadedModel, path: String) throws -> Node {
    let layers = model.layers
    if let index = Int(text).flatMap({ layers.indices.contains($0) ? $0 : nil })
      ?? layers.firstIndex(where: { $0.name == text })
    {
      return Node(index: index, tensor: layers[index].tensor, name: layers[index].name)
    }
    let graph = model.network.graph
    if model.spec == nil, graph.nodes.contains(where: { $0.output == text }) {
      return Node(index: nil, tensor: text, name: text)
    }
    let shown = layers.indices.prefix(40).map { "\($0) \(layers[$0].name)" }
    throw CommandFailure.usage(
      "--freeze \(text) is not a layer of \(path); layers: " + shown.joined(separator: ", ")
        + (layers.count > 40 ? ", … (\(layers.count) in all)" : ""))
  }
}
