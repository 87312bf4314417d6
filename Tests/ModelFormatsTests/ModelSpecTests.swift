import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

final class ModelSpecTests: XCTestCase {
  func testParsesPositionalAndKeyedFormsAlike() throws {
    let positional = try ModelSpec.parse(
      """
      # the seed's network
      input 28 28 1
      conv2d 32 3 relu
      maxpool2d 2
      dropout 0.25
      flatten
      dense 10 softmax   # classes
      """)
    let keyed = try ModelSpec.parse(
      """
      input height=28 width=28 channels=1
      Conv2D filters=32 kernel_size=3x3 activation=relu strides=1 padding=valid

      max_pooling2d pool_size=2 strides=2x2
      dropout rate=0.25
      flatten
      dense units=10 activation=softmax
      """)
    XCTAssertEqual(positional, keyed)
    XCTAssertEqual(positional.input, .image(height: 28, width: 28, channels: 1))
    XCTAssertEqual(
      positional.layers,
      [
        .conv2d(
          filters: 32, kernel: Size2(3, 3), strides: Size2(1, 1), padding: .valid,
          activation: .relu),
        .pooling2d(.max, pool: Size2(2, 2), strides: Size2(2, 2)),
        .dropout(rate: 0.25), .flatten, .dense(units: 10, activation: .softmax),
      ])
    XCTAssertEqual(
      positional.outputShapes,
      [
        .image(height: 26, width: 26, channels: 32), .image(height: 13, width: 13, channels: 32),
        .image(height: 13, width: 13, channels: 32), .flat(5408), .flat(10),
      ])
    XCTAssertEqual(positional.classCount, 10)
  }

  /// Keras output sizes: valid floor((n − k) / s) + 1, same ceil(n / s).
  func testOutputShapesFollowKeras() throws {
    let spec = try ModelSpec.parse(
      """
      input 7 8 2
      conv2d 4 3x2 strides=2 padding=same
      conv2d 4 3 strides=2
      avgpool2d pool=1 strides=1
      l2pool2d 1
      """)
    XCTAssertEqual(
      spec.outputShapes,
      [
        .image(height: 4, width: 4, channels: 4), .image(height: 1, width: 1, channels: 4),
        .image(height: 1, width: 1, channels: 4), .image(height: 1, width: 1, channels: 4),
      ])
    let overlapping = try ModelSpec.parse("input 7 7 1\nmaxpool2d 3 strides=2\n")
    XCTAssertEqual(overlapping.outputShape, .image(height: 3, width: 3, channels: 1))
  }

  func testCanonicalTextRoundTrips() throws {
    for preset in Preset.allCases {
      let spec = preset.spec
      let text = spec.canonicalText
      XCTAssertEqual(try ModelSpec.parse(text), spec, preset.rawValue)
      XCTAssertEqual(try ModelSpec.parse(text).canonicalText, text)
    }
    let odd = try ModelSpec.parse(
      "input 5 6 3\nconv2d 2 3x1 tanh\navgpool2d 2x1 1x1\nflatten\n"
        + "activation sigmoid\ndropout 0.125\ndense 3\n")
    XCTAssertEqual(try ModelSpec.parse(odd.canonicalText), odd)
    XCTAssertEqual(
      odd.canonicalText,
      """
      input 5 6 3
      conv2d filters=2 kernel=3x1 strides=1x1 padding=valid activation=tanh
      avgpool2d pool=2x1 strides=1x1
      flatten
      activation sigmoid
      dropout rate=0.125
      dense units=3 activation=linear

      """)
  }

  func testLayerAndParameterNamesFollowKeras() {
    let spec = Preset.mnistCNN.spec
    XCTAssertEqual(
      spec.layerNames,
      ["conv2d", "conv2d_1", "max_pooling2d", "dropout", "flatten", "dense", "dense_1"])
    XCTAssertEqual(
      spec.parameterShapes.map(\.name),
      [
        "conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias",
        "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
      ])
    XCTAssertEqual(spec.parameterShapes[2].shape, Shape(3, 3, 32, 32))
    XCTAssertEqual(spec.parameterShapes[4].shape, Shape(4608, 200))
  }

  private func assertError(
    _ text: String, _ expected: ModelSpecError, mentions: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertThrowsError(try ModelSpec.parse(text), file: file, line: line) { error in
      XCTAssertEqual(error as? ModelSpecError, expected, file: file, line: line)
      XCTAssertTrue(
        "\(error)".contains(mentions), "\"\(error)\" lacks \(mentions)", file: file, line: line)
    }
  }

  func testErrorsNameLineAndToken() {
    assertError("", .empty, mentions: "input HEIGHT WIDTH CHANNELS")
    assertError("# only a comment\n\n", .empty, mentions: "empty")
    assertError("dense 10\n", .misplacedInput(line: 1), mentions: "line 1")
    assertError("input 4 4 1\ninput 4 4 1\n", .misplacedInput(line: 2), mentions: "line 2")
    assertError(
      "input 28 28 1\nconv3d 3 3\n", .unknownLayer(line: 2, token: "conv3d"),
      mentions: "line 2: unknown layer 'conv3d'")
    assertError(
      "input 28 28 1\nconv2d 3 3 dilation=2\n",
      .unknownParameter(line: 2, layer: "conv2d", token: "dilation"), mentions: "'dilation'")
    assertError(
      "input 28 28 1\nconv2d 3 3 filters=4\n",
      .duplicateParameter(line: 2, layer: "conv2d", parameter: "filters"), mentions: "twice")
    assertError(
      "input 28 28 1\nflatten 3\n", .tooManyArguments(line: 2, layer: "flatten", token: "3"),
      mentions: "'3'")
    assertError(
      "input 28 28 1\nconv2d 32\n",
      .missingParameter(line: 2, layer: "conv2d", parameter: "kernel"),
      mentions: "needs 'kernel'")
    assertError(
      "input 28 28 1\nconv2d 32 3 rellu\n",
      .invalidValue(
        line: 2, parameter: "activation", token: "rellu",
        expected: "one of linear, relu, sigmoid, tanh, softmax"),
      mentions: "'rellu'")
    assertError(
      "input 28 28 1\n\nconv2d 32 0\n",
      .invalidValue(
        line: 3, parameter: "kernel", token: "0", expected: "N or HxW with each from 1 to 4096"),
      mentions: "line 3")
    assertError(
      "input 28 28 1\ndropout 1.5\n",
      .invalidValue(line: 2, parameter: "rate", token: "1.5", expected: "a number in [0, 1)"),
      mentions: "1.5")
    assertError(
      "input 28 x 1\n",
      .invalidValue(
        line: 1, parameter: "width", token: "x", expected: "an integer from 1 to 65536"),
      mentions: "'x'")
    assertError(
      "input 28 28 1\ndense 10\n",
      .incompatibleShape(
        line: 2, layer: "dense", input: .image(height: 28, width: 28, channels: 1),
        reason: "needs a flat input; add `flatten` before it"),
      mentions: "flatten")
    assertError(
      "input 2 2 1\nconv2d 1 3\n",
      .incompatibleShape(
        line: 2, layer: "conv2d", input: .image(height: 2, width: 2, channels: 1),
        reason: "kernel 3x3 is larger than the 2x2 input"),
      mentions: "larger")
    assertError(
      "input 4 4 1\nflatten\nmaxpool2d 2\n",
      .incompatibleShape(
        line: 3, layer: "maxpool2d", input: .flat(16),
        reason: "needs an image input; pooling cannot follow flatten or dense"),
      mentions: "line 3")
  }

  /// The engine's softmax works on flat features only; a spec must not
  /// reach it with images (regression: `activation softmax` after conv trapped).
  func testSoftmaxNeedsFlatFeatures() {
    assertError(
      "input 4 4 1\nconv2d 2 3 softmax\n",
      .incompatibleShape(
        line: 2, layer: "conv2d", input: .image(height: 4, width: 4, channels: 1),
        reason: "softmax needs flat features; use it on dense"),
      mentions: "softmax")
    assertError(
      "input 4 4 1\nactivation softmax\n",
      .incompatibleShape(
        line: 2, layer: "activation", input: .image(height: 4, width: 4, channels: 1),
        reason: "softmax needs flat features; add `flatten` before it"),
      mentions: "flatten")
    XCTAssertNoThrow(try ModelSpec.parse("input 4 4 1\nflatten\nactivation softmax\n"))
  }

  /// Every spec that parses builds an engine model without tripping its
  /// preconditions (small random specs).
  func testEveryParsedSpecBuilds() {
    var generator = SeededGenerator(seed: 13)
    let lines = [
      "conv2d 2 3", "conv2d 2 3 relu padding=same", "conv2d 1 2x1 strides=2 tanh",
      "conv2d 2 1 softmax", "maxpool2d 2", "avgpool2d 3 strides=1", "l2pool2d 2 strides=1",
      "dropout 0.5", "flatten", "dense 3 sigmoid", "dense 2 softmax", "activation softmax",
      "activation relu",
    ]
    var built = 0
    for _ in 0..<400 {
      var text = "input 5 4 2\n"
      for _ in 0..<Int(generator.next() % 5) + 1 {
        text += lines[Int(generator.next() % UInt64(lines.count))] + "\n"
      }
      guard let spec = try? ModelSpec.parse(text) else { continue }
      let model = spec.makeModel(seed: 1)
      XCTAssertEqual(model.outputShape, spec.outputShape.tensorShape, text)
      built += 1
    }
    XCTAssertGreaterThan(built, 50)
  }

  func testRefusesSpecsTooLargeToAllocate() {
    XCTAssertThrowsError(
      try ModelSpec.parse("input 4 4 1\nflatten\ndense 16777216\ndense 16777216\n")
    ) { error in
      XCTAssertEqual((error as? ModelSpecError)?.line, 4)
    }
    XCTAssertThrowsError(try ModelSpec.parse("input 65536 65536 65536\n")) { error in
      XCTAssertEqual((error as? ModelSpecError)?.line, 1)
    }
  }

  /// Random edits of a valid spec either parse or throw; they never trap.
  func testMutatedTextNeverCrashes() {
    var generator = SeededGenerator(seed: 7)
    let base = Array(Preset.cifarCNN.specText.utf8)
    let alphabet = Array("0123456789 =x#\n-.abcdefilnoprstuvwyz".utf8)
    for _ in 0..<3000 {
      var bytes = base
      for _ in 0..<Int(generator.next() % 4) + 1 {
        let position = Int(generator.next() % UInt64(bytes.count))
        switch generator.next() % 3 {
        case 0: bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
        case 1: bytes.remove(at: position)
        default:
          bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
        }
      }
      _ = try? ModelSpec.parse(String(decoding: bytes, as: UTF8.self))
    }
  }
}
