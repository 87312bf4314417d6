/// Which value range is mapped onto a colour map's 0…1.
///
/// - `each`: every tile uses its own min…max (darknet's per-map view; shows
///   the pattern inside each map, hides how strong maps are relative to each
///   other). Default for feature maps.
/// - `global`: one min…max over all tiles (convnetjs's per-layer view; maps
///   can be compared). Default for weights.
/// - `fixed(lo, hi)`: a caller-chosen range; values outside are clamped.
///
/// With a diverging colour map every range is widened to be symmetric around
/// zero, ±max(|lo|, |hi|), so that zero is always the map's middle colour.
public enum Normalization: Equatable, Sendable, CustomStringConvertible {
  case each
  case global
  case fixed(lo: Float, hi: Float)

  /// Parses `each`, `global` or `fixed:LO,HI` (the CLI's `--norm` syntax).
  public init?(parsing text: String) {
    switch text {
    case "each": self = .each
    case "global": self = .global
    default:
      guard text.hasPrefix("fixed:") else { return nil }
      let bounds = text.dropFirst("fixed:".count).split(separator: ",")
      guard bounds.count == 2, let lo = Float(bounds[0]), let hi = Float(bounds[1]),
        lo.isFinite, hi.isFinite, lo < hi
      else { return nil }
      self = .fixed(lo: lo, hi: hi)
    }
  }

  public var description: String {
    switch self {
    case .each: return "each"
    case .global: return "global"
    case .fixed(let lo, let hi): return "fixed:\(lo),\(hi)"
    }
  }

  /// The range used for each tile, in tile order. NaNs and infinities are
  /// ignored; a tile with no finite value gets 0…0.
  public func ranges(of tiles: [[Float]], symmetric: Bool) -> [ValueRange] {
    let raw: [ValueRange]
    switch self {
    case .each:
      raw = tiles.map { ValueRange(of: $0) }
    case .global:
      let all = tiles.map { ValueRange(of: $0) }.reduce(nil as ValueRange?) { partial, next in
        guard let partial else { return next }
        return partial.union(next)
      }
      raw = Array(repeating: all ?? ValueRange(lo: 0, hi: 0), count: tiles.count)
    case .fixed(let lo, let hi):
      raw = Array(repeating: ValueRange(lo: lo, hi: hi), count: tiles.count)
    }
    return symmetric ? raw.map { $0.symmetric } : raw
  }
}

/// A closed interval of values lo…hi, lo ≤ hi.
public struct ValueRange: Equatable, Sendable {
  public var lo: Float
  public var hi: Float
  /// Made by `symmetric`: an empty range then means "all zero", drawn as the
  /// colour map's middle.
  public var isCentred: Bool

  public init(lo: Float, hi: Float) {
    precondition(lo <= hi, "range \(lo)…\(hi) is reversed")
    self.lo = lo
    self.hi = hi
    self.isCentred = false
  }

  /// min…max of the finite values; 0…0 when there are none.
  public init(of values: [Float]) {
    var lo = Float.infinity
    var hi = -Float.infinity
    for v in values where v.isFinite {
      lo = min(lo, v)
      hi = max(hi, v)
    }
    if lo > hi {
      lo = 0
      hi = 0
    }
    self.init(lo: lo, hi: hi)
  }

  public func union(_ other: ValueRange) -> ValueRange {
    ValueRange(lo: min(lo, other.lo), hi: max(hi, other.hi))
  }

  /// ±max(|lo|, |hi|).
  public var symmetric: ValueRange {
    let m = max(abs(lo), abs(hi))
    var range = ValueRange(lo: -m, hi: m)
    range.isCentred = true
    return range
  }

  /// Where v falls in the range, clamped to 0…1. An empty range (lo = hi)
  /// maps everything to 0.5 when it is centred (all-zero weights read as
  /// "zero") and to 0 otherwise (a dead ReLU map reads as "nothing").
  public func position(of v: Float) -> Float {
    guard hi > lo else { return isCentred ? 0.5 : 0 }
    if v.isNaN { return 0 }
    return min(max((v - lo) / (hi - lo), 0), 1)
  }
}
