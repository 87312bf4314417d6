import _CNNKernels

/// Why the engine could not run a layer. Today only one reason: a C kernel
/// (`_CNNKernels`) could not allocate its scratch memory. The kernels free
/// what they took and return a status (`CVZ_STATUS_*`) instead of aborting;
/// `check` turns that status into this error.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `operation` (e.g. "Conv2D backward") ran out of memory.
  case outOfMemory(operation: String)

  public var description: String {
    switch self {
    case .outOfMemory(let operation): "out of memory in \(operation)"
    }
  }

  /// Throws for a kernel status other than `CVZ_STATUS_OK`.
  static func check(_ status: Int32, operation: String) throws(EngineError) {
    guard status == CVZ_STATUS_OK else { throw .outOfMemory(operation: operation) }
  }
}

/// `EngineError.check` for code that cannot throw yet: `Layer`'s `forward`
/// and `backward` do not throw, so a layer stops here, with the error's
/// message, where the C code used to abort() without one. Goes away when
/// the layer protocol throws.
func requireKernelSuccess(_ status: Int32, operation: String) {
  do {
    try EngineError.check(status, operation: operation)
  } catch {
    fatalError("\(error)")
  }
}
