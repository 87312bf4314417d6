// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "convviz",
  products: [
    .executable(name: "convviz", targets: ["convviz"]),
    .library(name: "Files", targets: ["Files"]),
    .library(name: "ImageCodecs", targets: ["ImageCodecs"]),
    .library(name: "Convolution", targets: ["Convolution"]),
    .library(name: "CNN", targets: ["CNN"]),
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
        "ImageCodecs", "Convolution", "CNN", "Datasets", "Visualization", "Files",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .target(name: "Files"),
    .target(name: "ImageCodecs", dependencies: ["_CodecShims", "Files"]),
    .target(name: "Tensors", dependencies: ["COpenBLAS"]),
    .target(name: "Convolution", dependencies: ["_ConvKernels", "ImageCodecs"]),
    .target(name: "CNN", dependencies: ["Tensors", "_CNNKernels", "_OptimizerKernels", "COpenBLAS", "Files"]),
    .target(name: "Datasets", dependencies: ["Files", "ImageCodecs", "Tensors", "CZlib"]),
    .target(name: "Visualization", dependencies: ["CNN", "Tensors", "ImageCodecs", "Files"]),

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
    .testTarget(
      name: "ImageCodecsTests", dependencies: ["ImageCodecs", "Files"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ConvolutionTests", dependencies: ["Convolution", "ImageCodecs"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "CNNTests", dependencies: ["CNN", "Tensors"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "DatasetsTests", dependencies: ["Datasets", "Tensors", "ImageCodecs", "Files"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "VisualizationTests", dependencies: ["Visualization", "CNN", "Tensors", "ImageCodecs"]),
    .testTarget(name: "FilesTests", dependencies: ["Files"]),
    .testTarget(name: "ConvvizCLITests", dependencies: ["convviz"]),
  ]
)
