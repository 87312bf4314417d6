import ArgumentParser

#if canImport(Glibc)
  import Glibc
#endif

@main
struct ConvViz: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convviz",
    abstract:
      "Make convolution visible: filter images, train small CNNs, and see what they learned.",
    discussion: """
      Exit status: 0 on success, 1 when a file or the work itself fails, 64 for a bad \
      command line. Every error is one line starting `convviz: error:`.

      \(OutputRule.text)
      """,
    version: "0.1.0",
    subcommands: [
      Filter.self, PoolCommand.self, Kernels.self, Train.self, Evaluate.self, Predict.self,
      Summary.self,
      DumpWeights.self, FeatureMapsCommand.self, ExplainCommand.self, Maximize.self,
      TopPatchesCommand.self, Embed.self, Report.self, Export.self,
    ])

  /// Parses and runs like ArgumentParser's own `main`, but every error,
  /// the parser's included, starts `convviz: error:` and goes through the
  /// one terminal writer: command-line mistakes exit 64 (with the usage
  /// lines), failures of the work exit 1 (one line).
  static func main() {
    var command: any ParsableCommand
    do {
      command = try parseAsRoot()
      try ProcessSettings.apply()
    } catch {
      exitAfterParsing(error)
    }
    do {
      try command.run()
    } catch {
      // Help shown by running the root command (bare, or `--help`) comes
      // back as ArgumentParser's own errors.
      guard let failure = CommandFailure(sorting: error) else { exitAfterParsing(error) }
      if !failure.description.isEmpty { Terminal.error(failure.description) }
      Glibc.exit(failure.status.rawValue)
    }
  }

  /// Help and version requests print to stdout and succeed; mistakes get
  /// the common prefix in place of ArgumentParser's "Error: ", and the
  /// usage lines that follow it.
  private static func exitAfterParsing(_ error: any Error) -> Never {
    let code = exitCode(for: error)
    var text = fullMessage(for: error)
    if code == .success {
      if !text.isEmpty { Terminal.block(text + "\n", toStandardError: false) }
      Glibc.exit(code.rawValue)
    }
    let parserPrefix = "Error: "
    if text.hasPrefix(parserPrefix) { text.removeFirst(parserPrefix.count) }
    let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    Terminal.error(lines.first.map(String.init) ?? "")
    if lines.count > 1 { Terminal.block(String(lines[1]) + "\n", toStandardError: true) }
    Glibc.exit(code.rawValue)
  }
}
