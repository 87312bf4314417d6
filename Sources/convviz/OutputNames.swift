import ImageFilters

/// How `filter` names its outputs, `<input-stem>-<kernel>[-<option>...]`, and
/// how it recognizes those names among its inputs again.
struct OutputNames: Sendable {
  /// What can follow an input's stem in an output name: the built-in
  /// kernels, `kernel` (inline matrices), `pool` (`convviz pool`'s outputs)
  /// and this run's kernel-file stems.
  let kernelNames: [String]

  init(kernelFileStems: [String] = []) {
    kernelNames =
      (BuiltinKernel.allCases.map(\.rawValue) + [Self.inlinePrefix, Self.poolPrefix]
      + kernelFileStems)
      .sorted()
  }

  /// The file among `stems` (stem → file name) that an image with `stem`
  /// was written from, if its name reads `<that stem>-<kernel>...`:
  /// `camera-blur` and `camera-blur-blur` beside `camera.png`.
  func source(of stem: String, among stems: [String: String]) -> String? {
    for (candidate, file) in stems.sorted(by: { $0.key < $1.key })
    where candidate != stem && stem.hasPrefix(candidate + "-") {
      let rest = stem.dropFirst(candidate.count + 1)
      if kernelNames.contains(where: { rest == $0 || rest.hasPrefix($0 + "-") }) { return file }
    }
    return nil
  }

  static let inlinePrefix = "kernel"
  static let poolPrefix = "pool"

  /// An inline matrix as a file-name part that reads back as the matrix:
  /// `1,0,-1;2,0,-2;1,0,-1` → `kernel-1,0,-1_2,0,-2_1,0,-1`. A long one keeps
  /// its first values and a hash of the whole, so different kernels never
  /// share a name and no name outgrows the file system's limit.
  static func inlineKernel(_ kernel: Kernel) -> String {
    let rows = kernel.matrix.map { row in row.map(TextFormat.shortest).joined(separator: ",") }
    let text = rows.joined(separator: "_")
    guard text.count > 48 else { return inlinePrefix + "-" + text }
    return inlinePrefix + "-\(kernel.cols)x\(kernel.rows)-" + text.prefix(24) + "-" + hash(text)
  }

  /// 32-bit FNV-1a, in hex: stable across runs and machines.
  static func hash(_ text: String) -> String {
    var h: UInt32 = 2_166_136_261
    for byte in text.utf8 {
      h ^= UInt32(byte)
      h = h &* 16_777_619
    }
    let digits = String(h, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
  }
}
