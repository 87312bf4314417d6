#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS (default 60):
#   scripts/fuzz.sh png 600
#   scripts/fuzz.sh --build-only png     (build, do not run)
#   scripts/fuzz.sh --build-only all     (build every target in one go)
#   scripts/fuzz.sh --no-build png 600   (run what --build-only built)
# FUZZ_SEED=N in the environment fixes libFuzzer's seed (.ci/run uses 1).
# Targets: png jpeg pnm model-file idx cifar image-folder kernel-spec model-spec onnx keras.
# Seeds come from Fuzz/corpus/TARGET; the growing corpus lives in
# .build-fuzz/corpus/TARGET; crashing inputs land in Fuzz/crashes/TARGET/
# (copy each into Tests/FuzzRegressions/ once fixed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
targets="png jpeg pnm model-file idx cifar image-folder kernel-spec model-spec onnx keras"
build=1
run=1
case "${1:-}" in
  --build-only) run=0; shift ;;
  --no-build) build=0; shift ;;
esac
target=${1:-}
seconds=${2:-60}
if [ "$target" = all ] && [ "$build" = 1 ] && [ "$run" = 0 ]; then
  :
elif [ -z "$target" ] || ! [[ " $targets " == *" $target "* ]]; then
  echo "usage: scripts/fuzz.sh TARGET [SECONDS]; targets: $targets" >&2
  exit 64
fi

cd "$root/Fuzz"
mkdir -p .deps
ln -sfn "$root" .deps/convviz
# Each target is a shared library exporting LLVMFuzzerTestOneInput, built
# with coverage instrumentation; clang then links it into an executable with
# libFuzzer's own main (SwiftPM executables bring a main of their own).
# SwiftPM does not notice files added to a dependency reached through a
# symlink; forget the build plan so it is made anew from the current tree.
products="$root/.build-fuzz/release"
if [ "$build" = 1 ]; then
  rm -f "$root/.build-fuzz/release.yaml" "$root/.build-fuzz"/*/release/description.json
  product=(--product "fuzz-$target")
  linked=$target
  if [ "$target" = all ]; then product=(); linked=$targets; fi
  swift build -c release "${product[@]}" --scratch-path "$root/.build-fuzz" \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address >&2
  for one in $linked; do
    clang -fsanitize=fuzzer,address -x c /dev/null -o "$products/run-fuzz-$one" \
      -L"$products" -l"fuzz-$one" -Wl,-rpath,"$products" >&2
  done
fi
[ "$run" = 1 ] || exit 0

# libhdf5 1.10 leaks a few hundred bytes on some corrupt object headers
# (Tests/FuzzRegressions/keras/); one model per process makes that harmless,
# so the keras target looks for crashes, hangs and big allocations only
# (leak checks off during the run and at exit). Its inputs that loop libhdf5
# end after 10 s (the child process's limit), so it gets 30 s an input.
extra=()
# FUZZ_SEED fixes libFuzzer's random seed: the same corpus then gives the same
# inputs in the same order, so a failure CI saw can be replayed here.
if [ -n "${FUZZ_SEED:-}" ]; then extra+=(-seed="$FUZZ_SEED"); fi
if [ "$target" = keras ]; then
  extra+=(-detect_leaks=0 -timeout=30)
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
work="$root/.build-fuzz/corpus/$target"
mkdir -p "$work" "crashes/$target"
"$products/run-fuzz-$target" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
  -print_final_stats=1 -artifact_prefix="crashes/$target/" "${extra[@]}" \
  "$work" "corpus/$target"
