#!/usr/bin/env bash
# Regenerates Sources/ModelFormats/ONNX/onnx.pb.swift from onnx.proto beside
# it. Run after editing the .proto; the generated file is committed, so
# neither protoc nor the plugin is part of the build.
#   bash scripts/generate-onnx-proto.sh
# Needs Debian's protobuf-compiler (protoc) and protoc-gen-swift from
# apple/swift-protobuf at the version Package.swift resolves; the plugin is
# built here from a clone of that tag (about 10 minutes on 2 cores) unless
# PROTOC_GEN_SWIFT names one already built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=1.39.0
command -v protoc >/dev/null ||
  { echo "generate-onnx-proto: protoc missing (apt-get install protobuf-compiler)" >&2; exit 1; }
plugin=${PROTOC_GEN_SWIFT:-}
if [ -z "$plugin" ]; then
  work=${TMPDIR:-/tmp}/convviz-swift-protobuf-$version
  if [ ! -d "$work" ]; then
    git clone -q --branch "$version" https://github.com/apple/swift-protobuf "$work"
  fi
  (cd "$work" && swift build -c release --product protoc-gen-swift >&2)
  plugin=$work/.build/release/protoc-gen-swift
fi
folder=Sources/ModelFormats/ONNX
cd "$root"
# Internal visibility: the generated messages are ModelFormats' business;
# its public API is ONNXModel.
protoc --plugin=protoc-gen-swift="$plugin" --proto_path="$folder" \
  --swift_opt=Visibility=Internal --swift_out="$folder" "$folder/onnx.proto"
echo "generate-onnx-proto: wrote $folder/onnx.pb.swift" >&2
