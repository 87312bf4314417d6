import Tensors

/// Keras's default kernel initializer: uniform in [−limit, limit) with
/// limit = sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio 2010,
/// https://proceedings.mlr.press/v9/glorot10a.html).
///
/// For a conv kernel (kh, kw, cin, cout), fanIn = kh·kw·cin and
/// fanOut = kh·kw·cout; for a dense kernel (in, out) they are in and out.
/// Elements are drawn in storage order from `generator`, so a seed fixes them.
public enum GlorotUniform {
  public static func sample(
    shape: Shape, fanIn: Int, fanOut: Int, using generator: inout SeededGenerator
  ) -> Tensor {
    precondition(fanIn + fanOut > 0, "Glorot initialization needs a positive fan")
    let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
    var storage = [Float](repeating: 0, count: shape.count)
    for i in 0..<storage.count { storage[i] = generator.nextFloat(in: -limit, limit) }
    return Tensor(shape: shape, storage: storage)
  }
}
