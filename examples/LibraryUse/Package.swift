// swift-tools-version:6.0
// A separate package that uses convviz as a library: the README's
// "Use convviz as a library" example, built and run against this checkout
// by scripts/check-library-example.sh. In your own package, depend on
// convviz by URL instead of by path:
//   .package(url: "https://github.com/<owner>/convviz", branch: "main")
import PackageDescription

let package = Package(
  name: "LibraryUse",
  dependencies: [.package(name: "convviz", path: "../..")],
  targets: [
    .executableTarget(
      name: "LibraryUse",
      dependencies: [
        .product(name: "ImageCodecs", package: "convviz"),
        .product(name: "ImageFilters", package: "convviz"),
      ])
  ]
)
