import Datasets
import ModelFormats
import Tensors

extension Train {
  /// Refuses a run whose model, batches and data would not fit the memory
  /// budget, before the model is built: without `splits` (before the data
  /// is read) the model with one sample must fit; with them, the data and
  /// the model with its real batches (no larger than the training part).
  func checkMemory(
    spec: ModelSpec, optimizer: OptimizerConfiguration, batchSize: Int,
    validationSplit: Double, data splits: DatasetSplits? = nil
  ) throws {
    var batch = 1
    var what = "\(model ?? output): training"
    if let splits {
      let trainingCount = Int(Double(splits.train.count) * (1 - validationSplit))
      batch = max(1, min(batchSize, trainingCount))
      what += " with batches of \(batch) on \(data.describe(splits))"
    }
    let data = CommandMemory.dataset(splits)
    let estimate = spec.trainingMemory(batchSize: batch, optimizer: optimizer) + data
    // When one sample at a time would fit, the batches are what is too big.
    let oneAtATime = spec.trainingMemory(batchSize: 1, optimizer: optimizer) + data
    let alternative =
      batch > 1 && oneAtATime.bytes.map { $0 <= memory.budget.bytes } == true
      ? "or lower --batch-size" : nil
    try memory.check(estimate, for: what, alternative: alternative)
  }
}
