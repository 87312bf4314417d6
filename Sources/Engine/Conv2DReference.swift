import Tensors

/// The naive Conv2D forward pass, the definition the fast path is tested against.
///
/// input (N, cin, H, W), kernel HWIO (kh, kw, cig, cout), bias (cout) →
/// (N, cout, H′, W′), with groups G, cig = cin / G, cog = cout / G and
/// output channel o reading input channels g·cig ..< (g+1)·cig, g = o / cog:
/// y[n,o,oy,ox] = b[o] + Σ x[n,g·cig+c,oy·sh−pt+ky·dh, ox·sw−pl+kx·dw]·k[ky,kx,c,o],
/// with out-of-range input reading zero. Accumulates in Double.
public func conv2dForwardReference(
  input: Tensor, kernel: Tensor, bias: Tensor, strides: (Int, Int), padding: Padding,
  groups: Int = 1, dilations: (Int, Int) = (1, 1)
) -> Tensor {
  let (n, cin, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
  let (kh, kw, cig, cout) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
  precondition(cig * groups == cin, "kernel input channels \(cig)·\(groups) != \(cin)")
  let cog = cout / groups
  let g = WindowGeometry(
    checkedHeight: h, width: w, kernel: (kh, kw), strides: strides, padding: padding,
    dilations: dilations)
  var output = Tensor(zeros: Shape(n, cout, g.outputHeight, g.outputWidth))
  for b in 0..<n {
    for o in 0..<cout {
      for oy in 0..<g.outputHeight {
        for ox in 0..<g.outputWidth {
          var sum = Double(bias.storage[o])
          for ky in 0..<kh {
            let iy = oy * g.strideY - g.padTop + ky * g.dilationY
            guard iy >= 0 && iy < h else { continue }
            for kx in 0..<kw {
              let ix = ox * g.strideX - g.padLeft + kx * g.dilationX
              guard ix >= 0 && ix < w else { continue }
              for c in 0..<cig {
                let k = kernel.storage[((ky * kw + kx) * cig + c) * cout + o]
                let x = input.offset(n: b, c: o / cog * cig + c, y: iy, x: ix)
                sum += Double(input.storage[x]) * Double(k)
              }
            }
          }
          output.storage[output.offset(n: b, c: o, y: oy, x: ox)] = Float(sum)
        }
      }
    }
  }
  return output
}

/// The naive Conv2D backward pass: the gradients of
/// `conv2dForwardReference` with respect to its input, kernel and bias.
public func conv2dBackwardReference(
  input: Tensor, kernel: Tensor, dOutput: Tensor, strides: (Int, Int), padding: Padding,
  groups: Int = 1, dilations: (Int, Int) = (1, 1)
) -> (dInput: Tensor, dKernel: Tensor, dBias: Tensor) {
  let (h, w) = (input.shape[2], input.shape[3])
  let (kh, kw, cig, cout) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
  let cog = cout / groups
  let n = input.shape[0]
  let g = WindowGeometry(
    checkedHeight: h, width: w, kernel: (kh, kw), strides: strides, padding: padding,
    dilations: dilations)
  var dInput = [Double](repeating: 0, count: input.count)
  var dKernel = [Double](repeating: 0, count: kernel.count)
  var dBias = [Double](repeating: 0, count: cout)
  for b in 0..<n {
    for o in 0..<cout {
      for oy in 0..<g.outputHeight {
        for ox in 0..<g.outputWidth {
          let dy = Double(dOutput.storage[dOutput.offset(n: b, c: o, y: oy, x: ox)])
          dBias[o] += dy
          for ky in 0..<kh {
            let iy = oy * g.strideY - g.padTop + ky * g.dilationY
            guard iy >= 0 && iy < h else { continue }
            for kx in 0..<kw {
              let ix = ox * g.strideX - g.padLeft + kx * g.dilationX
              guard ix >= 0 && ix < w else { continue }
              for c in 0..<cig {
                let k = ((ky * kw + kx) * cig + c) * cout + o
                let x = input.offset(n: b, c: o / cog * cig + c, y: iy, x: ix)
                dKernel[k] += Double(input.storage[x]) * dy
                dInput[x] += Double(kernel.storage[k]) * dy
              }
            }
          }
        }
      }
    }
  }
  return (
    Tensor(shape: input.shape, storage: dInput.map(Float.init)),
    Tensor(shape: kernel.shape, storage: dKernel.map(Float.init)),
    Tensor(shape: Shape(cout), storage: dBias.map(Float.init))
  )
}
