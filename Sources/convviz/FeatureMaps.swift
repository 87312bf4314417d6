import ArgumentParser
import Files
import Engine
import ModelFormats
import Training
import Datasets
import Foundation
import ImageCodecs
import Tensors
import Visualization

/// `convviz featuremaps`: what a model's filters respond to in a photo.
struct FeatureMapsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "featuremaps",
    abstract: "Apply a model's learned filters to a photo and draw the feature maps.",
    discussion: """
      convviz featuremaps MODEL PHOTO
        Converts PHOTO to the model's input channels (gray, ITU-R 601 luma,
        for MNIST models; x / 255 as in training, then --scale,
        --channel-order, --mean and --std or --preprocess, by default as
        the model file records), runs the first Conv2D
        layer with its bias and activation on the photo at its own size
        (maps longer than --max-tile are made in bands of rows and shrunk
        as they come, so no full-size map is held), and writes into the
        output folder:
          PHOTO-input.png              the photo as the model sees it
          PHOTO-LAYER-featuremaps.png  one map per filter (viridis, each
                                       map stretched to its own range)
          PHOTO-LAYER-overlay.png      with --overlay: the strongest map
                                       over the photo
        --layer N runs the forward pass up to layer N (numbered from 0, as
        in `convviz summary`); only convolution, pooling and activation
        layers before Flatten have maps.

      convviz featuremaps --random K [--activation sigmoid] [--seed S] PHOTO
        Without a model: K random 3x3 filters over the photo's 3 colour
        channels, weights uniform in [-0.2, 0.2], zero bias, then the
        activation, on PHOTO scaled to [0, 1]: the seed's Theano example.
        Also writes the filters as random-filters.png.

      -o names the output folder (default output/, created when missing).
      """)

  @Argument(
    help: ArgumentHelp(
      "MODEL PHOTO: a model file written by `convviz train` (or an ONNX or Keras model) and a PNG or "
        + "JPEG photo; "
        + "with --random only PHOTO.", valueName: "file"))
  var files: [String] = []

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Show the output of this layer, numbered from 0 as in `convviz summary` "
        + "(default: the first Conv2D).",
      valueName: "n"))
  var layer: Int?

  @Flag(help: "Also blend the strongest feature map over the photo.")
  var overlay = false

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Use K random 3x3x3 filters instead of a model.", valueName: "k"))
  var random: Int?

  @Option(help: "Activation after the random filters.")
  var activation: RandomActivation = .sigmoid

  @Option(
    parsing: .unconditional, help: "Seed for the random filters; equal seeds give equal filters.")
  var seed: UInt64 = 0

  @Option(help: "Colour map of the feature maps.")
  var colormap: ColorMap = .viridis

  @Option(help: "Value range of the colours: each map its own, one for all, or fixed.")
  var norm: Normalization = .each

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Shrink maps longer than this many pixels (box average).", valueName: "px"))
  var maxTile = 256

  @Option(help: "Text under each map: its index (custom), min and max (range), both, or none.")
  var labels: TileLabels = .custom

  @OptionGroup var width: PictureWidthOptions

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption

  @OptionGroup var outputFolder: OutputFolderOption
  var output: String { outputFolder.output }

  @OptionGroup var decoding: DecodingOptions

  @OptionGroup var input: ModelInputOptions

  /// Activations offered for random filters.
  enum RandomActivation: String, ExpressibleByArgument, CaseIterable {
    case sigmoid, relu, tanh, linear
    var function: Activation.Function {
      switch self {
      case .sigmoid: return .sigmoid
      case .relu: return .relu
      case .tanh: return .tanh
      case .linear: return .linear
      }
    }
  }

  func validate() throws {
    if let random {
      guard random >= 1 else { throw ValidationError("--random must be at least 1") }
      guard files.count <= 1 else {
        throw ValidationError("--random takes no model: give one PHOTO")
      }
      guard files.count == 1 else { throw ValidationError("--random needs a PHOTO") }
      guard layer == nil else { throw ValidationError("--layer needs a model, not --random") }
    } else {
      guard files.count == 2 else {
        throw ValidationError(
          "expected MODEL PHOTO, got \(plural(files.count, "file")); or --random K PHOTO")
      }
    }
    if let layer, layer < 0 { throw ValidationError("--layer must be 0 or more") }
    if input.resize != nil || input.size != nil {
      throw ValidationError("featuremaps runs the photo at its own size: no --resize or --size")
    }
    if random != nil && input.setsValues {
      throw ValidationError(
        "--random filters read the photo in [0, 1]: --mean, --std, --scale, --channel-order "
          + "and --preprocess need a model")
    }
    if maxTile < 8 { throw ValidationError("--max-tile must be at least 8") }
  }

  /// Refuses outputs that would replace the model or the photo, once the
  /// maps' `tag` (the layer's name, or "random") is known, then creates
  /// the output folder.
  private func prepareOutputs(tag: String) throws {
    let base = OutputPaths.stem(of: files.last ?? "")
    var names = ["\(base)-input.png", "\(base)-\(tag)-featuremaps.png"]
    if overlay { names.append("\(base)-\(tag)-overlay.png") }
    if random != nil { names.append("random-filters.png") }
    let roles = random == nil ? ["the model", "the photo"] : ["the photo"]
    try NamedPath.refuseCollisions(
      outputs: names.map { NamedPath(role: "the output", path: Path.join(output, $0)) },
      inputs: zip(roles, files).map { NamedPath(role: $0, path: $1) })
    try Folder.create(output)
  }

  func run() throws {
    if let random { try runRandom(count: random) } else { try runModel() }
  }

  private func runModel() throws {
    let (modelPath, photoPath) = (files[0], files[1])
    let file = try ModelArgument.loadModel(
      modelPath, memory: memory, input: input, architecture: architecture.architecture)
    guard case .image(_, _, let channels) = file.input, channels == 1 || channels == 3 else {
      throw CommandFailure("\(modelPath): the model's input is not a 1- or 3-channel image")
    }
    guard let index = layer ?? LayerActivations.convolutionLayers(of: file).first else {
      throw VisualizationError.noLayer(kind: "Conv2D")
    }
    let photo = try decoding.read(photoPath)
    // Maps the grid shrinks are made at display size, band by band.
    let bands = FeatureMapBands(
      model: file, inputHeight: photo.height, inputWidth: photo.width,
      inputChannels: channels, through: index, maxTileSide: maxTile,
      bandBytes: Self.bandBytes(within: memory.budget))
    try checkMemory(
      photo: photo, path: photoPath, model: file, channels: channels, layer: index,
      bands: bands)
    let preprocessing = try self.input.settings(for: file, path: modelPath).preprocessing
    let input = Self.modelInput(photo, channels: channels, preprocessing: preprocessing)
    var maps: Tensor
    var strongest: Int?
    if let bands {
      (maps, strongest) = try bands.run(model: file, input: input)
    } else {
      maps = try LayerActivations.compute(model: file, input: input, through: index)
    }
    let layerName = file.layers[index].name
    let tag = OutputPaths.fileNamePart(layerName)
    try prepareOutputs(tag: tag)
    let (height, width) = (bands?.height ?? maps.shape[2], bands?.width ?? maps.shape[3])
    let title =
      "\(layerName) (\(file.layers[index].kind)): \(maps.shape[1]) maps "
      + "\(width)x\(height)"
    try write(
      photo: photo, input: PixelConversion.displayValues(input, preprocessing), maps: maps,
      tag: tag, title: title, photoPath: photoPath, strongest: strongest)
  }

  private func runRandom(count: Int) throws {
    let photoPath = files[0]
    try prepareOutputs(tag: "random")
    let photo = try decoding.read(photoPath)
    try checkMemory(photo: photo, path: photoPath, randomFilters: count)
    let input = Self.modelInput(photo, channels: 3)
    var generator = SeededGenerator(seed: seed)
    let weights = (0..<(3 * 3 * 3 * count)).map { _ in generator.nextFloat(in: -0.2, 0.2) }
    let kernel = Tensor(shape: Shape(3, 3, 3, count), storage: weights)
    var conv = Conv2D(kernel: kernel, bias: Tensor(zeros: Shape(count)))
    var act = Activation(activation.function)
    let maps = try act.forward(conv.forward(input, mode: .inference), mode: .inference)
    let title = "\(count) random 3x3x3 filters, \(activation.rawValue), seed \(seed)"
    try write(
      photo: photo, input: input, maps: maps, tag: "random", title: title, photoPath: photoPath)
    var filters = WeightGrid(kernel: kernel, title: "Random filters, seed \(seed)")
    filters.view = .mosaic
    filters.maxWidth = width.maxWidth
    var colour = WeightGrid(kernel: kernel, title: "as colour")
    colour.maxWidth = width.maxWidth
    var pictures = [filters.picture()]
    if let rgb = colour.pictureRGB() { pictures.append(rgb) }
    let path = Path.join(output, "random-filters.png")
    try PictureFile.write(Canvas.row(pictures).image, to: path)
    Terminal.say("wrote \(path)")
  }

  /// The photo as the model sees it, at its own size: the conversion every
  /// command shares (`predict` gives the model the same numbers).
  static func modelInput(
    _ photo: Image, channels: Int, preprocessing: Preprocessing = .standard
  ) -> Tensor {
    PixelConversion.tensor(of: photo, channels: channels, preprocessing: preprocessing)
  }

  /// `strongest`: the strongest map when `maps` were shrunk from maps
  /// too large to keep (its mean is that of the whole map).
  private func write(
    photo: Image, input: Tensor, maps: Tensor, tag: String, title: String,
    photoPath: String, strongest: Int? = nil
  ) throws {
    let base = OutputPaths.stem(of: photoPath)
    let inputPath = Path.join(output, "\(base)-input.png")
    try PictureFile.write(ImageTensor.image(from: input), to: inputPath)
    let picture = FeatureMaps.picture(
      maps, title: title, colorMap: colormap, normalization: norm,
      maxTileSide: maxTile, labels: labels, maxWidth: width.maxWidth)
    let mapsPath = Path.join(output, "\(base)-\(tag)-featuremaps.png")
    try PictureFile.write(picture.image, to: mapsPath)
    Terminal.say("wrote \(inputPath)")
    Terminal.say("wrote \(mapsPath)")
    if overlay {
      let strongest = strongest ?? FeatureMaps.strongestChannel(maps)
      let blended = FeatureMaps.overlay(
        photo: photo, maps: maps, channel: strongest, colorMap: colormap)
      let overlayPath = Path.join(output, "\(base)-\(tag)-overlay.png")
      try PictureFile.write(
        Canvas.row([blended], title: "map \(strongest) (strongest) over the photo"), to: overlayPath
      )
      Terminal.say("wrote \(overlayPath)")
    }
  }
}
