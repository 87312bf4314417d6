import Engine
import Tensors
import XCTest

@testable import Explain

/// Receptive fields of known networks, and of any chain checked against
/// the support of a unit's input gradient.
final class ReceptiveFieldTests: XCTestCase {
  typealias Axis = ReceptiveField.Axis

  static func ones(_ kh: Int, _ kw: Int, _ cin: Int, _ cout: Int) -> Tensor {
    Tensor(
      shape: Shape(kh, kw, cin, cout), storage: Array(repeating: 1, count: kh * kw * cin * cout))
  }

  static func conv(
    _ k: Int, _ cin: Int = 1, _ cout: Int = 1, stride: Int = 1, padding: Padding = .valid
  ) -> Conv2D {
    Conv2D(
      kernel: ones(k, k, cin, cout), bias: Tensor(zeros: Shape(cout)), strides: (stride, stride),
      padding: padding)
  }

  func field(_ layers: [any Layer], input: Shape, tensor: String? = nil) throws -> ReceptiveField {
    let graph = try Graph(chain: layers, inputShape: input)
    return try ReceptiveField.of(tensor ?? graph.output, in: graph)
  }

  func testThreeStackedThreeByThreeConvolutionsSeeSevenPixels() throws {
    let f = try field([Self.conv(3), Self.conv(3), Self.conv(3)], input: Shape(1, 16, 16))
    XCTAssertEqual(f.vertical, Axis(size: 7, jump: 1, start: 0))
    XCTAssertEqual(f.window(y: 2, x: 4).columns, 4..<11)
  }

  /// ResNet's stem: 7×7 stride 2 padding 3, then 3×3 max pooling stride 2
  /// padding 1: 11 pixels, every 4, starting 5 before the image.
  func testResNetStem() throws {
    let f = try field(
      [
        Self.conv(7, stride: 2, padding: .symmetric(3)),
        Pooling2D(.max, poolSize: (3, 3), strides: (2, 2), padding: .symmetric(1)),
      ],
      input: Shape(1, 224, 224))
    XCTAssertEqual(f.vertical, Axis(size: 11, jump: 4, start: -5))
    XCTAssertEqual(f.horizontal, f.vertical)
  }

  /// The MNIST CNN's front (Keras's mnist_cnn): 3×3, 3×3, 2×2 pooling.
  func testMNISTFrontAndSamePadding() throws {
    let f = try field(
      [
        Self.conv(3), Activation(.relu), Self.conv(3), Pooling2D(.max),
        Dropout(rate: 0.25, generator: SeededGenerator(seed: 1)),
      ],
      input: Shape(1, 28, 28))
    XCTAssertEqual(f.vertical, Axis(size: 6, jump: 2, start: 0))
    let same = try field([Self.conv(3, padding: .same)], input: Shape(1, 8, 8))
    XCTAssertEqual(same.horizontal, Axis(size: 3, jump: 1, start: -1))
  }

  /// A 3×3 kernel with dilation 2 spans 5 pixels; global pooling sees
  /// the whole map.
  func testDilationAndGlobalPooling() throws {
    let dilated = Conv2D(
      kernel: Self.ones(3, 3, 1, 1), bias: Tensor(zeros: Shape(1)), dilations: (2, 2))
    let f = try field([dilated, Self.conv(3)], input: Shape(1, 16, 16))
    XCTAssertEqual(f.vertical, Axis(size: 7, jump: 1, start: 0))
    let global = try field(
      [Self.conv(3, stride: 2), GlobalPooling2D(.average)], input: Shape(1, 11, 11))
    // 3×3 stride 2 on 11 gives 5 positions: the last sees pixels 8…10.
    XCTAssertEqual(global.vertical, Axis(size: 11, jump: 2, start: 0))
  }

  /// Two branches joined by Add: the union of a 3×3 and a 5×5 field.
  func testAddTakesTheUnionOfItsBranches() throws {
    let graph = try Graph(
      input: "x", shape: Shape(1, 10, 10),
      nodes: [
        .init("a", Self.conv(3, padding: .same), inputs: ["x"]),
        .init("b", Self.conv(5, padding: .same), inputs: ["x"]),
        .init("sum", Add(), inputs: ["a", "b"]),
        .init("flat", Flatten(), inputs: ["sum"]),
      ], output: "flat")
    let f = try ReceptiveField.of("sum", in: graph)
    XCTAssertEqual(f.vertical, Axis(size: 5, jump: 1, start: -2))
    XCTAssertThrowsError(try ReceptiveField.of("flat", in: graph)) {
      XCTAssertEqual($0 as? ExplainError, .unknownReceptiveField(node: "flat", kind: "Flatten"))
    }
  }

  /// The reference: with all-one kernels and average pooling every input
  /// pixel in a unit's field has a positive gradient and no other has, so
  /// the gradient's support is the field clipped to the image.
  func testFieldIsTheSupportOfTheInputGradient() throws {
    let chains: [[any Layer]] = [
      [
        Self.conv(3, 1, 2, stride: 2, padding: .same), Self.conv(3, 2, 2),
        Pooling2D(.average, poolSize: (3, 3), strides: (2, 2)),
      ],
      [
        Self.conv(5, stride: 1, padding: .symmetric(2)), Pooling2D(.average),
        Self.conv(3, padding: .same), Activation(.relu),
      ],
      [
        Self.conv(7, stride: 2, padding: .symmetric(3)),
        Pooling2D(.average, poolSize: (3, 3), strides: (2, 2), padding: .symmetric(1)),
      ],
      [
        Conv2D(
          kernel: Self.ones(3, 3, 1, 1), bias: Tensor(zeros: Shape(1)), padding: .same,
          dilations: (2, 3)),
        Self.conv(3, stride: 2),
      ],
    ]
    for (index, layers) in chains.enumerated() {
      let (h, w) = (23, 20)
      var network = Network(inputShape: Shape(1, h, w), layers: layers)
      let f = try ReceptiveField.of(network.graph.output, in: network.graph)
      let input = Tensor(shape: Shape(1, 1, h, w), storage: Array(repeating: 0.5, count: h * w))
      let a = try network.activation(
        of: network.graph.output, for: input, mode: .inferenceWithGradients)
      let (mh, mw) = (a.shape[2], a.shape[3])
      for (y, x) in [(0, 0), (mh / 2, mw / 2), (mh - 1, mw - 1), (0, mw - 1)] {
        var dA = Tensor(zeros: a.shape)
        dA.storage[y * mw + x] = 1
        _ = try network.activation(
          of: network.graph.output, for: input, mode: .inferenceWithGradients)
        guard let d = try network.backward(dA, inputGradient: true) else { return XCTFail() }
        let (rows, columns) = f.window(y: y, x: x)
        for iy in 0..<h {
          for ix in 0..<w {
            XCTAssertEqual(
              d.storage[iy * w + ix] != 0, rows.contains(iy) && columns.contains(ix),
              "chain \(index), unit (\(y), \(x)), pixel (\(iy), \(ix))")
          }
        }
      }
    }
  }
}
