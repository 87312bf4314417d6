/// The plain Swift update loops that the C kernels in
/// `_CNNKernels/optimizers.c` must reproduce bit for bit (tests compare
/// them). Each mirrors Keras 3's `update_step`; see the optimizer types for
/// the formulas.
enum OptimizerReference {
  static func sgd(
    w: inout [Float], g: [Float], m: inout [Float]?, lr: Float, momentum mu: Float, nesterov: Bool
  ) {
    guard var velocity = m else {
      for i in w.indices { w[i] -= g[i] * lr }
      return
    }
    for i in w.indices {
      velocity[i] = velocity[i] * mu - g[i] * lr
      w[i] += nesterov ? velocity[i] * mu - g[i] * lr : velocity[i]
    }
    m = velocity
  }

  static func adadelta(
    w: inout [Float], g: [Float], a: inout [Float], d: inout [Float], lr: Float, rho: Float,
    eps: Float
  ) {
    for i in w.indices {
      a[i] = rho * a[i] + (1 - rho) * (g[i] * g[i])
      let delta = -((d[i] + eps).squareRoot() * g[i]) / (a[i] + eps).squareRoot()
      d[i] = rho * d[i] + (1 - rho) * (delta * delta)
      w[i] += lr * delta
    }
  }

  static func adam(
    w: inout [Float], g: [Float], m: inout [Float], v: inout [Float], alpha: Float, beta1: Float,
    beta2: Float, eps: Float
  ) {
    for i in w.indices {
      m[i] += (g[i] - m[i]) * (1 - beta1)
      v[i] += (g[i] * g[i] - v[i]) * (1 - beta2)
      w[i] -= (m[i] * alpha) / (v[i].squareRoot() + eps)
    }
  }

  static func rmsprop(
    w: inout [Float], g: [Float], v: inout [Float], m: inout [Float]?, lr: Float, rho: Float,
    momentum mu: Float, eps: Float
  ) {
    for i in w.indices {
      v[i] = rho * v[i] + (1 - rho) * (g[i] * g[i])
      let increment = (lr * g[i]) / (v[i] + eps).squareRoot()
      if m != nil {
        m![i] = mu * m![i] + increment
        w[i] -= m![i]
      } else {
        w[i] -= increment
      }
    }
  }
}
