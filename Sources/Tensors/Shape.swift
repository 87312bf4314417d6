/// The extent of a tensor along each axis, outermost first (NCHW for images).
public struct Shape: Hashable, Sendable, CustomStringConvertible {
  public var dims: [Int]
  public init(_ dims: [Int]) { self.dims = dims }
  public init(_ dims: Int...) { self.dims = dims }
  public var rank: Int { dims.count }
  public var count: Int { dims.reduce(1, *) }
  public subscript(i: Int) -> Int {
    get { dims[i] }
    set { dims[i] = newValue }
  }
  public var description: String { "(" + dims.map(String.init).joined(separator: ", ") + ")" }
}
