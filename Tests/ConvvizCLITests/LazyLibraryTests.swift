import Foundation
import XCTest

/// OpenBLAS and libhdf5 are opened when first used, not linked: image
/// commands never load them (nor the ~45 libraries libhdf5 pulls in), which
/// is most of what convviz's start-up cost. The check reads the running
/// command's memory map (/proc/PID/maps) once its work is done: it writes
/// its image to standard output (`-o -`), which it does only after
/// decoding, filtering and encoding, and the image is larger than a pipe
/// holds, so the command waits there, alive, until the test reads it.
/// Engine and ModelFormats tests check the other side: running a network
/// maps libopenblas, reading a Keras file maps libhdf5.
final class LazyLibraryTests: XCTestCase {
  /// Libraries that only networks (OpenBLAS) and Keras files (libhdf5, and
  /// libcurl and libgfortran, which they pull in) need.
  static let lazyLibraries = ["libopenblas", "libhdf5", "libcurl", "libgfortran"]

  /// The shared objects `pid` has mapped, by file name.
  static func mappedLibraries(_ pid: Int32) throws -> Set<String> {
    // Read to the end: the kernel writes /proc files a page per read,
    // and String(contentsOfFile:) reads as many bytes as stat says (none).
    let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/maps"))
    defer { try? file.close() }
    let maps = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
    return Set(
      maps.split(separator: "\n").compactMap { line in
        guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last,
          path.hasPrefix("/"), path.contains(".so")
        else { return nil }
        return String(path.split(separator: "/").last!)
      })
  }

  /// Runs `convviz arguments` (which must write an image larger than a
  /// pipe to standard output) and returns the libraries it had mapped when
  /// it started writing, with its exit status and standard error.
  func librariesMapped(by arguments: [String]) throws -> (Set<String>, Int32, String) {
    let process = Process()
    process.executableURL = ConvvizBinary.url
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // The first byte arrives once the image is encoded; the rest cannot
    // fit the pipe, so the process is still running when its map is read.
    let first = out.fileHandleForReading.readData(ofLength: 1)
    let libraries = try Self.mappedLibraries(process.processIdentifier)
    let rest = out.fileHandleForReading.readDataToEndOfFile()
    let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(first.count, 1, errors)
    XCTAssertGreaterThan(first.count + rest.count, 1 << 17, "the output must outgrow the pipe")
    return (libraries, process.terminationStatus, errors)
  }

  func testImageCommandsLoadNeitherOpenBLASNorHDF5() throws {
    let rocket = repositoryFile("samples/rocket.jpg")
    let astronaut = repositoryFile("samples/astronaut.png")
    for arguments in [
      ["filter", "-k", "edges", rocket, "-o", "-", "--format", "png", "--png-compression", "0"],
      ["filter", "-k", "blur", astronaut, "-o", "-", "--format", "jpeg", "--quality", "100"],
      ["pool", "--mode", "max", "--size", "2", rocket, "-o", "-", "--png-compression", "0"],
    ] {
      let (libraries, status, errors) = try librariesMapped(by: arguments)
      XCTAssertEqual(status, 0, "\(arguments): \(errors)")
      // The check sees the libraries the command does use.
      XCTAssertTrue(libraries.contains { $0.hasPrefix("libjpeg") }, "\(libraries)")
      XCTAssertTrue(libraries.contains { $0.hasPrefix("libpng") }, "\(libraries)")
      for lazy in Self.lazyLibraries {
        XCTAssertFalse(libraries.contains { $0.hasPrefix(lazy) }, "\(arguments) mapped \(lazy)")
      }
    }
  }
}
