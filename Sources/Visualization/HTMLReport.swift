import Foundation

/// A static, self-contained HTML page: headings, text, tables and PNG images
/// inlined as base64 `data:` URIs. No scripts, no network, one file.
public struct HTMLReport: Sendable {
  public var title: String
  private var body: [String] = []

  public init(title: String) {
    self.title = title
  }

  public mutating func heading(_ text: String, level: Int = 2) {
    precondition((1...4).contains(level), "heading level 1…4")
    body.append("<h\(level)>\(Self.escape(text))</h\(level)>")
  }

  public mutating func paragraph(_ text: String) {
    body.append("<p>\(Self.escape(text))</p>")
  }

  public mutating func preformatted(_ text: String) {
    body.append("<pre>\(Self.escape(text))</pre>")
  }

  /// A table; cells are plain text. Columns whose header is in
  /// `numericColumns` are right-aligned.
  public mutating func table(header: [String], rows: [[String]], numericColumns: Set<Int> = []) {
    func cells(_ row: [String], tag: String) -> String {
      row.enumerated().map { index, cell in
        let style = numericColumns.contains(index) ? " class=\"num\"" : ""
        return "<\(tag)\(style)>\(Self.escape(cell))</\(tag)>"
      }.joined()
    }
    var html = "<table>\n<thead><tr>\(cells(header, tag: "th"))</tr></thead>\n<tbody>\n"
    for row in rows { html += "<tr>\(cells(row, tag: "td"))</tr>\n" }
    body.append(html + "</tbody>\n</table>")
  }

  /// An encoded PNG, shown at its own size (or `displayWidth` CSS pixels,
  /// without smoothing so upscaled filters stay crisp), with a caption.
  public mutating func image(
    png: [UInt8], alt: String, caption: String? = nil, displayWidth: Int? = nil
  ) {
    let width = displayWidth.map { " width=\"\($0)\"" } ?? ""
    var html =
      "<figure><img src=\"data:image/png;base64,\(Data(png).base64EncodedString())\""
      + " alt=\"\(Self.escape(alt))\"\(width)>"
    if let caption { html += "<figcaption>\(Self.escape(caption))</figcaption>" }
    body.append(html + "</figure>")
  }

  /// Several images in one row that wraps.
  public mutating func gallery(
    _ images: [(png: [UInt8], caption: String)], displayWidth: Int? = nil
  ) {
    var sub = HTMLReport(title: title)
    for item in images {
      sub.image(png: item.png, alt: item.caption, caption: item.caption, displayWidth: displayWidth)
    }
    body.append("<div class=\"gallery\">" + sub.body.joined(separator: "\n") + "</div>")
  }

  /// The complete page.
  public func html() -> String {
    """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>\(Self.escape(title))</title>
    <style>
    body { font-family: sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
    body { padding: 0 1em; }
    h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
    h2 { margin-top: 2em; border-bottom: 1px solid #eee; }
    table { border-collapse: collapse; margin: 1em 0; }
    th, td { border: 1px solid #ccc; padding: .3em .7em; text-align: left; }
    th { background: #f4f4f4; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    figure { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top; }
    figcaption { font-size: .85em; color: #555; text-align: center; }
    img { image-rendering: pixelated; max-width: 100%; }
    .gallery { display: flex; flex-wrap: wrap; align-items: flex-start; }
    pre { background: #f7f7f7; padding: .8em; overflow-x: auto; }
    </style>
    </head>
    <body>
    <h1>\(Self.escape(title))</h1>
    \(body.joined(separator: "\n"))
    </body>
    </html>

    """
  }

  /// Text with &, <, >, " and ' replaced by entities.
  public static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.append(c)
      }
    }
    return out
  }
}
