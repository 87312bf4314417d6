#!/usr/bin/env bash
# The main job on the bundled samples: installs what convviz needs, builds it
# in release mode, and writes every kind of output into output/.
#   bash scripts/demo.sh            # full run (trains the MNIST CNN for 8 epochs)
#   EPOCHS=1 bash scripts/demo.sh   # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --static-swift-stdlib
convviz() { .build/release/convviz "$@"; }
mkdir -p output

echo "== the seed's example: MNIST training image 3, blur and edges (26×26 each)"
convviz filter --kernel blur --kernel edges "mnist:data/mnist/train-images-idx3-ubyte.gz#3"

echo "== hand-designed kernels on every bundled photo"
convviz filter --kernel edges --kernel sobel --kernel emboss --padding same --border reflect samples/
convviz filter --kernel gaussian --sigma 3 --padding same --border reflect samples/astronaut.png

echo "== train the seed's MNIST CNN (batch 100, Adadelta, validation split 0.1)"
convviz train --model mnist-cnn --data data/mnist --epochs "${EPOCHS:-8}" --batch-size 100 \
  --validation-split 0.1 --optimizer adadelta --seed 0 -o output/model.bin --overwrite

echo "== what it learned: first-layer filters, every weight as .npy"
convviz dump-weights output/model.bin

echo "== what the learned filters highlight in a photo"
convviz featuremaps output/model.bin samples/camera.png --overlay

echo "== the seed's Theano example: random 3x3x3 filters and a sigmoid on the astronaut"
convviz featuremaps --random 16 --activation sigmoid --seed 0 samples/astronaut.png

echo "== a self-contained HTML report"
convviz report output/model.bin --data data/mnist --limit 2000
echo "done: open output/report.html"
