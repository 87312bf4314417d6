import ArgumentParser
import Training

/// `train --from`'s options: which trained model to start from, where to
/// cut it, the new head and when to fine-tune.
struct TransferOptions: ParsableArguments {
  @Option(
    name: .customLong("from"),
    help: ArgumentHelp(
      "Transfer learning: start from this trained model (model.bin, ONNX or Keras) instead of "
        + "--model; needs --freeze.", valueName: "model"))
  var from: String?

  @Option(
    name: .customLong("freeze"),
    help: ArgumentHelp(
      "With --from: the last layer of the frozen backbone, a row number of `convviz summary` or "
        + "a layer or tensor name; everything after it is replaced by the head.",
      valueName: "node"))
  var freeze: String?

  @Option(
    name: .customLong("head"),
    help: ArgumentHelp(
      "With --from: the new layers after --freeze, in model-spec syntax without the input line "
        + "(`;` between layers), or a file holding them (default: flatten if the features are "
        + "maps, then dense CLASSES softmax).", valueName: "spec"))
  var head: String?

  @Option(
    name: .customLong("unfreeze-after"), parsing: .unconditional,
    help: ArgumentHelp(
      "With --from: after this many epochs, train the backbone's Conv2D and Dense weights "
        + "too (default: never).", valueName: "epochs"))
  var unfreezeAfter: Int?

  @Option(
    name: .customLong("fine-tune-lr-factor"), parsing: .unconditional,
    help: ArgumentHelp(
      "With --unfreeze-after: the backbone's learning rate is the head's times this "
        + "(default \(TransferConfiguration.defaultFineTuneFactor)).", valueName: "factor"))
  var fineTuneFactor: Float?

  /// The transfer settings, for the trainer.
  func configuration(cachesFeatures: Bool) -> TransferConfiguration {
    TransferConfiguration(
      unfreezeAfter: unfreezeAfter,
      fineTuneFactor: fineTuneFactor ?? TransferConfiguration.defaultFineTuneFactor,
      cachesFeatures: cachesFeatures)
  }

  func validate() throws {
    guard from != nil else {
      try OptionCheck.refuse(
        [
          "--freeze": freeze != nil, "--head": head != nil,
          "--unfreeze-after": unfreezeAfter != nil,
          "--fine-tune-lr-factor": fineTuneFactor != nil,
        ], "applies to transfer learning: give --from MODEL")
      return
    }
    guard freeze != nil else {
      throw ValidationError("--from needs --freeze NODE: the last layer of the frozen backbone")
    }
    if let unfreezeAfter, unfreezeAfter < 0 {
      throw ValidationError("--unfreeze-after must be 0 or more epochs")
    }
    try OptionCheck.positive(fineTuneFactor, "--fine-tune-lr-factor")
    if fineTuneFactor != nil && unfreezeAfter == nil {
      throw ValidationError("--fine-tune-lr-factor applies with --unfreeze-after")
    }
  }
}

extension Train {
  /// What `--from` excludes: another model, and what a transfer run does
  /// not do (resume, early stopping, a best model, snapshots).
  func checkTransferOptions() throws {
    try OptionCheck.refuse(
      [
        "--model": model != nil, "--resume": resume, "--early-stopping": earlyStopping != nil,
        "--save-best": saveBest, "--snapshot-every": snapshotEvery != nil,
      ],
      "does not apply with --from: a transfer run trains its new head (and the backbone) from "
        + "the start and writes its model once, at the end")
    if let after = transfer.unfreezeAfter, after >= epochs {
      throw ValidationError(
        "--unfreeze-after \(after) leaves no epoch to fine-tune in --epochs \(epochs)")
    }
  }
}
