/// About how many bytes a step will hold at once, worked out from headers,
/// shapes and options before anything is allocated.
///
/// Sizes come from files convviz did not write, so every sum and product is
/// overflow-checked: one that does not fit in `Int` makes the estimate
/// `unbounded`, which is more than any budget.
public struct MemoryEstimate: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// The byte count, or nil when the arithmetic overflowed.
  public let bytes: Int?

  /// `bytes` must not be negative.
  public init(bytes: Int) {
    precondition(bytes >= 0, "a memory estimate cannot be negative, got \(bytes)")
    self.bytes = bytes
  }

  private init(overflowed: Void) { bytes = nil }

  public static let zero = MemoryEstimate(bytes: 0)
  /// More than `Int.max` bytes: the product of sizes overflowed.
  public static let unbounded = MemoryEstimate(overflowed: ())

  /// An array of `T` with `dims` elements along each axis (a shape's
  /// product); a negative dimension counts as overflow.
  public static func array<T>(of type: T.Type, _ dims: [Int]) -> MemoryEstimate {
    var total = MemoryEstimate(bytes: MemoryLayout<T>.stride)
    for dim in dims {
      guard dim >= 0 else { return .unbounded }
      total = total * dim
    }
    return total
  }

  /// Float32 values: `floats(n, c, h, w)` is a tensor of that shape.
  public static func floats(_ dims: Int...) -> MemoryEstimate { array(of: Float.self, dims) }

  /// Single bytes (8-bit samples, encoded files).
  public static func bytes(_ dims: Int...) -> MemoryEstimate { array(of: UInt8.self, dims) }

  public static func + (a: MemoryEstimate, b: MemoryEstimate) -> MemoryEstimate {
    guard let x = a.bytes, let y = b.bytes else { return .unbounded }
    let (sum, overflow) = x.addingReportingOverflow(y)
    return overflow ? .unbounded : MemoryEstimate(bytes: sum)
  }

  public static func += (a: inout MemoryEstimate, b: MemoryEstimate) { a = a + b }

  /// `count` copies; a negative count counts as overflow.
  public static func * (a: MemoryEstimate, count: Int) -> MemoryEstimate {
    guard let x = a.bytes, count >= 0 else { return .unbounded }
    let (product, overflow) = x.multipliedReportingOverflow(by: count)
    return overflow ? .unbounded : MemoryEstimate(bytes: product)
  }

  public static func * (count: Int, a: MemoryEstimate) -> MemoryEstimate { a * count }

  /// The sum of `parts`.
  public static func sum(_ parts: [MemoryEstimate]) -> MemoryEstimate {
    parts.reduce(.zero, +)
  }

  /// Unbounded sorts above every byte count.
  public static func < (a: MemoryEstimate, b: MemoryEstimate) -> Bool {
    switch (a.bytes, b.bytes) {
    case (let x?, let y?): return x < y
    case (_?, nil): return true
    case (nil, _): return false
    }
  }

  /// "8.0 GiB", "512.0 KiB", "96 bytes"; "more than 8 EiB" when unbounded.
  public var description: String {
    guard let bytes else { return "more than 8 EiB" }
    return Self.format(bytes)
  }

  /// Binary units with one decimal, as `free -h` and `ls -lh` use them.
  public static func format(_ bytes: Int) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    guard bytes >= 1024 else { return bytes == 1 ? "1 byte" : "\(bytes) bytes" }
    var value = Double(bytes) / 1024
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
  }
}
