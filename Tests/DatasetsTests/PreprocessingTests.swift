import Datasets
import Foundation
import ImageCodecs
import XCTest

@testable import Tensors

/// `Preprocessing` through the one conversion, `PixelConversion`: the
/// numbers by hand, the batch path against the single-image path, and
/// `--preprocess imagenet` against torchvision.
final class PreprocessingTests: XCTestCase {
  /// Two pixels, (10, 20, 30) and (200, 100, 50).
  private let image = Image(width: 2, height: 1, layout: .rgb, samples: [10, 20, 30, 200, 100, 50])

  func testMeanStdAndScaleGiveTheHandComputedValues() {
    let unit = Preprocessing(mean: [0.5, 0.25, 0.125], std: [0.5, 0.25, 2])
    let tensor = PixelConversion.tensor(of: image, channels: 3, preprocessing: unit)
    XCTAssertEqual(tensor.shape, Shape(1, 3, 1, 2))
    // (b / 255 − mean) / std, channel planes R, G, B.
    let expected: [Float] = [
      (10 / 255 - 0.5) / 0.5, (200 / 255 - 0.5) / 0.5,
      (20 / 255 - 0.25) / 0.25, (100 / 255 - 0.25) / 0.25,
      (30 / 255 - 0.125) / 2, (50 / 255 - 0.125) / 2,
    ]
    for (value, want) in zip(tensor.storage, expected) {
      XCTAssertEqual(value, want, accuracy: 1e-6)
    }
    // Caffe style: [0, 255], BGR, mean subtracted: B first.
    let caffe = Preprocessing(scale: .byte, mean: [100, 110, 120], channelOrder: .bgr)
    // (b / 255 · 255 is b to within Float's rounding.)
    let bgr: [Float] = [-70, -50, -90, -10, -110, 80]
    let caffeValues = PixelConversion.tensor(of: image, channels: 3, preprocessing: caffe).storage
    for (value, want) in zip(caffeValues, bgr) { XCTAssertEqual(value, want, accuracy: 1e-4) }
    // One value serves every channel; a gray input takes it too.
    let one = Preprocessing(scale: .byte, mean: [10], std: [2])
    let shared: [Float] = [0, 95, 5, 45, 10, 20]
    let oneValues = PixelConversion.tensor(of: image, channels: 3, preprocessing: one).storage
    for (value, want) in zip(oneValues, shared) { XCTAssertEqual(value, want, accuracy: 1e-4) }
    XCTAssertEqual(one.mismatch(channels: 1), nil)
    XCTAssertNotNil(Preprocessing(mean: [1, 2]).mismatch(channels: 3))
  }

  func testDisplayValuesUndoTheNormalization() {
    let preprocessing = Preprocessing(
      scale: .byte, mean: [100, 110, 120], std: [2, 4, 8], channelOrder: .bgr)
    let plain = PixelConversion.tensor(of: image, channels: 3)
    let shown = PixelConversion.displayValues(
      PixelConversion.tensor(of: image, channels: 3, preprocessing: preprocessing),
      preprocessing)
    for (value, want) in zip(shown.storage, plain.storage) {
      XCTAssertEqual(value, want, accuracy: 1e-6)
    }
  }

  func testStandardLeavesTheValuesAlone() {
    XCTAssertEqual(
      PixelConversion.tensor(of: image, channels: 3, preprocessing: .standard),
      PixelConversion.tensor(of: image, channels: 3))
    XCTAssertTrue(Preprocessing(mean: [0, 0, 0], std: [1]).leavesValues)
  }

  /// Evaluation reads batches of a data set held as bytes: they must get
  /// the numbers a single image gets.
  func testDatasetBatchesMatchTheSingleImagePath() {
    let second = Image(width: 2, height: 1, layout: .rgb, samples: [1, 2, 3, 4, 5, 6])
    let preprocessing = Preprocessing(
      scale: .byte, mean: [1, 2, 3], std: [4, 5, 6], channelOrder: .bgr)
    let planes = [image, second].flatMap { PixelConversion.planes(of: $0, channels: 3) }
    var data = Dataset(
      bytes: planes.map { UInt8(($0 * 255).rounded()) }, shape: Shape(2, 3, 1, 2),
      labels: [0, 1], classNames: [])
    data.preprocessing = preprocessing
    let batch = data.batch([1, 0]).images
    let single = [second, image].flatMap {
      PixelConversion.tensor(of: $0, channels: 3, preprocessing: preprocessing).storage
    }
    XCTAssertEqual(batch.storage, single)
    XCTAssertEqual(data.slice(0..<1).preprocessing, preprocessing, "parts keep it")
    XCTAssertEqual(data.images.storage, planes, "images stay as read, for pictures")
  }

  /// torchvision's Resize(S): the shorter side to S, the longer to
  /// int(S · long / short); CenterCrop's offsets rounded half to even.
  func testShorterSideFollowsTorchvisionGeometry() throws {
    // 335×250: 343×256, margins 119 → round(59.5) = 60 and 32 → 16.
    let landscape = try XCTUnwrap(
      ResizeMode.fill.layout(
        height: 250, width: 335, toHeight: 224, toWidth: 224, shorterSide: 256))
    XCTAssertEqual(
      [landscape.height, landscape.width, landscape.top, landscape.left], [256, 343, 16, 60])
    // 239×303: 256 · 303 / 239 = 324.55, truncated to 324.
    let portrait = try XCTUnwrap(
      ResizeMode.fill.layout(
        height: 303, width: 239, toHeight: 224, toWidth: 224, shorterSide: 256))
    XCTAssertEqual(
      [portrait.height, portrait.width, portrait.top, portrait.left], [324, 256, 50, 16])
    // 341 wide: margin 117 → round(58.5) = 58 (to even).
    let even = try XCTUnwrap(
      ResizeMode.fill.layout(height: 256, width: 341, toHeight: 224, toWidth: 224, shorterSide: 256)
    )
    XCTAssertEqual(even.left, 58)
    // An image already of the input size is still scaled and cut.
    let plane = (0..<16).map(Float.init)
    let cut = try XCTUnwrap(
      ResizeMode.fill.apply(
        plane, channels: 1, height: 4, width: 4, toHeight: 4, toWidth: 4, shorterSide: 6))
    let scaled = Resampling.resize(plane, channels: 1, height: 4, width: 4, toHeight: 6, toWidth: 6)
    XCTAssertEqual(cut, (1..<5).flatMap { y in (1..<5).map { x in scaled[y * 6 + x] } })
  }

  /// `Preprocessing.imagenet` at 224×224 against torchvision 0.14's
  /// Resize(256), CenterCrop(224), ToTensor, Normalize on the same PNG
  /// (scripts/make-preprocess-fixtures.py; every 4th row and column).
  ///
  /// Tolerance: torchvision resizes the 8-bit picture with Pillow, whose
  /// 8-bit path (libImaging/Resample.c) rounds to an integer twice, after
  /// the horizontal pass into a temporary 8-bit image and after the
  /// vertical one; convviz resizes the float values with the same filter
  /// and rounds nothing. That is at most two half levels, 1 / 255, before
  /// Normalize, so at most 1 / 255 / 0.224 = 0.01751 after dividing by the
  /// smallest std (Pillow's 22-bit fixed-point weights and float rounding
  /// add far less than 1e-4). On average two uniform half-level errors
  /// differ by a third of a level, 1 / 3 / 255 / 0.226 ≈ 0.0058.
  func testImageNetPresetMatchesTorchvision() throws {
    for name in ["landscape", "portrait"] {
      let picture = try ImageFile.read(fixturePath("imagenet-preprocess/\(name).png"))
      let reference = try NumPyFile.read(
        fixturePath("imagenet-preprocess/\(name).npy"), maximumBytes: 1 << 20)
      XCTAssertEqual(reference.shape, [3, 56, 56])
      let tensor = try XCTUnwrap(
        PixelConversion.tensor(
          of: picture, channels: 3, height: 224, width: 224, resize: .fill,
          preprocessing: .imagenet))
      let expected = reference.floats
      var worst: Float = 0
      var sum: Float = 0
      for c in 0..<3 {
        for y in 0..<56 {
          for x in 0..<56 {
            let ours = tensor.storage[(c * 224 + 4 * y) * 224 + 4 * x]
            let difference = abs(ours - expected[(c * 56 + y) * 56 + x])
            worst = max(worst, difference)
            sum += difference
          }
        }
      }
      XCTAssertLessThan(worst, 0.0176, "\(name): largest difference")
      XCTAssertLessThan(sum / Float(expected.count), 0.0060, "\(name): mean difference")
    }
  }

  func testMetadataRoundTripsAndRefusesBadValues() throws {
    let entries = Dictionary(
      uniqueKeysWithValues: Preprocessing.imagenet.metadataEntries.map {
        ($0.key, $0.value)
      })
    XCTAssertEqual(entries["convviz.mean"], "0.485,0.456,0.406")
    XCTAssertEqual(try Preprocessing(metadata: { entries[$0] }), .imagenet)
    XCTAssertEqual(try Preprocessing(metadata: { _ in nil }), .standard)
    XCTAssertThrowsError(
      try Preprocessing(metadata: { $0 == "convviz.std" ? "0.2,0,0.2" : nil })
    ) {
      XCTAssertEqual(
        "\($0)",
        "metadata convviz.std is '0.2,0,0.2', expected non-zero numbers such as "
          + "0.229,0.224,0.225")
    }
    XCTAssertThrowsError(
      try Preprocessing(metadata: { $0 == "convviz.pixel_scale" ? "2" : nil }))
  }
}
