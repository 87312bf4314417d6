import Engine
import ModelFormats
import Training
import XCTest

@testable import Visualization

final class PlotTests: XCTestCase {
  func testTicksAreNiceNumbersCoveringTheData() {
    let unit = AxisTicks(covering: 0, 1, targetCount: 6)
    XCTAssertEqual(unit.values, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    let loss = AxisTicks(covering: 0.031, 0.27, targetCount: 6)
    XCTAssertEqual(loss.values, [0, 0.1, 0.2, 0.3])
    let accuracy = AxisTicks(covering: 0.962, 0.991, targetCount: 6)
    XCTAssertEqual(accuracy.values, [0.96, 0.97, 0.98, 0.99, 1.0])
    let epochs = AxisTicks(covering: 1, 8, targetCount: 8)
    XCTAssertEqual(epochs.values, [1, 2, 3, 4, 5, 6, 7, 8])
    let big = AxisTicks(covering: 0, 933_378, targetCount: 5)
    XCTAssertEqual(big.step, 200_000)
    XCTAssertEqual(AxisTicks(covering: 1, 3, targetCount: 8, minimumStep: 1).values, [1, 2, 3])
    let flat = AxisTicks(covering: 0.5, 0.5)
    XCTAssertLessThan(flat.lo, 0.5)
    XCTAssertGreaterThan(flat.hi, 0.5)
  }

  func testTickLabelsUseJustEnoughDecimals() {
    XCTAssertEqual(NumberText.tick(0.4, step: 0.2), "0.4")
    XCTAssertEqual(NumberText.tick(0.25, step: 0.05), "0.25")
    XCTAssertEqual(NumberText.tick(3, step: 1), "3")
    XCTAssertEqual(NumberText.tick(-0.0, step: 0.1), "0.0")
    XCTAssertEqual(NumberText.compact(-0.1234), "-0.123")
    XCTAssertEqual(NumberText.compact(250), "250")
    XCTAssertEqual(NumberText.compact(0), "0")
  }

  func makePlot() -> LinePlot {
    LinePlot(
      title: "Loss", xLabel: "epoch", yLabel: "loss",
      series: [
        .init(name: "train", x: [1, 2, 3, 4], y: [0.8, 0.4, 0.3, 0.2]),
        .init(name: "validation", x: [1, 2, 3, 4], y: [0.7, 0.5, 0.4, 0.35]),
      ])
  }

  func testPlotDrawsAxesAtTheFrame() {
    let plot = makePlot()
    let image = plot.render()
    XCTAssertEqual(image.width, 640)
    XCTAssertEqual(image.height, 400)
    let frame = plot.frame()
    let middleY = (frame.top + frame.bottom) / 2
    XCTAssertEqual(ImageSamples.pixel(image, frame.left, middleY), LinePlot.ink, "y axis")
    let middleX = (frame.left + frame.right) / 2 + 1
    XCTAssertEqual(ImageSamples.pixel(image, middleX, frame.bottom), LinePlot.ink, "x axis")
    XCTAssertEqual(
      ImageSamples.pixel(image, frame.left - 3, frame.bottom), LinePlot.ink, "tick mark")
    XCTAssertEqual(ImageSamples.pixel(image, 2, 2), .white, "margin stays white")
  }

  func testSeriesPointsAreDrawnInTheirColours() {
    let plot = makePlot()
    let image = plot.render()
    let first = plot.pixel(x: 1, y: 0.8)
    XCTAssertEqual(ImageSamples.pixel(image, first.x, first.y), LinePlot.palette[0])
    let frame = plot.frame()
    XCTAssertEqual(first.x, frame.left, "x axis starts at the first epoch")
    let lastValidation = plot.pixel(x: 4, y: 0.35)
    XCTAssertEqual(
      ImageSamples.pixel(image, lastValidation.x, lastValidation.y), LinePlot.palette[1])
    XCTAssertEqual(lastValidation.x, frame.right)
  }

  func testLegendNamesEverySeries() {
    let plot = makePlot()
    let image = plot.render()
    let frame = plot.frame()
    // The legend box has each series' colour swatch in its right-hand corner.
    var swatchColors = Set<RGB>()
    for y in frame.top..<(frame.top + 60) {
      for x in (frame.right - 160)..<frame.right {
        swatchColors.insert(ImageSamples.pixel(image, x, y))
      }
    }
    XCTAssertTrue(swatchColors.contains(LinePlot.palette[0]))
    XCTAssertTrue(swatchColors.contains(LinePlot.palette[1]))
  }

  func testLegendMovesAwayFromTheCurves() {
    // Rising curves fill the top-right corner; the legend must go elsewhere.
    let plot = LinePlot(
      title: "Accuracy", xLabel: "epoch", yLabel: "accuracy",
      series: [
        .init(name: "training", x: [1, 2, 3], y: [0.94, 0.983, 0.989]),
        .init(name: "validation", x: [1, 2, 3], y: [0.985, 0.988, 0.9875]),
      ])
    let frame = plot.frame()
    let origin = plot.legendOrigin()
    let size = plot.legendSize()
    // Top-right holds both curves' ends, top-left the validation curve: bottom-right is free.
    XCTAssertEqual(origin.x, frame.right - 8 - size.width)
    XCTAssertEqual(origin.y, frame.bottom - 8 - size.height)
    let image = plot.render()
    XCTAssertEqual(
      ImageSamples.pixel(image, origin.x + 8, origin.y + 6 + 3), LinePlot.palette[0], "first swatch"
    )
    XCTAssertEqual(
      ImageSamples.pixel(image, origin.x + size.width - 1, origin.y), RGB(160, 160, 160),
      "box corner")
    XCTAssertEqual(
      makePlot().legendOrigin().x, makePlot().frame().right - 8 - makePlot().legendSize().width,
      "falling curves leave the top-right corner free")
  }

  func testConfusionMatrixCountsAndShades() {
    let plot = ConfusionMatrixPlot(
      trueLabels: [0, 0, 0, 1, 1, 2], predicted: [0, 0, 1, 1, 1, 0], classNames: ["a", "b", "c"])
    XCTAssertEqual(plot.counts, [[2, 1, 0], [0, 2, 0], [1, 0, 0]])
    let image = plot.render()
    let g = plot.geometry()
    XCTAssertEqual(
      ImageSamples.pixel(image, g.left + g.cell + 1, g.top + g.cell + 1),
      ConfusionMatrixPlot.shade(1), "row b is all correct: darkest")
    XCTAssertEqual(
      ImageSamples.pixel(image, g.left + 2 * g.cell + 1, g.top + 1),
      ConfusionMatrixPlot.shade(0), "no a predicted as c")
    // The count "2" in cell (1, 1) is drawn in white over the dark shade.
    var hasWhiteText = false
    for y in (g.top + g.cell)..<(g.top + 2 * g.cell) {
      for x in (g.left + g.cell)..<(g.left + 2 * g.cell)
      where ImageSamples.pixel(image, x, y) == .white {
        hasWhiteText = true
      }
    }
    XCTAssertTrue(hasWhiteText)
  }

  func testColorBarRunsFromLowAtTheBottomToHighAtTheTop() {
    var bar = ColorBar(colorMap: .diverging, range: ValueRange(lo: -0.4, hi: 0.4))
    bar.length = 101
    let image = bar.render()
    let top = ColorBar.margin + BitmapFont.glyphHeight / 2
    let x = ColorBar.margin + 4
    XCTAssertEqual(ImageSamples.pixel(image, x, top), ColorMap.diverging.color(at: 1))
    XCTAssertEqual(ImageSamples.pixel(image, x, top + 100), ColorMap.diverging.color(at: 0))
    XCTAssertEqual(ImageSamples.pixel(image, x, top + 50), .white, "zero in the middle")
    XCTAssertEqual(bar.tickValues(), [-0.4, -0.2, 0, 0.2, 0.4])
    XCTAssertEqual(bar.yPosition(of: 0, top: top), top + 50)
  }
}

final class TrainingCurvesTests: XCTestCase {
  func testCurvesHaveATrainingAndAValidationSeries() {
    let history = [
      EpochRecord(
        epoch: 1, loss: 0.3, accuracy: 0.9, validationLoss: 0.1, validationAccuracy: 0.97,
        seconds: 1),
      EpochRecord(
        epoch: 2, loss: 0.1, accuracy: 0.97, validationLoss: 0.05, validationAccuracy: 0.98,
        seconds: 1),
    ]
    let loss = TrainingCurves.lossPlot(history)
    XCTAssertEqual(loss.series.map(\.name), ["training", "validation"])
    XCTAssertEqual(loss.series[1].y, [0.1, 0.05])
    let accuracy = TrainingCurves.accuracyPlot(history)
    XCTAssertEqual(accuracy.series[0].y, [0.9, 0.97])
    XCTAssertEqual(accuracy.series[0].x, [1, 2])
    XCTAssertEqual(accuracy.ticks().x.values, [1, 2], "epochs are whole numbers")
  }

  func testWithoutValidationThereIsOneSeriesAndOneEpochStillPlots() {
    let history = [EpochRecord(epoch: 1, loss: 0.3, accuracy: 0.9, seconds: 1)]
    let loss = TrainingCurves.lossPlot(history)
    XCTAssertEqual(loss.series.count, 1)
    let image = loss.render()
    let point = loss.pixel(x: 1, y: 0.3)
    XCTAssertEqual(ImageSamples.pixel(image, point.x, point.y), LinePlot.palette[0])
  }
}
