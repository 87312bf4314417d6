import Datasets
import ModelFormats
import Tensors

extension Train {
  /// Refuses a run whose model, batches and (once loaded) data would not
  /// fit the memory budget, before the model is built: once from the spec
  /// alone, before the data is read, and again with the data's size.
  func checkMemory(
    spec: ModelSpec, optimizer: OptimizerConfiguration, batchSize: Int,
    data splits: DatasetSplits? = nil
  ) throws {
    var estimate = spec.trainingMemory(batchSize: batchSize, optimizer: optimizer)
    var what = "\(model ?? output): training with batches of \(batchSize)"
    if let splits {
      estimate += CommandMemory.dataset(splits)
      what += " on \(data.describe(splits))"
    }
    // When one sample at a time would fit, the batches are what is too big.
    let budget = memory.budget
    let smallBatches =
      spec.trainingMemory(batchSize: 1, optimizer: optimizer) + CommandMemory.dataset(splits)
    let alternative = smallBatches.bytes.map { $0 <= budget.bytes } == true
      ? "or lower --batch-size" : nil
    try memory.check(estimate, for: what, alternative: alternative)
  }
}
