import ArgumentParser
import Files
import Engine
import Explain
import ModelFormats
import Training
import ImageFilters
import Datasets
import ImageCodecs
import Tensors
import Visualization

/// The one failure type of the executable: a message worded for the user
/// and the exit status it ends with.
///
/// Library errors are turned into it by type (`init(_:)`), in one place;
/// a command throws it directly for problems the libraries cannot see
/// (an output that would replace an input, a conflicting option).
struct CommandFailure: Error, CustomStringConvertible {
  enum Status: Int32 {
    /// The work failed: a bad file, a failed write.
    case failure = 1
    /// The command line asks for something impossible or contradictory.
    case usage = 64
  }

  /// Empty when the failure was already reported line by line (`reported`).
  var description: String
  var status: Status

  init(_ description: String, status: Status = .failure) {
    self.description = description
    self.status = status
  }

  /// A command-line mistake found only once files were looked at.
  static func usage(_ description: String) -> CommandFailure {
    CommandFailure(description, status: .usage)
  }

  /// Every problem has been printed already; just exit with status 1.
  static let reported = CommandFailure("")

  /// Sorts an error thrown while a command runs by its type. Library
  /// errors word themselves (their descriptions name the file). nil for a
  /// type of no module of convviz: ArgumentParser's own (a help request
  /// run as a command), which its rules format.
  init?(sorting error: any Error) {
    switch error {
    case let failure as CommandFailure:
      self = failure
    case let error as ValidationError:
      self = .usage(error.message)
    case let error as MemoryError:
      self.init(memory: error)
    case is CodecError, is FileError, is KernelError, is FilterError, is DatasetError,
      is ExplainError,
      is ModelFileError, is ModelSpecError, is TrainerError, is OptimizerStateError,
      is VisualizationError, is EngineError, is NumPyError:
      self.init(String(describing: error))
    default:
      return nil
    }
  }

  /// Memory refused: the budget's message with the option that raises it
  /// (and `alternative`, another way out, when the command has one).
  init(memory error: MemoryError, alternative: String? = nil) {
    let ways = ["raise with --max-memory"] + (alternative.map { [$0] } ?? [])
    switch error {
    case .overBudget:
      self.init("\(error) (\(ways.joined(separator: "; ")))")
    case .allocationFailed:
      self.init(error.description)
    }
  }

  /// Any error as a failure of the work, never a crash.
  init(_ error: any Error) {
    self = CommandFailure(sorting: error) ?? CommandFailure(String(describing: error))
  }
}

/// Problems of one input among many, kept in input order for the report
/// at the end.
extension CommandFailure {
  /// "3 of 10 inputs failed" after the individual errors were printed.
  static func summary(failed: Int, of total: Int, noun: String) -> CommandFailure {
    total == 1 ? .reported : CommandFailure("\(failed) of \(plural(total, noun)) failed")
  }
}
