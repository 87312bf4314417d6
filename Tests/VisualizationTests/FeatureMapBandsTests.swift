import Engine
import ModelFormats
import Tensors
import XCTest

@testable import Visualization

/// Maps made band by band at display size equal the whole maps shrunk
/// (the 36-megapixel photo of docs/robustness.md came out byte for byte
/// the same picture).
final class FeatureMapBandsTests: XCTestCase {
  /// `spec` with seeded Glorot weights.
  func model(_ spec: String, seed: UInt64 = 3) throws -> ModelFile {
    let parsed = try ModelSpec.parse(spec)
    let network = parsed.makeModel(seed: seed)
    return ModelFile(
      spec: parsed, metadata: TrainingMetadata(), parameters: network.namedParameters(parsed))
  }

  func photo(channels: Int, height: Int, width: Int, seed: UInt64 = 9) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor(
      shape: Shape(1, channels, height, width),
      storage: (0..<(channels * height * width)).map { _ in generator.nextUnitFloat() })
  }

  /// Bands (a few hundred bytes each, so there are many) against the
  /// whole maps, shrunk as the grid shrinks them.
  func assertBandsMatchWhole(
    _ spec: String, layer: Int, channels: Int, height: Int, width: Int, maxTileSide: Int,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let model = try model(spec)
    let input = photo(channels: channels, height: height, width: width)
    let bands = try XCTUnwrap(
      FeatureMapBands(
        spec: model.spec, inputHeight: height, inputWidth: width, inputChannels: channels,
        through: layer, maxTileSide: maxTileSide, bandBytes: 1),
      file: file, line: line)
    XCTAssertGreaterThan(bands.bands.count, 2, "several bands", file: file, line: line)
    let (shrunk, strongest) = try bands.run(model: model, input: input)
    let whole = try LayerActivations.compute(model: model, input: input, through: layer)
    XCTAssertEqual(
      [bands.channels, bands.height, bands.width], Array(whole.shape.dims.dropFirst()),
      file: file, line: line)
    let expected = FeatureMaps.tiles(whole).map { $0.downsampled(by: bands.factor) }
    XCTAssertEqual(shrunk.shape, bands.shrunkShape, file: file, line: line)
    // Equal up to the last bits: the convolution kernels may sum in
    // another order for a band's size than for the whole image's. A band
    // off by one row would differ in the first digit.
    let values = expected.flatMap { $0.planes[0] }
    XCTAssertEqual(shrunk.storage.count, values.count, file: file, line: line)
    let worst = zip(shrunk.storage, values).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    XCTAssertLessThan(worst, 1e-5, file: file, line: line)
    XCTAssertEqual(strongest, FeatureMaps.strongestChannel(whole), file: file, line: line)
  }

  func testValidConvolutionsAndPooling() throws {
    try assertBandsMatchWhole(
      "input 28 28 1\nconv2d 6 3 relu\nconv2d 4 3 relu\nmaxpool2d 2\nflatten\ndense 2 softmax\n",
      layer: 2, channels: 1, height: 61, width: 47, maxTileSide: 6)
    try assertBandsMatchWhole(
      "input 28 28 1\nconv2d 6 3 relu\nconv2d 4 3 relu\nmaxpool2d 2\nflatten\ndense 2 softmax\n",
      layer: 0, channels: 1, height: 50, width: 33, maxTileSide: 7)
  }

  func testSamePaddingStridesAndActivations() throws {
    let spec = """
      input 32 32 3
      conv2d 5 3 padding=same activation=tanh
      conv2d 4 5 strides=2 relu
      activation sigmoid
      conv2d 3 2 padding=same
      avgpool2d 3 strides=2
      dropout 0.5
      flatten
      dense 2 softmax

      """
    for layer in [0, 1, 3, 4, 5] {
      try assertBandsMatchWhole(
        spec, layer: layer, channels: 3, height: 83, width: 45, maxTileSide: 5)
    }
  }

  /// What `report` draws: shrunk maps for a large sample, whole ones for
  /// a small one.
  func testDisplayMapsAreShrunkOnlyWhenTheGridWouldShrinkThem() throws {
    let model = try model("input 8 8 1\nconv2d 3 3 relu\nmaxpool2d 2\nflatten\ndense 2 softmax\n")
    let large = photo(channels: 1, height: 90, width: 40)
    let shrunk = try FeatureMapBands.displayMaps(
      model: model, input: large, through: 1, maxTileSide: 16)
    XCTAssertEqual(shrunk.shape, Shape(1, 3, 15, 7), "44×19 maps shrunk by 3")
    let small = photo(channels: 1, height: 12, width: 10)
    XCTAssertEqual(
      try FeatureMapBands.displayMaps(model: model, input: small, through: 1, maxTileSide: 16),
      try LayerActivations.compute(model: model, input: small, through: 1))
  }

  func testWhatCannotBeBandedIsLeftWhole() throws {
    let strided = try ModelSpec.parse("input 9 9 1\nconv2d 2 3 strides=2 padding=same\n")
    XCTAssertNil(
      FeatureMapBands(
        spec: strided, inputHeight: 900, inputWidth: 900, inputChannels: 1, through: 0,
        maxTileSide: 8, bandBytes: 1),
      "same padding with a stride depends on the band's height")
    let small = try ModelSpec.parse("input 9 9 1\nconv2d 2 3\n")
    XCTAssertNil(
      FeatureMapBands(
        spec: small, inputHeight: 30, inputWidth: 30, inputChannels: 1, through: 0,
        maxTileSide: 256, bandBytes: 1),
      "maps the grid does not shrink")
    let flat = try ModelSpec.parse("input 9 9 1\nconv2d 2 3\nflatten\n")
    XCTAssertNil(
      FeatureMapBands(
        spec: flat, inputHeight: 900, inputWidth: 900, inputChannels: 1, through: 1,
        maxTileSide: 8, bandBytes: 1))
  }

  /// The MNIST network's 32 maps of a 36-megapixel photo: bands of at
  /// most 256 MiB, each ending on a shown row.
  func testAPhotoOf36MegapixelsIsPlannedInSmallBands() throws {
    let spec = Preset.mnistCNN.spec
    let bands = try XCTUnwrap(
      FeatureMapBands(
        spec: spec, inputHeight: 4912, inputWidth: 7360, inputChannels: 1, through: 0,
        maxTileSide: 256, bandBytes: 256 << 20))
    XCTAssertEqual(bands.factor, 29)
    XCTAssertEqual(bands.shrunkShape, Shape(1, 32, 170, 254))
    XCTAssertEqual(bands.bands.first?.inputRows, 0..<(bands.bands[0].outputRows.count + 2))
    XCTAssertEqual(bands.bands.last?.outputRows.upperBound, 4910)
    for band in bands.bands {
      XCTAssertEqual(band.outputRows.lowerBound % 29, 0)
      XCTAssertEqual(band.outputStart, band.inputRows.lowerBound, "valid 3x3: row r from r")
      let memory = spec.inferenceMemory(
        batchSize: 1, input: .image(height: band.inputRows.count, width: 7360, channels: 1),
        through: 0)
      XCTAssertLessThanOrEqual(memory, MemoryEstimate(bytes: 256 << 20))
    }
  }
}
