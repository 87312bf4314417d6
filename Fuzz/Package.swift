// swift-tools-version:6.0
// libFuzzer targets for convviz's parsers and decoders. Not part of the main
// build: scripts/fuzz.sh links `.deps/convviz` to the repository and builds
// one target with `-sanitize=fuzzer,address`.
import PackageDescription

let targets = [
  ("fuzz-png", ["ImageCodecs"]),
  ("fuzz-pnm", ["ImageCodecs"]),
  ("fuzz-jpeg", ["ImageCodecs"]),
  ("fuzz-model-file", ["ModelFormats"]),
  ("fuzz-idx", ["Datasets"]),
  ("fuzz-cifar", ["Datasets"]),
  ("fuzz-image-folder", ["Datasets"]),
  ("fuzz-kernel-spec", ["ImageFilters"]),
  ("fuzz-model-spec", ["ModelFormats"]),
  ("fuzz-onnx", ["ModelFormats"]),
  ("fuzz-keras", ["ModelFormats"]),
]

let package = Package(
  name: "convviz-fuzz",
  products: targets.map { name, _ in .library(name: name, type: .dynamic, targets: [name]) },
  dependencies: [.package(path: ".deps/convviz")],
  targets: [
    .target(
      name: "FuzzSupport", dependencies: [.product(name: "ImageCodecs", package: "convviz")],
      path: "Sources/FuzzSupport")
  ]
    + targets.map { name, products in
      .target(
        name: name,
        dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: "convviz") },
        path: "Sources/\(name)")
    }
)
