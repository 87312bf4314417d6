import ArgumentParser

@main
struct ConvViz: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convviz",
    abstract: "Make convolution visible: filter images, train small CNNs, and see what they learned.",
    version: "0.1.0",
    subcommands: [Summary.self, DumpWeights.self, FeatureMapsCommand.self])
}
