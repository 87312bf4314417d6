extension WeightGrid {
  /// `conv2d: 32 filters 3x3x1`, saying for multi-channel filters how the
  /// mosaic is laid out; `dump-weights` and the report use it.
  public static func title(layer name: String, kernelShape: [Int], view: ChannelView) -> String {
    let (kh, kw, cin, cout) = (kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[3])
    let base = "\(name): \(cout) filters \(kh)x\(kw)x\(cin)"
    if cin == 1 { return base }
    return view == .mosaic
      ? base + " (row = filter, column = input channel)" : base + " (mean over inputs)"
  }
}
