import ArgumentParser

/// `-o DIR` for the commands that write several files into a folder
/// (`explain`, `top-patches`, `dump-weights`, `featuremaps`).
struct OutputFolderOption: ParsableArguments {
  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp("Output folder (created when missing).", valueName: "dir"))
  var output = "output"

  /// `-o -` names standard output, which takes one image or page.
  func validate() throws {
    if output == "-" {
      throw ValidationError(
        "-o - (standard output) takes one image or page; this command writes "
          + "several files: give a folder")
    }
  }
}
