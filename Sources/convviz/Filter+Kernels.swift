import ImageFilters
import Foundation

/// A kernel with the name its outputs carry (kernel, its parameters, then
/// the run's options) and the file it came from.
struct NamedOperation: Sendable {
  var name: String
  var operation: FilterOperation
  /// The kernel file read, for the check that no output replaces it.
  var file: String?

  var fileStem: String? { file.map(OutputPaths.stem) }
}

extension Filter {
  /// A built-in name, a kernel file, or a matrix on the command line.
  func resolveKernel(_ text: String) throws -> NamedOperation {
    let options = optionNameParts.map { "-" + $0 }.joined()
    if let builtin = BuiltinKernel(rawValue: text) {
      let operation = try builtin.operation(sigma: sigma, size: size)
      return NamedOperation(
        name: kernelNameParts(builtin).joined(separator: "-") + options, operation: operation)
    }
    if FileManager.default.fileExists(atPath: text) {
      let kernel = try Kernel.load(contentsOfFile: text)
      return NamedOperation(
        name: OutputPaths.stem(of: text) + options, operation: .kernel(kernel), file: text)
    }
    if text.contains(",") || text.contains(";") || Float(text) != nil {
      do {
        let kernel = try Kernel.parse(text)
        return NamedOperation(
          name: OutputNames.inlineKernel(kernel) + options, operation: .kernel(kernel))
      } catch {
        throw CommandFailure("--kernel '\(text)': \(error)")
      }
    }
    let names = BuiltinKernel.allCases.map(\.rawValue).joined(separator: ", ")
    throw CommandFailure(
      "--kernel '\(text)' is not a built-in kernel, a matrix or a file; built-in kernels: \(names)")
  }

  /// `gaussian-sigma2.5-size7`: the kernel's own parameters, where given.
  private func kernelNameParts(_ builtin: BuiltinKernel) -> [String] {
    var parts = [builtin.rawValue]
    if builtin.acceptsSigma && sigma != 1 { parts.append("sigma" + TextFormat.shortest(sigma)) }
    if builtin.acceptsSize, let size { parts.append("size\(size)") }
    return parts
  }

  /// The options that change every output, in a fixed order, where they
  /// differ from the defaults: `stride2`, `stride2x3`, `dilation2`, `same`,
  /// `pad3`, `reflect`, `normalize`, `scale0.5`, `bias-10`, `gray`.
  var optionNameParts: [String] {
    var parts: [String] = []
    let (x, y) = (strideX ?? stride ?? 1, strideY ?? stride ?? 1)
    if x != 1 || y != 1 { parts.append(x == y ? "stride\(x)" : "stride\(x)x\(y)") }
    if dilation != 1 { parts.append("dilation\(dilation)") }
    switch padding {
    case .valid: break
    case .same: parts.append("same")
    case .pixels(let n): parts.append("pad\(n)")
    }
    if padding != .valid && border != .zero { parts.append(border.rawValue) }
    if range != .clamp { parts.append(range.rawValue) }
    if scale != 1 { parts.append("scale" + TextFormat.shortest(scale)) }
    if bias != 0 { parts.append("bias" + TextFormat.shortest(bias)) }
    if gray { parts.append("gray") }
    return parts
  }
}
