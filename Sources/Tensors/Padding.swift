/// How a sliding window (an image filter's kernel, a convolution, a pooling
/// window) treats the border of its input: TensorFlow/Keras's `valid` and
/// `same`, or explicit amounts per side.
///
/// Along one axis, with input extent I, window F, dilation D, stride S and
/// total padding P (before + after), the output extent is
///
///     O = ⌊(I − D·(F−1) − 1 + P) / S⌋ + 1
///
/// (https://www.tensorflow.org/api_docs/python/tf/nn#notes_on_padding_2).
/// `.valid` pads nothing, so only complete windows count. `.same` gives
/// O = ⌈I / S⌉ with the total max((O−1)·S + D·(F−1) + 1 − I, 0) split as
/// TensorFlow does: before = ⌊total / 2⌋, the extra cell after (at the
/// bottom or right). `.explicit` names every side (each ≥ 0).
public enum Padding: Sendable, Hashable, CustomStringConvertible {
  case valid
  case same
  case explicit(top: Int, bottom: Int, left: Int, right: Int)

  /// `n` cells on every side.
  public static func symmetric(_ n: Int) -> Padding {
    .explicit(top: n, bottom: n, left: n, right: n)
  }

  /// The two axes of an image plane: vertical reads `top`/`bottom`,
  /// horizontal `left`/`right`.
  public enum Axis: Sendable {
    case vertical, horizontal
  }

  /// The padding before and after along `axis` for a window of extent
  /// `window` (before dilation).
  public func amounts(
    along axis: Axis, input: Int, window: Int, stride: Int, dilation: Int = 1
  ) -> (before: Int, after: Int) {
    precondition(window >= 1 && stride >= 1 && dilation >= 1, "window, stride, dilation ≥ 1")
    switch self {
    case .valid:
      return (0, 0)
    case .same:
      let output = (input + stride - 1) / stride
      let total = max((output - 1) * stride + dilation * (window - 1) + 1 - input, 0)
      return (total / 2, total - total / 2)
    case .explicit(let top, let bottom, let left, let right):
      return axis == .vertical ? (top, bottom) : (left, right)
    }
  }

  /// The output extent and the padding before along `axis`, or nil when the
  /// (dilated) window is larger than the padded input, so that no output
  /// cell exists.
  public func window(
    along axis: Axis, input: Int, window: Int, stride: Int, dilation: Int = 1
  ) -> (output: Int, before: Int, after: Int)? {
    let (before, after) = amounts(
      along: axis, input: input, window: window, stride: stride, dilation: dilation)
    let span = dilation * (window - 1) + 1
    let padded = input + before + after
    guard span <= padded else { return nil }
    return ((padded - span) / stride + 1, before, after)
  }

  /// `valid`, `same`, `N` (the same on every side) or `top,bottom,left,right`.
  public var description: String {
    switch self {
    case .valid: return "valid"
    case .same: return "same"
    case .explicit(let t, let b, let l, let r):
      return t == b && b == l && l == r ? "\(t)" : "\(t),\(b),\(l),\(r)"
    }
  }
}
