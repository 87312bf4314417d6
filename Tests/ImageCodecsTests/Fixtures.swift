import Foundation
import XCTest

@testable import ImageCodecs

/// Paths and bytes of the files in Fixtures/ (see Fixtures/make_golden.py).
enum Fixtures {
  static let folder: String = {
    guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
      preconditionFailure("Fixtures folder missing from the test bundle")
    }
    return url.path
  }()

  static func path(_ name: String) -> String { folder + "/" + name }

  static func bytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
  }

  static func names(in subfolder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path(subfolder))
      .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
  }

  /// One line of golden.tsv: what a trusted decoder produced.
  struct Golden {
    var name: String
    var width: Int
    var height: Int
    var layout: String
    var bitDepth: Int
    var sha256: String
  }

  static func goldens() throws -> [Golden] {
    let text = try String(contentsOfFile: path("golden.tsv"), encoding: .utf8)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
      let f = line.split(separator: "\t").map(String.init)
      return Golden(
        name: f[0], width: Int(f[1])!, height: Int(f[2])!, layout: f[3],
        bitDepth: Int(f[4])!, sha256: f[5])
    }
  }

  /// A temporary folder removed at the end of the test.
  static func temporaryFolder(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("convviz-codecs-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
  }
}

extension Image {
  /// The samples as golden.tsv hashes them: 16-bit little-endian.
  var sampleBytes: [UInt8] {
    if bitDepth == .eight { return samples8 }
    var bytes = [UInt8](repeating: 0, count: samples16.count * 2)
    for (i, v) in samples16.enumerated() {
      bytes[2 * i] = UInt8(v & 0xFF)
      bytes[2 * i + 1] = UInt8(v >> 8)
    }
    return bytes
  }

  var layoutName: String {
    switch layout {
    case .gray: return "gray"
    case .grayAlpha: return "grayAlpha"
    case .rgb: return "rgb"
    case .rgba: return "rgba"
    }
  }
}

/// The error reading `path` throws, or nil (and a test failure) if it succeeds.
func readError(
  _ path: String, options: DecodeOptions = .default,
  file: StaticString = #filePath, line: UInt = #line
) -> CodecError? {
  codecError(
    { () throws(CodecError) in _ = try ImageFile.read(path, options: options) },
    file: file, line: line)
}

/// The error decoding `bytes` throws.
func decodeError(
  _ bytes: [UInt8], name: String, file: StaticString = #filePath,
  line: UInt = #line
) -> CodecError? {
  codecError(
    { () throws(CodecError) in _ = try ImageFile.decode(bytes, name: name) },
    file: file, line: line)
}

/// The error writing `image` to `path` throws.
func writeError(
  _ image: Image, to path: String, file: StaticString = #filePath,
  line: UInt = #line
) -> CodecError? {
  codecError(
    { () throws(CodecError) in try ImageFile.write(image, to: path) },
    file: file, line: line)
}

/// The error encoding `image` as JPEG at `quality` throws.
func jpegEncodeError(
  _ image: Image, quality: Int, file: StaticString = #filePath,
  line: UInt = #line
) -> CodecError? {
  codecError(
    { () throws(CodecError) in
      _ = try ImageFile.encode(image, as: .jpeg, quality: quality)
    }, file: file, line: line)
}

/// Runs `body`, which must throw a `CodecError`, and returns it.
func codecError(
  _ body: () throws(CodecError) -> Void, file: StaticString = #filePath,
  line: UInt = #line
) -> CodecError? {
  do {
    try body()
    XCTFail("expected a CodecError", file: file, line: line)
    return nil
  } catch {
    return error
  }
}
