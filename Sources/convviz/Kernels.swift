import ArgumentParser
import ImageFilters
import Foundation

struct Kernels: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernels",
    abstract: "List the built-in kernels with their matrices.",
    discussion: "Any of these names works with `convviz filter --kernel NAME`.")

  @Argument(help: "Kernels to show (default: all).")
  var names: [String] = []

  @Option(parsing: .unconditional, help: "Sigma used to show the gaussian kernel.")
  var sigma: Double = 1

  @Option(parsing: .unconditional, help: "Size used to show the gaussian and box kernels.")
  var size: Int?

  func validate() throws {
    for name in names where BuiltinKernel(rawValue: name) == nil {
      let known = BuiltinKernel.allCases.map(\.rawValue).joined(separator: ", ")
      throw ValidationError("'\(name)' is not a built-in kernel; the built-in kernels: \(known)")
    }
    if !(sigma > 0) { throw ValidationError("--sigma must be greater than 0") }
    if let size, size < 1 { throw ValidationError("--size must be at least 1") }
  }

  func run() throws {
    let chosen = names.isEmpty ? BuiltinKernel.allCases : names.compactMap(BuiltinKernel.init)
    var sections: [String] = []
    for builtin in chosen {
      var text = "\(builtin.rawValue): \(builtin.summary)\n"
      let operation = try builtin.operation(sigma: sigma, size: size)
      let labels = operation.kernels.count == 2 ? ["gx", "gy"] : [""]
      for (label, kernel) in zip(labels, operation.kernels) {
        if !label.isEmpty { text += "  \(label):\n" }
        text += Self.format(kernel, indent: label.isEmpty ? "  " : "    ")
      }
      sections.append(text)
    }
    Terminal.sayLines(sections.joined(separator: "\n"))
  }

  /// The matrix with columns aligned.
  static func format(_ kernel: Kernel, indent: String) -> String {
    let cells = kernel.matrix.map { row in row.map(formatNumber) }
    let width = cells.joined().map(\.count).max() ?? 1
    return cells.map { row in
      indent + "[ "
        + row.map { String(repeating: " ", count: width - $0.count) + $0 }
        .joined(separator: "  ") + " ]\n"
    }.joined()
  }

  /// Whole numbers as integers, others with four significant digits, so
  /// that a Gaussian's tiny corner weights stay visible (4.1e-05, not 0).
  static func formatNumber(_ value: Float) -> String {
    if value == value.rounded() { return String(Int(value)) }
    let text = String(format: "%.4g", value)
    guard text.contains("."), !text.contains("e") else { return text }
    return String(text.reversed().drop(while: { $0 == "0" }).reversed())
  }
}
