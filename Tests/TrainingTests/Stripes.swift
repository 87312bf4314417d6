import Datasets
import ModelFormats
import Tensors

/// The small labelled data set and network the training tests share.
enum Stripes {
  /// 4×4 gray images: class 0 has a bright left half, class 1 a bright right
  /// half, class 2 a bright top half; plus noise. Linearly separable.
  static func data(count: Int, seed: UInt64) -> Dataset {
    var generator = SeededGenerator(seed: seed)
    var storage: [Float] = []
    var labels: [Int] = []
    for _ in 0..<count {
      let label = Int(generator.next() % 3)
      for y in 0..<4 {
        for x in 0..<4 {
          let lit = label == 0 ? x < 2 : label == 1 ? x >= 2 : y < 2
          let noise = Float(generator.next() % 1000) / 4000
          storage.append((lit ? 0.7 : 0.05) + noise)
        }
      }
      labels.append(label)
    }
    return Dataset(
      images: Tensor(shape: Shape(count, 1, 4, 4), storage: storage), labels: labels,
      classNames: ["left", "right", "top"])
  }

  /// A network of every kind of layer the trainers treat apart: conv,
  /// pool, dropout, flatten, dense; three classes.
  static let network = try! ModelSpec.parse(
    """
    input 4 4 1
    conv2d 4 3 relu padding=same
    maxpool2d 2
    dropout 0.25
    flatten
    dense 8 relu
    dense 3 softmax
    """)

  /// Adam at a rate that learns the stripes in a few epochs.
  static let adam = OptimizerConfiguration.adam(
    learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
}
