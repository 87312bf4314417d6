import Foundation
import Tensors

/// Categorical cross-entropy, mean over the batch, as Keras's
/// `categorical_crossentropy` with one-hot targets given as class indices.
///
/// Keras computes it stably: when the model's output comes from a softmax,
/// it uses the logits underneath. `logits` does the same here:
/// loss = log Σ_j exp(z_j − max z) − (z_y − max z), and the gradient is
/// (softmax(z) − onehot(y)) / N, which never overflows or takes log 0.
/// `probabilities` is the fallback for outputs that are already
/// probabilities; like Keras it clips them to [1e−7, 1 − 1e−7] first.
public enum SoftmaxCrossEntropy {
  /// Keras's `epsilon()` used for clipping probabilities.
  public static let epsilon: Float = 1e-7

  /// Loss, its gradient with respect to the logits (N, K), and the softmax.
  public static func lossAndGradient(
    logits: Tensor, labels: [Int]
  ) -> (
    loss: Float, dLogits: Tensor, probabilities: Tensor
  ) {
    precondition(logits.shape.rank == 2, "logits must be (N, classes), got \(logits.shape)")
    let (n, k) = (logits.shape[0], logits.shape[1])
    precondition(labels.count == n, "\(labels.count) labels for \(n) samples")
    var probabilities = logits
    var total = 0.0
    probabilities.storage.withUnsafeMutableBufferPointer { p in
      for row in 0..<n {
        let label = labels[row]
        precondition(label >= 0 && label < k, "label \(label) outside 0..<\(k)")
        let base = row * k
        var largest = -Float.infinity
        for j in 0..<k { largest = max(largest, p[base + j]) }
        var sum = 0.0
        for j in 0..<k { sum += Foundation.exp(Double(p[base + j] - largest)) }
        total += Foundation.log(sum) - Double(p[base + label] - largest)
      }
      Activation.softmaxRows(p, features: k)
    }
    var dLogits = probabilities
    let scale = 1 / Float(n)
    dLogits.storage.withUnsafeMutableBufferPointer { d in
      for row in 0..<n { d[row * k + labels[row]] -= 1 }
      for i in 0..<d.count { d[i] *= scale }
    }
    return (Float(total / Double(n)), dLogits, probabilities)
  }

  /// Loss and its gradient with respect to probabilities (N, K) from a softmax.
  public static func lossAndGradient(
    probabilities: Tensor, labels: [Int]
  ) -> (
    loss: Float, dProbabilities: Tensor
  ) {
    precondition(probabilities.shape.rank == 2, "probabilities must be (N, classes)")
    let (n, k) = (probabilities.shape[0], probabilities.shape[1])
    precondition(labels.count == n, "\(labels.count) labels for \(n) samples")
    var dProbabilities = Tensor(zeros: probabilities.shape)
    var total = 0.0
    for row in 0..<n {
      let label = labels[row]
      precondition(label >= 0 && label < k, "label \(label) outside 0..<\(k)")
      let p = probabilities.storage[row * k + label]
      let clipped = min(max(p, epsilon), 1 - epsilon)
      total -= Foundation.log(Double(clipped))
      // The clip has zero slope outside its range.
      if p == clipped { dProbabilities.storage[row * k + label] = -1 / (clipped * Float(n)) }
    }
    return (Float(total / Double(n)), dProbabilities)
  }
}
