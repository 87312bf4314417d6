import Tensors

/// Grids of the samples a model got wrong, one grid per true class.
public enum MisclassifiedExamples {
  /// The wrong predictions of one true class.
  public struct ClassErrors: Sendable {
    public var classIndex: Int
    /// How many samples of this class were misclassified in total.
    public var errorCount: Int
    /// The first `perClass` of them, each tile labelled "as NAME".
    public var grid: Grid
  }

  /// For each class with errors, in class order: a grid of up to `perClass`
  /// misclassified samples from `images` (N, 1 or 3, H, W; values 0…1, drawn
  /// as gray or colour with the fixed range 0…1), in data-set order.
  public static func grids(
    images: Tensor, labels: [Int], predicted: [Int], classNames: [String], perClass: Int = 8
  ) -> [ClassErrors] {
    precondition(
      images.shape.rank == 4 && (images.shape[1] == 1 || images.shape[1] == 3),
      "images must be (N, 1 or 3, H, W), got \(images.shape)")
    precondition(
      labels.count == images.shape[0] && predicted.count == labels.count,
      "one label and one prediction per image")
    precondition(perClass >= 1, "show at least one example per class")
    let (c, h, w) = (images.shape[1], images.shape[2], images.shape[3])
    var tilesByClass = [[GridTile]](repeating: [], count: classNames.count)
    var counts = [Int](repeating: 0, count: classNames.count)
    for (n, (label, guess)) in zip(labels, predicted).enumerated() where label != guess {
      counts[label] += 1
      guard tilesByClass[label].count < perClass else { continue }
      let planes = (0..<c).map { k in
        Array(
          images.storage[
            images.offset(n: n, c: k, y: 0, x: 0)..<(images.offset(n: n, c: k, y: 0, x: 0) + h * w)]
        )
      }
      let caption = "as " + (guess < classNames.count ? classNames[guess] : String(guess))
      tilesByClass[label].append(
        c == 1
          ? GridTile(width: w, height: h, values: planes[0], label: caption)
          : GridTile(
            width: w, height: h, red: planes[0], green: planes[1], blue: planes[2], label: caption))
    }
    return tilesByClass.indices.compactMap { k in
      guard !tilesByClass[k].isEmpty else { return nil }
      var grid = Grid(tiles: tilesByClass[k])
      grid.rows = 1
      grid.normalization = .fixed(lo: 0, hi: 1)
      grid.colorMap = .gray
      grid.labels = .custom
      grid.padColor = .white
      grid.labelColor = RGB(30, 30, 30)
      grid.tileBorder = RGB(150, 150, 150)
      grid.padding = 4
      grid.scale = GridLayout.automaticScale(tileWidth: w, tileHeight: h, target: 64)
      return ClassErrors(classIndex: k, errorCount: counts[k], grid: grid)
    }
  }
}
