import Engine
import ModelFormats
import Training
import ImageFilters
import Datasets
import Foundation
import ImageCodecs
import XCTest

/// Replays every input in Tests/FuzzRegressions/<target>/ through the code
/// its fuzz target exercises (Fuzz/Sources/fuzz-<target>). Each must end in a
/// value or a typed error; a crash fails the whole run, and the memory
/// checks below catch the allocation bugs fuzzing found.
final class FuzzRegressionTests: XCTestCase {
  let folder = repositoryRoot.appendingPathComponent("Tests/FuzzRegressions")

  func inputs(_ target: String) -> [URL] {
    let dir = folder.appendingPathComponent(target)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.sorted().map { dir.appendingPathComponent($0) }
  }

  func testImageDecoders() throws {
    for url in inputs("png") + inputs("jpeg") {
      let bytes = [UInt8](try Data(contentsOf: url))
      var options = DecodeOptions.default
      options.pixelLimit = 4_000_000
      let before = VirtualMemory.now()
      do {
        let image = try ImageFile.decode(bytes, name: url.lastPathComponent, options: options)
        XCTAssertGreaterThan(image.width * image.height, 0)
      } catch {
        XCTAssertTrue("\(error)".contains(url.lastPathComponent), "\(error)")
      }
      // Untouched allocations do not show in the resident size, but they do
      // raise the peak virtual size; it can only be read when the earlier
      // peak is low enough not to hide a new one.
      if before.peak < before.size + VirtualMemory.budget {
        XCTAssertLessThan(
          VirtualMemory.now().peak, before.size + VirtualMemory.budget,
          "\(url.lastPathComponent) allocated over 512 MiB")
      }
    }
  }

  func testModelFiles() throws {
    for url in inputs("model-file") {
      let bytes = [UInt8](try Data(contentsOf: url))
      _ = try? ModelFile.decode(bytes, path: url.path)
    }
  }

  func testIDXFiles() throws {
    for url in inputs("idx") {
      _ = try? IDXFile.read(url.path)
      _ = try? IDXFile.image(at: 0, path: url.path)
    }
  }

  func testTextParsers() throws {
    for url in inputs("kernel-spec") {
      _ = try? Kernel.parse(String(decoding: try Data(contentsOf: url), as: UTF8.self))
    }
    for url in inputs("model-spec") {
      if let spec = try? ModelSpec.parse(String(decoding: try Data(contentsOf: url), as: UTF8.self)) {
        _ = ModelSummary(spec).render()
      }
    }
  }

}

/// The process's virtual size and its peak, from /proc/self/status.
struct VirtualMemory {
  static let budget = 512 << 20
  var size: Int
  var peak: Int

  static func now() -> VirtualMemory {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int {
      for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
        let digits = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return digits * 1024
      }
      return 0
    }
    return VirtualMemory(size: field("VmSize"), peak: field("VmPeak"))
  }
}

final class SampleDecodingTests: XCTestCase {
  /// Regression: turning every libpng "benign error" into an error (a first
  /// fix for the huge-chunk input) rejected samples/astronaut.png, whose
  /// iCCP profile libpng knows to be slightly wrong. Every bundled sample
  /// must decode.
  func testEveryBundledSampleDecodes() throws {
    let folder = repositoryRoot.appendingPathComponent("samples")
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
      .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
    XCTAssertGreaterThanOrEqual(names.count, 7)
    for name in names {
      let image = try ImageFile.read(folder.appendingPathComponent(name).path)
      XCTAssertGreaterThan(image.width, 0, name)
    }
  }
}
