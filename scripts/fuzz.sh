#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 60) on its corpus: FuzzTesting/Corpus/TARGET (kept
# in the repository) plus a working corpus under .build/fuzz-corpus. A crash, a failed property
# or an input slower than 10 s is written to FuzzTesting/FailCases/TARGET/, where `make test`
# replays it from then on. With MERGE=1, new inputs that add coverage are merged into the
# repository's corpus afterwards.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzConfig FuzzCalendar FuzzTimeInput FuzzRequest)
bin=FuzzTesting/.build/debug
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
found=0
summary=()
for target in "${targets[@]}"; do
  work=.build/fuzz-corpus/$target
  mkdir -p "$work" "FuzzTesting/FailCases/$target"
  before=$(ls "FuzzTesting/FailCases/$target" | wc -l)
  log=.build/fuzz-corpus/$target.log
  echo "== $target: $seconds s"
  "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="FuzzTesting/FailCases/$target/" "$work" "FuzzTesting/Corpus/$target" >"$log" 2>&1
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  after=$(ls "FuzzTesting/FailCases/$target" | wc -l)
  new=$((after - before))
  summary+=("$target: ${runs:-?} executions, ${cov:-cov: ?}, $new new finding(s), exit $status")
  if [ "$new" -gt 0 ] || [ "$status" -ne 0 ]; then found=1; tail -30 "$log"; fi
  if [ "${MERGE:-0}" = 1 ]; then
    "$bin/$target" -merge=1 "FuzzTesting/Corpus/$target" "$work" >/dev/null 2>&1
  fi
done
printf '%s\n' "${summary[@]}"
exit $found
