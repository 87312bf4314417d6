import Engine
import ModelFormats
import Training

/// One-call writers for the pictures `convviz train` and `convviz evaluate`
/// leave next to the model.
public enum TrainingPictures {
  /// Writes `PREFIX-loss.png` and `PREFIX-accuracy.png` (training and, when
  /// present, validation curves per epoch) and returns their paths. An empty
  /// history writes nothing.
  public static func writeCurves(
    _ history: [EpochRecord], pathPrefix: String
  )
    throws(VisualizationError) -> [String]
  {
    guard !history.isEmpty else { return [] }
    let loss = pathPrefix + "-loss.png"
    let accuracy = pathPrefix + "-accuracy.png"
    try PictureFile.write(TrainingCurves.lossPlot(history).render(), to: loss)
    try PictureFile.write(TrainingCurves.accuracyPlot(history).render(), to: accuracy)
    return [loss, accuracy]
  }

  /// Writes the confusion matrix (rows: true class, columns: predicted) as a
  /// heat map with counts; class names default to the class numbers.
  public static func writeConfusionMatrix(
    _ counts: [[Int]], classNames: [String] = [], to path: String
  )
    throws(VisualizationError)
  {
    let names = classNames.count == counts.count ? classNames : counts.indices.map(String.init)
    try PictureFile.write(ConfusionMatrixPlot(counts: counts, classNames: names).render(), to: path)
  }

  /// `output/model.bin` → `output/model`: the prefix for pictures beside a model.
  public static func prefix(forModelAt path: String) -> String {
    let slash = path.lastIndex(of: "/")
    if let dot = path.lastIndex(of: "."), slash.map({ dot > $0 }) ?? true, dot != path.startIndex {
      return String(path[..<dot])
    }
    return path
  }
}
