import ArgumentParser
import ImageFilters
import Foundation

struct Kernels: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List the built-in kernels with their matrices.",
    discussion: "Any of these names works with `convviz filter --kernel NAME`.")

  @Option(help: "Sigma used to show the gaussian kernel.")
  var sigma: Double = 1

  @Option(help: "Size used to show the gaussian and box kernels.")
  var size: Int?

  func run() throws {
    var text = ""
    for builtin in BuiltinKernel.allCases {
      text += "\(builtin.rawValue): \(builtin.summary)\n"
      let operation = try builtin.operation(sigma: sigma, size: size)
      let labels = operation.kernels.count == 2 ? ["gx", "gy"] : [""]
      for (label, kernel) in zip(labels, operation.kernels) {
        if !label.isEmpty { text += "  \(label):\n" }
        text += Self.format(kernel, indent: label.isEmpty ? "  " : "    ")
      }
      text += "\n"
    }
    Terminal.say(String(text.dropLast(2)))
  }

  /// The matrix with columns aligned; fractions that are exact ninths etc.
  /// are shown as decimals with up to 4 places.
  static func format(_ kernel: Kernel, indent: String) -> String {
    let cells = kernel.matrix.map { row in row.map(formatNumber) }
    let width = cells.joined().map(\.count).max() ?? 1
    return cells.map { row in
      indent + "[ " + row.map { String(repeating: " ", count: width - $0.count) + $0 }
        .joined(separator: "  ") + " ]\n"
    }.joined()
  }

  static func formatNumber(_ value: Float) -> String {
    if value == value.rounded() { return String(Int(value)) }
    var text = String(format: "%.4f", value)
    while text.hasSuffix("0") { text.removeLast() }
    return text
  }
}
