#!/usr/bin/env bash
# Runs every libFuzzer target one after another for SECONDS each (default
# 600) and prints one summary line per target: run length, executions, and
# whether it ended clean. Logs go to .build-fuzz/logs/TARGET.log.
#   scripts/fuzz-all.sh 600
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
targets="png jpeg model-file idx cifar image-folder kernel-spec model-spec"
mkdir -p "$root/.build-fuzz/logs"
summary=()
for target in $targets; do
  log="$root/.build-fuzz/logs/$target.log"
  start=$(date +%s)
  bash "$root/scripts/fuzz.sh" "$target" "$seconds" >"$log" 2>&1
  status=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  if [ "$status" = 0 ]; then result=clean; else result="FAILED (exit $status, see $log)"; fi
  line=$(printf '%-13s %5ss  %12s execs  peak %5s MB  %s' "$target" "$elapsed" "${execs:-?}" "${peak:-?}" "$result")
  echo "$line"
  summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
