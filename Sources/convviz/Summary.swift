import ArgumentParser
import CNN

/// `convviz summary MODEL`: the Keras-style layer table of a preset, a spec
/// file or a trained model file.
struct Summary: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print a model's layers, output shapes and parameter counts.",
    discussion: """
      MODEL is a preset (\(Preset.allCases.map(\.rawValue).joined(separator: ", "))), \
      a model spec file (see docs/model-spec.md) or a model file written by `convviz train`.
      """)

  @Argument(help: "A preset name, a model spec file, or a trained model file.")
  var model: String

  func run() throws {
    let resolved = try ModelArgument.resolve(model)
    print(ModelSummary(resolved.spec).render(title: resolved.title), terminator: "")
  }
}
