import Foundation

extension FilterGeometry {
  /// Bytes `apply` allocates besides its output for an image with
  /// `colourChannels` colour channels: the scratch of one band on every
  /// core at once. For callers that budget memory before filtering.
  public func scratchBytes(colourChannels: Int) -> Int {
    let perBand = scratchBytesPerBand(geometry: self, colourChannels: colourChannels)
    let (total, overflow) = perBand.multipliedReportingOverflow(
      by: ProcessInfo.processInfo.activeProcessorCount)
    return overflow ? Int.max : total
  }
}
