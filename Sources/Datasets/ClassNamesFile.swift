/// A `--labels` file: the class names of a data set, one per line, line i
/// naming label i (for IDX files, which store no names, or to rename the
/// classes of any data set). Blank lines at the end are ignored.
public enum ClassNamesFile {
  /// Larger files are refused before they are read.
  public static let maximumSize = 1 << 20
  /// Model files store names of at most this many bytes.
  public static let maximumNameLength = 4096

  public static func read(_ path: String) throws(DatasetError) -> [String] {
    var stream = try ByteStream(path: path)
    let bytes = try stream.read(upTo: maximumSize + 1)
    guard bytes.count <= maximumSize else {
      throw .invalidClassNames(path: path, reason: "larger than \(maximumSize) bytes")
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw .invalidClassNames(path: path, reason: "not UTF-8 text")
    }
    // "\r\n" is one Character in Swift, and a newline like "\n".
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(
      String.init)
    while lines.last?.allSatisfy(\.isWhitespace) == true { lines.removeLast() }
    guard !lines.isEmpty else { throw .invalidClassNames(path: path, reason: "no class names") }
    var seen: [String: Int] = [:]
    for (i, name) in lines.enumerated() {
      guard !name.allSatisfy(\.isWhitespace) else {
        throw .invalidClassNames(path: path, reason: "line \(i + 1) is empty")
      }
      guard name.utf8.count <= maximumNameLength else {
        throw .invalidClassNames(
          path: path, reason: "line \(i + 1) is longer than \(maximumNameLength) bytes")
      }
      if let earlier = seen[name] {
        throw .invalidClassNames(
          path: path, reason: "line \(i + 1) repeats '\(name)' from line \(earlier + 1)")
      }
      seen[name] = i
    }
    return lines
  }
}

extension DatasetSplits {
  /// The same data with its classes named by `names` (label i → names[i]),
  /// read from the file at `path`; their number must match the classes.
  public func renamingClasses(
    _ names: [String], from path: String
  ) throws(DatasetError)
    -> DatasetSplits
  {
    let classCount = max(train.classNames.count, (train.labels.max() ?? -1) + 1)
    guard names.count == classCount else {
      throw .classNameCountMismatch(path: path, names: names.count, classes: classCount)
    }
    var renamed = self
    renamed.train.classNames = names
    renamed.test?.classNames = names
    return renamed
  }
}
