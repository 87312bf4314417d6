import Tensors

/// The weights of a Keras file, layer by layer, in the order Keras keeps
/// them (a Conv2D's or Dense's kernel, then its bias). Three layouts:
///
/// - Keras 3 (`model.weights.h5` in a `.keras` zip, or `save_weights`):
///   `layers/<key>/vars/0, 1, …`, where the key is the class's snake-case
///   name made unique in layer order (`conv2d_1`) and `vars` carries the
///   layer's own name as its `name` attribute.
/// - Keras 2 (legacy `.h5`, whole model under `model_weights` or
///   `save_weights` at the root): the group's `layer_names` attribute
///   lists the layers in order, each layer group's `weight_names` its
///   datasets.
struct KerasWeights: Sendable {
  struct Layer: Sendable {
    /// The Keras 3 key, or the layer name for Keras 2.
    var key: String
    var name: String
    var tensors: [Tensor]
  }

  var layers: [Layer]

  /// The weights of the layer named `name`, or (Keras 3 files) stored
  /// under `key`.
  func tensors(name: String, key: String?) -> [Tensor]? {
    if let layer = layers.first(where: { $0.name == name }) { return layer.tensors }
    if let key, let layer = layers.first(where: { $0.key == key }) { return layer.tensors }
    return nil
  }

  /// Keras 3's layout under `root` (the file's root group).
  static func keras3(_ root: HDF5Object) throws(KerasProblem) -> KerasWeights {
    guard let group = try root.group("layers") else { return KerasWeights(layers: []) }
    var layers: [Layer] = []
    for key in try group.childNames() {
      guard let vars = try group.group(key + "/vars") else { continue }
      let name = try vars.string("name") ?? key
      // Datasets are named 0, 1, …: read them in numeric order.
      let names = try vars.childNames()
      let indices = names.compactMap(Int.init).sorted()
      guard indices == Array(0..<names.count) else {
        throw .invalidConfig(reason: "layer '\(name)' stores weights named \(names.prefix(4))")
      }
      var tensors: [Tensor] = []
      for index in indices {
        guard let dataset = try vars.child(String(index)), dataset.kind == .dataset else {
          throw .invalidConfig(reason: "layer '\(name)' weight \(index) is not a dataset")
        }
        tensors.append(try dataset.tensor(what: "layer '\(name)' weight \(index)"))
      }
      layers.append(Layer(key: key, name: name, tensors: tensors))
    }
    return KerasWeights(layers: layers)
  }

  /// Keras 2's layout under `group` (`model_weights`, or the root of a
  /// weights-only file).
  static func legacy(_ group: HDF5Object) throws(KerasProblem) -> KerasWeights {
    guard let names = try group.strings("layer_names") else {
      throw .invalidConfig(reason: "weights without a layer_names attribute")
    }
    var layers: [Layer] = []
    for name in names {
      guard let layer = try group.group(name) else {
        throw .missingWeight(layer: name, weight: "(its group)")
      }
      var tensors: [Tensor] = []
      for weight in try layer.strings("weight_names") ?? [] {
        guard let dataset = try layer.child(weight), dataset.kind == .dataset else {
          throw .missingWeight(layer: name, weight: weight)
        }
        tensors.append(try dataset.tensor(what: "layer '\(name)' weight '\(weight)'"))
      }
      layers.append(Layer(key: name, name: name, tensors: tensors))
    }
    return KerasWeights(layers: layers)
  }
}
