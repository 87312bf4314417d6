import _CodecShims

/// Owns a buffer the shim's encoder allocated and frees it when released.
final class ShimBuffer {
  private var buffer: cvz_buffer

  init(_ buffer: cvz_buffer) { self.buffer = buffer }
  deinit { cvz_buffer_free(&buffer) }

  var bytes: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: buffer.data, count: buffer.size)
  }
  var array: [UInt8] { Array(bytes) }
}
