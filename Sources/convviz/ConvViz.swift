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
    subcommands: [Filter.self, Kernels.self, Summary.self])

  /// Parses and runs like ArgumentParser's own `main`, but prints a failure of
  /// the work itself (a corrupt image, an unwritable folder) as one line,
  /// `convviz: error: <message>`, and exits with status 1. Command-line
  /// mistakes keep ArgumentParser's message, usage line and status 64.
  static func main() {
    var command: any ParsableCommand
    do {
      command = try parseAsRoot()
    } catch {
      exit(withError: error)
    }
    do {
      try command.run()
    } catch let error as ExitCode {
      exit(withError: error)
    } catch let error as CleanExit {
      exit(withError: error)
    } catch let error as ValidationError {
      exit(withError: error)
    } catch {
      Terminal.error(String(describing: error))
      Glibc.exit(1)
    }
  }
}
