import ImageCodecs
import Tensors

/// An attribution map drawn over the image it explains: the heatmap
/// alpha-blended onto the photo, a colour bar giving the map's values, and
/// a caption (class name, probability, method).
public enum AttributionOverlay {
  /// `photo` (converted to RGB) with `map` (H, W, the photo's size) blended
  /// over it: each pixel is photo·(1 − alpha) + colour·alpha, the colour
  /// `colorMap` at the map value's position in `range` (as
  /// pytorch-grad-cam's `show_cam_on_image`). Each pixel is drawn as a
  /// `scale`×`scale` block.
  public static func blend(
    photo: Image, map: Tensor, range: ValueRange, colorMap: ColorMap, alpha: Float,
    scale: Int = 1
  ) -> Image {
    precondition(
      map.shape == Shape(photo.height, photo.width),
      "map \(map.shape) does not match the \(photo.width)×\(photo.height) photo")
    precondition(scale >= 1, "scale must be at least 1")
    let rgb = photo.to8Bit().converted(to: .rgb).samples8
    var canvas = Canvas(width: photo.width * scale, height: photo.height * scale)
    for y in 0..<photo.height {
      for x in 0..<photo.width {
        let i = y * photo.width + x
        let under = RGB(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2])
        let color = under.mixed(
          with: colorMap.color(at: range.position(of: map.storage[i])), amount: alpha)
        canvas.fill(x: x * scale, y: y * scale, width: scale, height: scale, color)
      }
    }
    return canvas.image
  }

  /// The value range a map is drawn with: min…max, symmetric around zero
  /// for a diverging colour map (so white is zero).
  public static func range(of map: Tensor, colorMap: ColorMap) -> ValueRange {
    let range = ValueRange(of: map.storage)
    return colorMap.isDiverging ? range.symmetric : range
  }

  /// The blended photo, enlarged by a whole factor until its longer side
  /// is at least `minimumSide` (a 28×28 digit stays legible), beside a
  /// colour bar as tall as it, under `title` and `caption`.
  public static func picture(
    photo: Image, map: Tensor, colorMap: ColorMap, alpha: Float = 0.5,
    title: String? = nil, caption: String? = nil, minimumSide: Int = 256
  ) -> Picture {
    let range = range(of: map, colorMap: colorMap)
    let scale = GridLayout.automaticScale(
      tileWidth: photo.width, tileHeight: photo.height, target: minimumSide)
    let blended = blend(
      photo: photo, map: map, range: range, colorMap: colorMap, alpha: alpha, scale: scale)
    var bar = ColorBar(colorMap: colorMap, range: range)
    bar.length = max(16, blended.height - bar.overhead)
    return Canvas.row(
      [Picture(image: blended), bar.picture()], title: title, caption: caption)
  }
}
