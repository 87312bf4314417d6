import Tensors

/// How filters with more than one input channel are shown.
public enum ChannelView: String, Sendable, CaseIterable {
  /// One tile per (filter, input channel): a Cout × Cin mosaic, one row per
  /// filter, one column per input channel.
  case mosaic
  /// One tile per filter: the mean of its input channels.
  case mean
}

/// Tiles for the filters of a convolution kernel in Keras's HWIO layout
/// (kh, kw, cin, cout): element (y, x, i, o) sits at ((y·kw + x)·cin + i)·cout + o.
public enum WeightTiles {
  /// The filters as single-plane tiles. With one input channel: one tile per
  /// filter, labelled by its index. Otherwise as `view` says; a mosaic also
  /// returns its column count (cin) so each filter fills one row.
  public static func tiles(kernel: Tensor, view: ChannelView) -> (tiles: [GridTile], columns: Int?)
  {
    let (kh, kw, cin, cout) = dimensions(kernel)
    if cin == 1 || view == .mean {
      let tiles = (0..<cout).map { o in
        GridTile(
          width: kw, height: kh,
          values: (0..<(kh * kw)).map { yx in
            var sum: Float = 0
            for i in 0..<cin { sum += kernel.storage[(yx * cin + i) * cout + o] }
            return sum / Float(cin)
          }, label: "\(o)")
      }
      return (tiles, nil)
    }
    var tiles: [GridTile] = []
    tiles.reserveCapacity(cout * cin)
    for o in 0..<cout {
      for i in 0..<cin {
        tiles.append(
          GridTile(
            width: kw, height: kh, values: plane(kernel, input: i, output: o),
            label: "\(o).\(i)"))
      }
    }
    return (tiles, cin)
  }

  /// Filters with three input channels as colour tiles: channel 0 red, 1
  /// green, 2 blue (the order images are fed in).
  public static func rgbTiles(kernel: Tensor) -> [GridTile] {
    let (kh, kw, cin, cout) = dimensions(kernel)
    precondition(cin == 3, "RGB tiles need 3 input channels, the kernel has \(cin)")
    return (0..<cout).map { o in
      GridTile(
        width: kw, height: kh, red: plane(kernel, input: 0, output: o),
        green: plane(kernel, input: 1, output: o), blue: plane(kernel, input: 2, output: o),
        label: "\(o)")
    }
  }

  /// The kh × kw weights connecting input channel `input` to filter `output`.
  public static func plane(_ kernel: Tensor, input i: Int, output o: Int) -> [Float] {
    let (kh, kw, cin, cout) = dimensions(kernel)
    return (0..<(kh * kw)).map { yx in kernel.storage[(yx * cin + i) * cout + o] }
  }

  static func dimensions(_ kernel: Tensor) -> (Int, Int, Int, Int) {
    precondition(
      kernel.shape.rank == 4, "a conv kernel is (kh, kw, cin, cout), got \(kernel.shape)")
    return (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
  }
}
