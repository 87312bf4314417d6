import Foundation
import Tensors

/// Lucid's decorrelated Fourier parameterization of an image
/// (Olah et al. 2017, "Feature Visualization", and lucid's `fft_image`):
/// the optimised numbers are the real and imaginary parts of a half
/// spectrum (C, H, W/2 + 1), each frequency scaled by
/// √(H·W) / max(f, 1/max(H, W)) before the inverse real FFT, so that a
/// step of the same size moves every frequency by the same energy, as in
/// natural images (whose spectra fall off as 1/f). The image is the
/// inverse transform divided by 4, as lucid has it.
public struct FourierImage: Sendable {
  public let channels: Int
  public let height: Int
  public let width: Int
  /// W/2 + 1: the columns of a real image's half spectrum.
  public var halfWidth: Int { width / 2 + 1 }
  /// The per-frequency scale, (H, W/2 + 1).
  let scale: [Float]
  let fft: RealFFT2D

  public init(channels: Int, height: Int, width: Int) {
    precondition(channels >= 1 && height >= 1 && width >= 1, "empty image")
    self.channels = channels
    self.height = height
    self.width = width
    let wf = width / 2 + 1
    let floor = 1 / Double(max(height, width))
    var scale = [Float](repeating: 0, count: height * wf)
    for y in 0..<height {
      let fy = Self.frequency(y, height)
      for x in 0..<wf {
        // numpy's rfftfreq: the last column of an even width is +1/2.
        let fx = Double(x) / Double(width)
        let f = (fy * fy + fx * fx).squareRoot()
        scale[y * wf + x] = Float(Double(height * width).squareRoot() / max(f, floor))
      }
    }
    self.scale = scale
    fft = RealFFT2D(height: height, width: width)
  }

  /// numpy's `fftfreq`: index i of n in cycles per sample, negative above n/2.
  static func frequency(_ i: Int, _ n: Int) -> Double {
    Double(i <= (n - 1) / 2 ? i : i - n) / Double(n)
  }

  /// The number of optimised values: real and imaginary parts of each
  /// channel's half spectrum, (C, 2, H, W/2 + 1).
  public var parameterCount: Int { channels * 2 * height * halfWidth }

  /// The image (C, H, W) of `parameters`: irfft2(scale ⊙ spectrum) / 4.
  public func image(_ parameters: [Float]) -> [Float] {
    precondition(parameters.count == parameterCount, "wrong number of Fourier parameters")
    let plane = height * halfWidth
    var out = [Float](repeating: 0, count: channels * height * width)
    for c in 0..<channels {
      let base = c * 2 * plane
      var spectrum = [Complex](repeating: Complex(0, 0), count: plane)
      for i in 0..<plane {
        let s = scale[i] / 4
        spectrum[i] = Complex(s * parameters[base + i], s * parameters[base + plane + i])
      }
      let image = fft.inverse(spectrum)
      out.replaceSubrange((c * height * width)..<((c + 1) * height * width), with: image)
    }
    return out
  }

  /// The parameters whose `image(_:)` is `image` (C, H, W): the scaled
  /// half spectrum of 4·image, so that an optimisation can start from a
  /// picture.
  public func parameters(of image: [Float]) -> [Float] {
    precondition(image.count == channels * height * width, "the image is not C×H×W")
    let plane = height * halfWidth
    var out = [Float](repeating: 0, count: parameterCount)
    for c in 0..<channels {
      let spectrum = fft.forward(
        image[(c * height * width)..<((c + 1) * height * width)].map { 4 * $0 })
      for i in 0..<plane {
        out[c * 2 * plane + i] = spectrum[i].re / scale[i]
        out[c * 2 * plane + plane + i] = spectrum[i].im / scale[i]
      }
    }
    return out
  }

  /// The gradient with respect to the parameters of a function of the
  /// image whose image gradient is `dImage` (C, H, W): the adjoint of
  /// `image(_:)`.
  public func parameterGradient(_ dImage: [Float]) -> [Float] {
    precondition(dImage.count == channels * height * width, "wrong image gradient size")
    let plane = height * halfWidth
    var out = [Float](repeating: 0, count: parameterCount)
    for c in 0..<channels {
      let g = Array(dImage[(c * height * width)..<((c + 1) * height * width)])
      let adjoint = fft.inverseAdjoint(g)
      for i in 0..<plane {
        let s = scale[i] / 4
        out[c * 2 * plane + i] = s * adjoint[i].re
        out[c * 2 * plane + plane + i] = s * adjoint[i].im
      }
    }
    return out
  }
}

/// A complex number in Float.
struct Complex: Equatable, Sendable {
  var re: Float
  var im: Float
  init(_ re: Float, _ im: Float) {
    self.re = re
    self.im = im
  }
  static func + (a: Complex, b: Complex) -> Complex { Complex(a.re + b.re, a.im + b.im) }
  static func * (a: Complex, b: Complex) -> Complex {
    Complex(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
  }
  /// e^{iθ}, computed in Double.
  static func unit(_ theta: Double) -> Complex { Complex(Float(cos(theta)), Float(sin(theta))) }
}

/// A small mixed-radix Cooley–Tukey FFT for any length (prime factors
/// fall back to the direct sum over precomputed roots), enough for the
/// image sizes of `FourierImage`; `dft` is the reference it is tested
/// against.
struct FFT: Sendable {
  let length: Int
  /// −1 for the forward transform, +1 for the (unnormalised) inverse.
  let sign: Double
  /// e^{sign·2πi·j/N} for j in 0..<N.
  let roots: [Complex]

  init(length: Int, sign: Double) {
    precondition(length >= 1, "empty transform")
    self.length = length
    self.sign = sign
    roots = (0..<length).map { Complex.unit(sign * 2 * Double.pi * Double($0) / Double(length)) }
  }

  /// X[k] = Σ_n x[n] e^{sign·2πi·kn/N}, unnormalised.
  func callAsFunction(_ x: [Complex]) -> [Complex] {
    precondition(x.count == length, "\(x.count) values for a transform of \(length)")
    return transform(x, step: 1)
  }

  /// The transform of a subsequence of length N / step, whose roots are
  /// every step-th root of the whole.
  private func transform(_ x: [Complex], step: Int) -> [Complex] {
    let n = x.count
    guard n > 1 else { return x }
    let p = Self.smallestFactor(n)
    var out = [Complex](repeating: Complex(0, 0), count: n)
    guard p < n else {
      for k in 0..<n {
        var sum = Complex(0, 0)
        for j in 0..<n { sum = sum + x[j] * roots[(k * j % n) * step] }
        out[k] = sum
      }
      return out
    }
    let m = n / p
    // The p interleaved subsequences x[r], x[r + p], …, each of length m.
    let parts = (0..<p).map { r in
      transform(stride(from: r, to: n, by: p).map { x[$0] }, step: step * p)
    }
    for k in 0..<n {
      var sum = Complex(0, 0)
      for r in 0..<p { sum = sum + parts[r][k % m] * roots[(r * k % n) * step] }
      out[k] = sum
    }
    return out
  }

  /// The direct O(N²) sum in Double: the reference.
  static func dft(_ x: [Complex], sign: Double) -> [Complex] {
    let n = x.count
    return (0..<n).map { k in
      var re = 0.0
      var im = 0.0
      for (j, v) in x.enumerated() {
        let theta = sign * 2 * Double.pi * Double((k * j) % n) / Double(n)
        re += Double(v.re) * cos(theta) - Double(v.im) * sin(theta)
        im += Double(v.re) * sin(theta) + Double(v.im) * cos(theta)
      }
      return Complex(Float(re), Float(im))
    }
  }

  static func smallestFactor(_ n: Int) -> Int {
    var p = 2
    while p * p <= n {
      if n % p == 0 { return p }
      p += 1
    }
    return n
  }
}

/// Real 2-D transforms of (H, W) images with numpy's conventions.
struct RealFFT2D: Sendable {
  let height: Int
  let width: Int
  private let rowsForward, columnsForward, rowsInverse, columnsInverse: FFT

  init(height: Int, width: Int) {
    self.height = height
    self.width = width
    rowsForward = FFT(length: width, sign: -1)
    columnsForward = FFT(length: height, sign: -1)
    rowsInverse = FFT(length: width, sign: 1)
    columnsInverse = FFT(length: height, sign: 1)
  }

  var halfWidth: Int { width / 2 + 1 }

  /// The 2-D transform of an (H, W) array, rows then columns.
  private func transform2D(_ x: [Complex], rows: FFT, columns: FFT) -> [Complex] {
    let (h, w) = (height, width)
    var out = x
    for y in 0..<h {
      out.replaceSubrange((y * w)..<((y + 1) * w), with: rows(Array(out[(y * w)..<((y + 1) * w)])))
    }
    for x in 0..<w {
      let column = columns((0..<h).map { out[$0 * w + x] })
      for y in 0..<h { out[y * w + x] = column[y] }
    }
    return out
  }

  /// numpy's `rfft2`: the forward transform of a real image, columns
  /// 0…W/2, (H, W/2 + 1).
  func forward(_ image: [Float]) -> [Complex] {
    precondition(image.count == height * width, "the image is not H×W")
    let full = transform2D(
      image.map { Complex($0, 0) }, rows: rowsForward, columns: columnsForward)
    let (w, wf) = (width, halfWidth)
    return (0..<(height * wf)).map { full[($0 / wf) * w + $0 % wf] }
  }

  /// How many times column `x` of a half spectrum counts in the inverse:
  /// once for 0 and (even W) W/2, twice for the others, whose conjugates
  /// fill the missing half.
  func multiplicity(_ x: Int) -> Float { x == 0 || 2 * x == width ? 1 : 2 }

  /// numpy's `irfft2` with s = (H, W): Re(Σ c_x X e^{+2πi(…)}) / (H·W),
  /// c the column's multiplicity. As numpy's does, it takes the real part,
  /// so a spectrum that is not Hermitian in columns 0 and W/2 is accepted.
  func inverse(_ spectrum: [Complex]) -> [Float] {
    precondition(spectrum.count == height * halfWidth, "the spectrum is not H×(W/2+1)")
    let (w, wf) = (width, halfWidth)
    var full = [Complex](repeating: Complex(0, 0), count: height * w)
    for y in 0..<height {
      for x in 0..<wf {
        let c = multiplicity(x)
        let v = spectrum[y * wf + x]
        full[y * w + x] = Complex(c * v.re, c * v.im)
      }
    }
    let out = transform2D(full, rows: rowsInverse, columns: columnsInverse)
    let n = Float(height * w)
    return out.map { $0.re / n }
  }

  /// The adjoint of `inverse` as a real-linear map of the spectrum's real
  /// and imaginary parts: for an image gradient g, the gradient of
  /// (Re X, Im X) is c_x · rfft2(g) / (H·W).
  func inverseAdjoint(_ g: [Float]) -> [Complex] {
    let wf = halfWidth
    let n = Float(height * width)
    return forward(g).enumerated().map { i, v in
      let c = multiplicity(i % wf) / n
      return Complex(c * v.re, c * v.im)
    }
  }
}
