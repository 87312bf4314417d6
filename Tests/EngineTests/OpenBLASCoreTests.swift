import COpenBLAS
import Engine
import Foundation
import XCTest
import _OpenBLAS

/// The OpenBLAS core type the loader sets OPENBLAS_CORETYPE to when the
/// user has not (cvz_openblas.h): Debian's OpenBLAS 0.3.21 falls back to
/// its generic Prescott kernels on CPUs newer than it knows.
final class OpenBLASCoreTests: XCTestCase {
  private let avx2: UInt32 = UInt32(CVZ_CPU_AVX2 | CVZ_CPU_FMA | CVZ_CPU_OS_YMM)
  private let avx512: UInt32 = UInt32(
    CVZ_CPU_AVX512F | CVZ_CPU_AVX512BW | CVZ_CPU_AVX512DQ | CVZ_CPU_AVX512VL | CVZ_CPU_AVX512CD
      | CVZ_CPU_OS_ZMM)

  private func core(_ features: UInt32) -> String? {
    cvz_openblas_core_for(features).map { String(cString: $0) }
  }

  func testCoreFollowsTheFeatures() {
    XCTAssertEqual(core(avx2 | avx512), "SkylakeX")
    XCTAssertEqual(core(avx2), "Haswell")
    XCTAssertNil(core(0))
    // Each AVX-512 part missing (the OS not saving ZMM state among them)
    // leaves Haswell; each AVX2 part missing leaves OpenBLAS's own choice.
    for bit in [
      CVZ_CPU_AVX512F, CVZ_CPU_AVX512BW, CVZ_CPU_AVX512DQ, CVZ_CPU_AVX512VL, CVZ_CPU_AVX512CD,
      CVZ_CPU_OS_ZMM,
    ] {
      XCTAssertEqual(core((avx2 | avx512) & ~UInt32(bit)), "Haswell", "without bit \(bit)")
    }
    for bit in [CVZ_CPU_AVX2, CVZ_CPU_FMA, CVZ_CPU_OS_YMM] {
      XCTAssertNil(core(avx2 & ~UInt32(bit)), "without bit \(bit)")
      XCTAssertNil(core((avx2 | avx512) & ~UInt32(bit)), "AVX-512 without bit \(bit)")
    }
  }

  /// The flags Linux lists in /proc/cpuinfo (it drops the AVX ones when
  /// the OS does not save their registers), or nil off Linux.
  static func cpuFlags() -> Set<String>? {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
      let colon = line.firstIndex(of: ":")
    else { return nil }
    return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
  }

  func testCPUIDAgreesWithTheKernelsFlags() throws {
    guard let flags = Self.cpuFlags() else { throw XCTSkip("no /proc/cpuinfo flags here") }
    let features = cvz_cpu_features()
    let named: [(String, Int)] = [
      ("avx2", CVZ_CPU_AVX2), ("fma", CVZ_CPU_FMA), ("avx512f", CVZ_CPU_AVX512F),
      ("avx512bw", CVZ_CPU_AVX512BW), ("avx512dq", CVZ_CPU_AVX512DQ),
      ("avx512vl", CVZ_CPU_AVX512VL), ("avx512cd", CVZ_CPU_AVX512CD),
    ]
    for (flag, bit) in named {
      XCTAssertEqual(features & UInt32(bit) != 0, flags.contains(flag), flag)
    }
    if flags.contains("avx") { XCTAssertNotEqual(features & UInt32(CVZ_CPU_OS_YMM), 0) }
    if flags.contains("avx512f") { XCTAssertNotEqual(features & UInt32(CVZ_CPU_OS_ZMM), 0) }
  }

  /// In this process: the user's OPENBLAS_CORETYPE is kept; without one the
  /// loaded core is the one the CPU calls for. DenseTests and Conv2DTests
  /// hold that core's GEMMs to the reference loops.
  func testLoadedCore() throws {
    try EngineError.requireOpenBLAS()
    let loaded = String(cString: openblas_get_corename())
    let chosen = cvz_openblas_chosen_core().map { String(cString: $0) }
    if let users = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
      XCTAssertNil(chosen, "OPENBLAS_CORETYPE=\(users) must be left alone")
      return
    }
    let expected = core(cvz_cpu_features())
    XCTAssertEqual(chosen, expected)
    if let expected { XCTAssertEqual(loaded, expected) }
  }
}
