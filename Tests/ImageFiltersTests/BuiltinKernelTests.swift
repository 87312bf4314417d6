import XCTest

@testable import ImageFilters

final class BuiltinKernelTests: XCTestCase {
  private func matrix(_ name: BuiltinKernel) throws -> [[Float]] {
    guard case .kernel(let k) = try name.operation() else {
      XCTFail("\(name) is not a single kernel")
      return []
    }
    return k.matrix
  }

  func testFixedMatrices() throws {
    let ninth = Float(1.0 / 9.0)
    XCTAssertEqual(try matrix(.blur), Array(repeating: [ninth, ninth, ninth], count: 3))
    XCTAssertEqual(try matrix(.edges), [[1, 1, 1], [1, -8, 1], [1, 1, 1]])
    XCTAssertEqual(try matrix(.laplacian4), [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    XCTAssertEqual(try matrix(.sobelX), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    XCTAssertEqual(try matrix(.sobelY), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    XCTAssertEqual(try matrix(.prewittX), [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
    XCTAssertEqual(try matrix(.prewittY), [[-1, -1, -1], [0, 0, 0], [1, 1, 1]])
    XCTAssertEqual(try matrix(.sharpen), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    XCTAssertEqual(try matrix(.emboss), [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    XCTAssertEqual(try matrix(.identity), [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
  }

  func testNamesAndSummaries() {
    XCTAssertEqual(
      BuiltinKernel.allCases.map(\.rawValue),
      [
        "blur", "edges", "laplacian4", "sobel-x", "sobel-y", "sobel", "prewitt-x", "prewitt-y",
        "sharpen", "emboss", "identity", "gaussian", "box",
      ])
    for name in BuiltinKernel.allCases { XCTAssertFalse(name.summary.isEmpty) }
    XCTAssertEqual(BuiltinKernel(rawValue: "sobel-x"), .sobelX)
  }

  func testSobelIsGradientMagnitudeOfSobelXAndY() throws {
    XCTAssertEqual(
      try BuiltinKernel.sobel.operation(),
      .gradientMagnitude(
        x: Kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        y: Kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])))
  }

  func testGaussianMatchesOpenCVGetGaussianKernel() throws {
    // cv2.getGaussianKernel(7, 1) (= normalised exp(-(i-3)^2/2)), computed with numpy.
    let g: [Double] = [
      0.00443305, 0.05400558, 0.24203623, 0.39905028, 0.24203623,
      0.05400558, 0.00443305,
    ]
    let k = try BuiltinKernel.gaussian(sigma: 1)
    XCTAssertEqual(k.rows, 7, "default size 2*ceil(3σ)+1")
    XCTAssertEqual(k.cols, 7)
    for r in 0..<7 {
      for c in 0..<7 { XCTAssertEqual(Double(k[r, c]), g[r] * g[c], accuracy: 1e-7) }
    }
    XCTAssertEqual(Double(k.weights.reduce(0, +)), 1, accuracy: 1e-5)
    XCTAssertEqual(try BuiltinKernel.gaussian(sigma: 1.5).rows, 11)
    // Even size: centre between taps; numpy: [0.0866441, 0.4133559, 0.4133559, 0.0866441].
    let even = try BuiltinKernel.gaussian(sigma: 0.8, size: 4)
    XCTAssertEqual(Double(even[0, 1]), 0.0866441 * 0.4133559, accuracy: 1e-7)
  }

  func testBoxAndParameterErrors() throws {
    guard case .kernel(let box) = try BuiltinKernel.box.operation(size: 4) else { return XCTFail() }
    XCTAssertEqual(box.rows, 4)
    XCTAssertEqual(box.weights, Array(repeating: 1 / 16, count: 16))
    guard case .kernel(let box3) = try BuiltinKernel.box.operation() else { return XCTFail() }
    XCTAssertEqual(box3.rows, 3)
    XCTAssertThrowsError(try BuiltinKernel.box.operation(size: 0)) { error in
      XCTAssertEqual(
        error as? KernelError,
        .invalidParameter(
          kernel: "box", name: "size", value: "0", reason: "it must be between 1 and 1023"))
    }
    XCTAssertThrowsError(try BuiltinKernel.gaussian.operation(sigma: 0)) { error in
      XCTAssertEqual(
        error as? KernelError,
        .invalidParameter(
          kernel: "gaussian", name: "sigma", value: "0.0", reason: "it must be a positive number"))
    }
    XCTAssertThrowsError(try BuiltinKernel.gaussian.operation(sigma: .nan))
    XCTAssertThrowsError(try BuiltinKernel.gaussian.operation(sigma: 1, size: 5000))
  }
}
