#!/usr/bin/env bash
# The main job on the bundled samples: installs what convviz needs, builds it
# in release mode, and writes every kind of output into output/.
#   bash scripts/demo.sh            # full run (trains the MNIST CNN for 8 epochs)
#   EPOCHS=1 bash scripts/demo.sh   # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
convviz() { .build/release/convviz "$@"; }
mkdir -p output

echo "== the seed's example: MNIST training image 3, blur and edges (26×26 each)"
convviz filter --kernel blur --kernel edges "mnist:data/mnist/train-images-idx3-ubyte.gz#3"

echo "== hand-designed kernels on every bundled photo"
convviz filter --kernel edges --kernel sobel --kernel emboss --padding same --border reflect samples/
convviz filter --kernel gaussian --sigma 3 --padding same --border reflect samples/astronaut.png
