import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

@main
struct ConvViz: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convviz",
    abstract: "Make convolution visible: filter images, train small CNNs, and see what they learned.",
    discussion: """
      Exit status: 0 on success, 1 when a file or the work itself fails, 64 for a bad \
      command line.
      """,
    version: "0.1.0",
    subcommands: [
      Filter.self, Kernels.self, Train.self, Evaluate.self, Predict.self, Summary.self,
      DumpWeights.self, FeatureMapsCommand.self, Report.self,
    ])

  /// Parses and runs like ArgumentParser's own `main`, but prints a failure of
  /// the work itself (a corrupt image, an unwritable folder) as one line,
  /// `convviz: error: <message>`, and exits with status 1. Command-line
  /// mistakes keep ArgumentParser's message, usage line and status 64.
  static func main() {
    var command: any ParsableCommand
    do {
      command = try parseAsRoot()
      try ProcessSettings.apply()
    } catch {
      exit(withError: error)
    }
    do {
      try command.run()
    } catch {
      // ArgumentParser's own errors (help requests, validation, exit codes)
      // keep its formatting and status; everything else is the work failing.
      if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
        exit(withError: error)
      }
      Terminal.error(String(describing: error))
      Glibc.exit(1)
    }
  }
}
