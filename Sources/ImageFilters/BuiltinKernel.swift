import Foundation

/// The named kernels shared by the library and `convviz filter --kernel NAME`.
///
/// Derivative kernels follow OpenCV's sign conventions (`sobel-x` responds
/// positively to intensity rising to the right). `gaussian` and `box` take
/// parameters; every other kernel is fixed.
public enum BuiltinKernel: String, CaseIterable, Sendable {
  case blur, edges, laplacian4
  case sobelX = "sobel-x"
  case sobelY = "sobel-y"
  case sobel
  case prewittX = "prewitt-x"
  case prewittY = "prewitt-y"
  case sharpen, emboss, identity, gaussian, box

  /// One line for help texts and `convviz kernels`.
  public var summary: String {
    switch self {
    case .blur: return "3×3 box blur, every weight 1/9"
    case .edges: return "8-neighbour Laplacian edge detector"
    case .laplacian4: return "4-neighbour Laplacian"
    case .sobelX: return "Sobel derivative along x (responds to vertical edges)"
    case .sobelY: return "Sobel derivative along y (responds to horizontal edges)"
    case .sobel: return "Sobel gradient magnitude sqrt(gx² + gy²)"
    case .prewittX: return "Prewitt derivative along x"
    case .prewittY: return "Prewitt derivative along y"
    case .sharpen: return "identity plus 4-neighbour Laplacian"
    case .emboss: return "emboss relief, light from the top left"
    case .identity: return "3×3 identity, output equals input"
    case .gaussian: return "Gaussian blur (sigma, default 1; size, default 2·ceil(3σ)+1), sum 1"
    case .box: return "size×size box blur (size, default 3), every weight 1/size²"
    }
  }

  public var acceptsSigma: Bool { self == .gaussian }
  public var acceptsSize: Bool { self == .gaussian || self == .box }

  /// The filter this name stands for. `sigma` and `size` only apply where
  /// `acceptsSigma`/`acceptsSize` say so and are ignored elsewhere.
  ///
  /// - Throws: `.invalidParameter` for sigma ≤ 0 or not finite, size < 1, or a
  ///   Gaussian/box larger than 1023 taps a side.
  public func operation(
    sigma: Double? = nil, size: Int? = nil
  ) throws(KernelError)
    -> FilterOperation
  {
    switch self {
    case .sobel:
      return .gradientMagnitude(x: BuiltinKernel.sobelXKernel, y: BuiltinKernel.sobelYKernel)
    case .gaussian:
      return .kernel(try BuiltinKernel.gaussian(sigma: sigma ?? 1, size: size))
    case .box:
      let n = try BuiltinKernel.checkedSize(size ?? 3, kernel: "box")
      return .kernel(
        Kernel(rows: n, cols: n, weights: Array(repeating: 1 / Float(n * n), count: n * n)))
    default:
      return .kernel(Kernel(fixedMatrix))
    }
  }

  /// The matrix of a fixed kernel (not sobel, gaussian, box).
  private var fixedMatrix: [[Float]] {
    switch self {
    case .blur: return Array(repeating: Array(repeating: 1.0 / 9.0, count: 3), count: 3)
    case .edges: return [[1, 1, 1], [1, -8, 1], [1, 1, 1]]
    case .laplacian4: return [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    case .sobelX: return BuiltinKernel.sobelXKernel.matrix
    case .sobelY: return BuiltinKernel.sobelYKernel.matrix
    case .prewittX: return [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
    case .prewittY: return [[-1, -1, -1], [0, 0, 0], [1, 1, 1]]
    case .sharpen: return [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    case .emboss: return [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]
    case .identity: return [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    case .sobel, .gaussian, .box: preconditionFailure("\(rawValue) has no fixed matrix")
    }
  }

  static let sobelXKernel = Kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
  static let sobelYKernel = Kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])

  /// The 2-D Gaussian as the outer product of OpenCV's `getGaussianKernel`:
  /// g[i] ∝ exp(−(i − (n−1)/2)² / (2σ²)), normalised to sum 1, in Double.
  /// Default size 2·ceil(3σ)+1. Even sizes are allowed (centre between taps).
  public static func gaussian(sigma: Double, size: Int? = nil) throws(KernelError) -> Kernel {
    guard sigma.isFinite, sigma > 0 else {
      throw .invalidParameter(
        kernel: "gaussian", name: "sigma", value: "\(sigma)",
        reason: "it must be a positive number")
    }
    let n = try checkedSize(size ?? 2 * Int((3 * sigma).rounded(.up)) + 1, kernel: "gaussian")
    let centre = Double(n - 1) / 2
    let taps = (0..<n).map { exp(-pow(Double($0) - centre, 2) / (2 * sigma * sigma)) }
    let total = taps.reduce(0, +)
    let g = taps.map { $0 / total }
    var weights: [Float] = []
    weights.reserveCapacity(n * n)
    for r in 0..<n { for c in 0..<n { weights.append(Float(g[r] * g[c])) } }
    return Kernel(rows: n, cols: n, weights: weights)
  }

  /// Largest side accepted for generated kernels; far beyond any useful blur,
  /// it keeps a typo like `--size 100000` from allocating 40 GB.
  public static let maximumGeneratedSize = 1023

  private static func checkedSize(_ size: Int, kernel: String) throws(KernelError) -> Int {
    guard (1...maximumGeneratedSize).contains(size) else {
      throw .invalidParameter(
        kernel: kernel, name: "size", value: "\(size)",
        reason: "it must be between 1 and \(maximumGeneratedSize)")
    }
    return size
  }
}
