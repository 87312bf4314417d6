import Tensors
import _CNNKernels
import _OpenBLAS

/// Why a graph cannot be built, or cannot run on an input of some shape.
///
/// Operations report shape problems without knowing their node; the graph
/// wraps them in `.node(name, problem)` so that the message names the node.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A node reads a tensor that neither the graph input nor any node makes.
  case undefinedTensor(node: String, tensor: String)
  /// Two producers (nodes or the graph input) name the same tensor.
  case duplicateTensor(String)
  /// The nodes depend on each other in a cycle.
  case cycle(nodes: [String])
  /// A requested tensor is not in the graph.
  case noSuchTensor(String)
  /// An operation was given the wrong number of inputs.
  case inputCount(operation: String, expected: Int, found: Int)
  /// An operation cannot take inputs of these per-sample shapes.
  case incompatibleShape(operation: String, expected: String, found: [Shape])
  /// A valid-padded window no longer fits the (shrinking) input plane.
  case windowLargerThanInput(windowHeight: Int, windowWidth: Int, inputHeight: Int, inputWidth: Int)
  /// `problem` happened in the node called `name`.
  indirect case node(String, EngineError)
  /// A C kernel (`_CNNKernels`) could not allocate its scratch memory in
  /// `operation` (e.g. "Conv2D backward"); the kernels free what they took
  /// and return a status (`CVZ_STATUS_*`) instead of aborting.
  case outOfMemory(operation: String)
  /// A library the engine opens when it first needs it (libopenblas) is
  /// missing or unusable; the text names it and says why.
  case libraryUnavailable(String)

  public var description: String {
    switch self {
    case .undefinedTensor(let node, let tensor):
      return "node \(node) reads tensor \(tensor), which nothing produces"
    case .duplicateTensor(let name):
      return "tensor \(name) is produced twice"
    case .cycle(let nodes):
      return "nodes \(nodes.joined(separator: ", ")) form a cycle"
    case .noSuchTensor(let name):
      return "the graph has no tensor \(name)"
    case .inputCount(let operation, let expected, let found):
      return "\(operation) takes \(expected) inputs, got \(found)"
    case .incompatibleShape(let operation, let expected, let found):
      let shapes = found.map(\.description).joined(separator: " and ")
      return "\(operation) expects \(expected), got \(shapes)"
    case .windowLargerThanInput(let wh, let ww, let ih, let iw):
      return "the \(wh)x\(ww) window is larger than the \(ih)x\(iw) input"
    case .node(let name, let problem):
      return "node \(name): \(problem)"
    case .outOfMemory(let operation):
      return "out of memory in \(operation)"
    case .libraryUnavailable(let reason):
      return reason
    }
  }

  /// Loads libopenblas, which the engine's kernels call, unless it is
  /// loaded already; throws `.libraryUnavailable` when it cannot be.
  public static func requireOpenBLAS() throws(EngineError) {
    var message = [CChar](repeating: 0, count: 512)
    guard cvz_openblas_load(&message, message.count) == 0 else {
      throw .libraryUnavailable(
        message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
  }

  /// Throws for a kernel status other than `CVZ_STATUS_OK`.
  static func check(_ status: Int32, operation: String) throws(EngineError) {
    guard status == CVZ_STATUS_OK else { throw .outOfMemory(operation: operation) }
  }
}
