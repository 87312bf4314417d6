/// A scratch buffer for the row reader and writer: grows to the largest
/// size asked for (64-byte aligned, contents not kept) and is freed with
/// its owner.
final class StagingBuffer {
  private var pointer: UnsafeMutableRawPointer?
  private var capacity = 0

  /// At least `count` bytes.
  func bytes(_ count: Int) -> UnsafeMutableRawPointer {
    if capacity < count || pointer == nil {
      pointer?.deallocate()
      capacity = max(count, 1)
      pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }
    return pointer!
  }

  deinit { pointer?.deallocate() }
}
