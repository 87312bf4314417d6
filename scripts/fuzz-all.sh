#!/usr/bin/env bash
# Builds every libFuzzer target, then runs each for SECONDS (default 600),
# JOBS at a time (default 1), and prints one line per target: how long it
# ran, how many inputs it executed, its peak memory, and whether it ended
# clean. Exits 1 when any target found a crash, leak, timeout or oversized
# allocation. Logs go to .build-fuzz/logs/TARGET.log.
#   scripts/fuzz-all.sh 600 2      (the long runs quoted in docs/robustness.md)
#   scripts/fuzz-all.sh 30 2       (.ci/run's time box)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
jobs=${2:-1}
targets="png jpeg pnm model-file idx cifar image-folder kernel-spec model-spec onnx keras"
# FUZZ_TARGETS overrides the list. .ci/run leaves out keras until libhdf5's unbounded
# allocations on corrupt files are bounded (Fuzz/libhdf5-hangs/README.md).
targets=${FUZZ_TARGETS:-$targets}
logs="$root/.build-fuzz/logs"
mkdir -p "$logs"
bash "$root/scripts/fuzz.sh" --build-only all >"$logs/build.log" 2>&1 ||
  { echo "fuzz-all: building the targets failed, see $logs/build.log" >&2; exit 1; }
results="$logs/results.txt"
: >"$results"

run_one() {
  local target=$1 log="$logs/$1.log" start status
  start=$(date +%s)
  bash "$root/scripts/fuzz.sh" --no-build "$target" "$seconds" >"$log" 2>&1
  status=$?
  local execs peak result
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  if [ "$status" = 0 ]; then result=clean; else result="FAILED (exit $status, see $log)"; fi
  printf '%-13s %5ss %12s execs  peak %5s MB  %s\n' "$target" "$(( $(date +%s) - start ))" \
    "${execs:-?}" "${peak:-?}" "$result" | tee -a "$results"
  # A CI machine's log is gone when the run ends: show why it failed.
  if [ "$status" != 0 ]; then
    { echo "---- $target: the end of $log ----"; grep -m1 'INFO: Seed:' "$log"
      grep -v -E '^#[0-9]+' "$log" | tail -40
      echo "---- end of $target ----"; } >&2
  fi
}

running=0
for target in $targets; do
  run_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
! grep -q FAILED "$results"
