// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "convviz",
  products: [
    .executable(name: "convviz", targets: ["convviz"]),
    .library(name: "Files", targets: ["Files"]),
    .library(name: "ImageCodecs", targets: ["ImageCodecs"]),
    .library(name: "ImageFilters", targets: ["ImageFilters"]),
    .library(name: "Engine", targets: ["Engine"]),
    .library(name: "ModelFormats", targets: ["ModelFormats"]),
    .library(name: "Training", targets: ["Training"]),
    .library(name: "Datasets", targets: ["Datasets"]),
    .library(name: "Visualization", targets: ["Visualization"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
  ],
  targets: [
    // MARK: Public modules
    .executableTarget(
      name: "convviz",
      dependencies: [
        "ImageCodecs", "ImageFilters", "Engine", "ModelFormats", "Training", "Datasets",
        "Visualization", "Files",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .target(name: "Files"),
    .target(name: "ImageCodecs", dependencies: ["_CodecShims", "Files"]),
    .target(name: "Tensors", dependencies: ["COpenBLAS"]),
    .target(name: "ImageFilters", dependencies: ["_ConvKernels", "ImageCodecs", "Tensors", "Files"]),
    .target(name: "Engine", dependencies: ["Tensors", "_CNNKernels", "COpenBLAS"]),
    .target(name: "ModelFormats", dependencies: ["Engine", "Tensors", "Files"]),
    .target(
      name: "Training",
      dependencies: ["Engine", "ModelFormats", "Datasets", "Tensors", "_OptimizerKernels"]),
    .target(name: "Datasets", dependencies: ["Files", "ImageCodecs", "Tensors", "CZlib"]),
    .target(
      name: "Visualization",
      dependencies: [
        "Engine", "ModelFormats", "Training", "Datasets", "Tensors", "ImageCodecs", "Files",
      ]),

    // MARK: Implementation details
    .systemLibrary(
      name: "CLibPNG", pkgConfig: "libpng16",
      providers: [.apt(["libpng-dev"])]),
    .systemLibrary(
      name: "CLibJPEG", pkgConfig: "libjpeg",
      providers: [.apt(["libjpeg-dev"])]),
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(
      name: "COpenBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    .target(
      name: "_CodecShims", dependencies: ["CLibPNG", "CLibJPEG", "CZlib"],
      cSettings: [.unsafeFlags(["-O2"])]),
    .target(
      name: "_ConvKernels",
      cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
    .target(
      name: "_OptimizerKernels", dependencies: ["_CNNKernels"],
      cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
    .target(
      name: "_CNNKernels", dependencies: ["COpenBLAS"],
      cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),

    // MARK: Tests
    .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
    .testTarget(
      name: "ImageCodecsTests", dependencies: ["ImageCodecs", "Files"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ImageFiltersTests", dependencies: ["ImageFilters", "ImageCodecs", "Tensors"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "EngineTests", dependencies: ["Engine", "Tensors"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ModelFormatsTests", dependencies: ["ModelFormats", "Engine", "Tensors", "Training"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "TrainingTests",
      dependencies: ["Training", "ModelFormats", "Engine", "Datasets", "Tensors", "ImageCodecs"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "DatasetsTests", dependencies: ["Datasets", "Tensors", "ImageCodecs", "Files"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "VisualizationTests", dependencies: [
        "Visualization", "Engine", "ModelFormats", "Training", "Datasets", "Tensors",
        "ImageCodecs",
      ]),
    .testTarget(name: "FilesTests", dependencies: ["Files"]),
    .testTarget(name: "ConvvizCLITests", dependencies: ["convviz"]),
  ]
)
