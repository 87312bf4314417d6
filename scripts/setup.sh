#!/usr/bin/env bash
# Installs the Debian packages convviz builds against. Needs root (or sudo).
# Swift 6 itself must already be on PATH (https://www.swift.org/install/linux/).
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  pkg-config libpng-dev libjpeg-dev zlib1g-dev libisal-dev libopenblas-dev libhdf5-dev libdnnl-dev >/dev/null
# ONNX's own node tests (model.onnx + tensor .pb files) that the ONNX reader
# is tested on; the tests skip with a message when they are missing.
$SUDO apt-get install -y -qq --no-install-recommends libonnx-testdata >/dev/null
command -v swift >/dev/null || { echo "setup: swift is not on PATH; install Swift 6 first" >&2; exit 1; }
