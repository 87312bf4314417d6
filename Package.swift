// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "convviz",
  products: [
    .executable(name: "convviz", targets: ["convviz"]),
    .library(name: "Files", targets: ["Files"]),
    .library(name: "ImageCodecs", targets: ["ImageCodecs"]),
    .library(name: "Tensors", targets: ["Tensors"]),
    .library(name: "ImageFilters", targets: ["ImageFilters"]),
    .library(name: "Engine", targets: ["Engine"]),
    .library(name: "ModelFormats", targets: ["ModelFormats"]),
    .library(name: "Training", targets: ["Training"]),
    .library(name: "Datasets", targets: ["Datasets"]),
    .library(name: "Visualization", targets: ["Visualization"]),
    .library(name: "Explain", targets: ["Explain"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // ONNX files: the generated messages in Sources/ModelFormats/ONNX need
    // only the runtime library; the protoc plugin is not part of the build
    // (scripts/generate-onnx-proto.sh).
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
  ],
  targets: [
    // MARK: Public modules
    .executableTarget(
      name: "convviz",
      dependencies: [
        "ImageCodecs", "ImageFilters", "Engine", "ModelFormats", "Training", "Datasets",
        "Visualization", "Explain", "Files", "_Runtime", "COpenBLAS", "_OpenBLAS",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .target(name: "Files"),
    .target(name: "ImageCodecs", dependencies: ["_CodecShims", "Files"]),
    .target(name: "Tensors", dependencies: ["Files"]),
    .target(
      name: "ImageFilters", dependencies: ["_FilterKernels", "ImageCodecs", "Tensors", "Files"]),
    .target(
      name: "Engine",
      dependencies: ["Tensors", "_CNNKernels", "_DNNLKernels", "COpenBLAS", "_OpenBLAS"]),
    .target(
      name: "ModelFormats",
      dependencies: [
        "Engine", "Tensors", "Files", "_HDF5Shims", "CZlib",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      exclude: ["ONNX/onnx.proto"]),
    .target(
      name: "Training",
      dependencies: [
        "Engine", "ModelFormats", "Datasets", "Tensors", "_OptimizerKernels", "_Runtime",
      ]),
    .target(name: "Datasets", dependencies: ["Files", "ImageCodecs", "Tensors", "CZlib"]),
    .target(
      name: "Explain",
      dependencies: ["Engine", "Training", "Datasets", "Tensors", "COpenBLAS", "_OpenBLAS"]),
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
    // Intel's ISA-L (igzip): the PNG encoder's deflate at the fast levels
    // and the PNG decoder's inflate.
    .systemLibrary(
      name: "CISAL", pkgConfig: "libisal",
      providers: [.apt(["libisal-dev"])]),
    // OpenBLAS's and libhdf5's headers only (Debian's libopenblas-dev and
    // libhdf5-dev, found without pkg-config): neither library is linked.
    // Each is opened when first used (_OpenBLAS, _HDF5Shims), so that
    // commands that need neither (filter, pool, the codecs) never load
    // them and their ~45 dependent libraries at start-up.
    .systemLibrary(name: "COpenBLAS"),
    // No unsafe compiler flags anywhere, so that every library product can be a
    // dependency of another package. Release builds optimise C as well;
    // what -fno-math-errno gave the kernels, they get from errno-free
    // builtins in their source, and AVX2 comes from target attributes
    // chosen at run time.
    .target(name: "_CodecShims", dependencies: ["CLibPNG", "CLibJPEG", "CZlib", "CISAL", "_Runtime"]),
    .target(name: "_Runtime"),
    .target(name: "_FilterKernels", dependencies: ["_Runtime"]),
    .target(name: "_OptimizerKernels", dependencies: ["_Runtime"]),
    .target(name: "_CNNKernels", dependencies: ["_Runtime", "COpenBLAS", "_OpenBLAS"]),
    // The OpenBLAS functions convviz calls, forwarding to libopenblas.so.0
    // opened at first use (see cvz_openblas.h).
    .target(name: "_OpenBLAS"),
    // Inference convolutions on oneDNN: built against Debian's libdnnl-dev
    // headers (in /usr/include; it installs no pkg-config file), and
    // libdnnl.so.2 opened at run time (see cvz_dnnl.h).
    .target(name: "_DNNLKernels", dependencies: ["_CNNKernels", "_Runtime"]),
    // Every libhdf5 call, for the Keras reader; libhdf5 is opened at first
    // use (see cvz_hdf5_shims.h).
    .target(name: "_HDF5Shims"),

    // MARK: Tests
    .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
    .testTarget(name: "RuntimeTests", dependencies: ["_Runtime"]),
    .testTarget(
      name: "ImageCodecsTests", dependencies: ["ImageCodecs", "Files", "CZlib", "_Runtime"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ImageFiltersTests",
      dependencies: ["ImageFilters", "ImageCodecs", "Tensors", "Engine", "_Runtime"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "EngineTests",
      dependencies: ["Engine", "Tensors", "_CNNKernels", "COpenBLAS", "_OpenBLAS", "_Runtime"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ModelFormatsTests", dependencies: ["ModelFormats", "Engine", "Tensors", "Training"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "TrainingTests",
      dependencies: [
        "Training", "ModelFormats", "Engine", "Datasets", "Tensors", "ImageCodecs", "_Runtime",
      ],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "DatasetsTests", dependencies: ["Datasets", "Tensors", "ImageCodecs", "Files"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "VisualizationTests",
      dependencies: [
        "Visualization", "Engine", "ModelFormats", "Training", "Datasets", "Tensors",
        "ImageCodecs",
      ]),
    .testTarget(name: "FilesTests", dependencies: ["Files"]),
    .testTarget(
      name: "ExplainTests", dependencies: ["Explain", "Engine", "Datasets", "Tensors"],
      resources: [.copy("Fixtures")]),
    .testTarget(name: "ConvvizCLITests", dependencies: ["convviz", "_Runtime"]),
  ]
)
