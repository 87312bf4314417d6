import Synchronization
import Tensors
import _DNNLKernels
import _Runtime

/// oneDNN (Debian's libdnnl), the fast path for inference convolutions.
///
/// Its just-in-time kernels use the widest instruction set the CPU has
/// (AVX-512 where present; oneDNN's own `DNNL_MAX_CPU_ISA=AVX2` caps it),
/// where `_CNNKernels` stops at AVX2. `Conv2D` takes it in `.inference`
/// mode only, whose results need not be bit-identical across thread
/// counts; training and gradients keep `_CNNKernels`, which stay the
/// reference the oneDNN path is tested against. The convviz executable
/// turns it off with `CONVVIZ_DNNL=0`.
public enum OneDNN {
  private static let enabled = Atomic<Bool>(true)
  private static let leaving = Atomic<Bool>(true)

  /// Whether inference may use oneDNN (true unless set false).
  public static var isEnabled: Bool {
    get { enabled.load(ordering: .relaxed) }
    set { enabled.store(newValue, ordering: .relaxed) }
  }

  /// Whether the small convolutions the hand-written direct kernels run
  /// well stay on them (`OneDNNConvolution.kernelsKeep`), and Dense layers
  /// under 4M weights on OpenBLAS; true unless set false, which sends every
  /// convolution and Dense layer oneDNN can make to it, as tests need.
  public static var leavesSmallConvolutionsToKernels: Bool {
    get { leaving.load(ordering: .relaxed) }
    set { leaving.store(newValue, ordering: .relaxed) }
  }

  private static let dense = Atomic<Bool>(true)

  /// Whether Dense layers run on oneDNN's inner product in inference (true
  /// unless set false, as tests do to compare it with OpenBLAS).
  public static var runsDenseLayers: Bool {
    get { dense.load(ordering: .relaxed) }
    set { dense.store(newValue, ordering: .relaxed) }
  }

  /// Whether the library's CPU engine could be created.
  public static var isAvailable: Bool { cvz_dnnl_available() != 0 }

  /// Why the library cannot be used, one line naming it (e.g. "libdnnl
  /// (libdnnl.so.2) cannot be loaded: …"), or nil when it can.
  public static var unavailableReason: String? {
    let reason = String(cString: cvz_dnnl_failure())
    return reason.isEmpty ? nil : reason
  }

  /// The instruction set oneDNN's kernels use here ("avx512_core",
  /// "avx2", …), after any `DNNL_MAX_CPU_ISA` cap.
  public static var instructionSet: String { String(cString: cvz_dnnl_isa()) }

  /// The library's version, e.g. "2.6.3".
  public static var version: String { String(cString: cvz_dnnl_version()) }

  /// Whether operations should try oneDNN now: enabled, available, and
  /// with AVX2 or wider kernels.
  static var isUsable: Bool {
    isEnabled && isAvailable && instructionSet.hasPrefix("avx")
  }
}
