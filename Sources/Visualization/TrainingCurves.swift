import Engine
import ModelFormats
import Training
import ImageCodecs

/// Loss and accuracy curves from a training history (one record per epoch).
public enum TrainingCurves {
  /// Training loss, plus validation loss when the history has it.
  public static func lossPlot(_ history: [EpochRecord]) -> LinePlot {
    plot(
      history, title: "Loss", yLabel: "cross-entropy loss", train: \.loss,
      validation: \.validationLoss)
  }

  /// Training accuracy, plus validation accuracy when the history has it.
  public static func accuracyPlot(_ history: [EpochRecord]) -> LinePlot {
    plot(
      history, title: "Accuracy", yLabel: "accuracy",
      train: \.accuracy, validation: \.validationAccuracy)
  }

  private static func plot(
    _ history: [EpochRecord], title: String, yLabel: String,
    train: KeyPath<EpochRecord, Double>, validation: KeyPath<EpochRecord, Double?>
  ) -> LinePlot {
    let epochs = history.map { Double($0.epoch) }
    var series = [
      LinePlot.Series(name: "training", x: epochs, y: history.map { $0[keyPath: train] })
    ]
    if history.contains(where: { $0[keyPath: validation] != nil }) {
      series.append(
        .init(
          name: "validation", x: epochs,
          y: history.map { $0[keyPath: validation] ?? .nan }))
    }
    var plot = LinePlot(title: title, xLabel: "epoch", yLabel: yLabel, series: series)
    plot.integerX = true
    if epochs.count == 1 { plot.xRange = (epochs[0] - 1)...(epochs[0] + 1) }
    return plot
  }
}
