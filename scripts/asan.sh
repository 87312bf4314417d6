#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer, in its own build folder.
# Leak detection is off: Foundation on Linux leaks when reading an empty file
# and XCTest keeps objects alive to the end, so every run would report leaks
# that are not convviz's.
#   scripts/asan.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}
swift test --sanitize=address --scratch-path .build-asan "$@"
