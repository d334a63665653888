#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into build-fuzz/ and runs
# each for a bounded time, starting from its seed corpus in
# fuzz/corpus/TARGET/ (new inputs go to build-fuzz/corpus/TARGET/, never
# into the repository). Prints, per target, the seconds it ran, the inputs
# it executed, the coverage it reached and what it found; exits non-zero
# when any target crashed, leaked, timed out or ran out of memory, naming
# the input that did it (under build-fuzz/artifacts/).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (default 60, all)
# FUZZ_JOBS targets run at once (default: the number of cores).
# FUZZ_BUILD_ONLY=1 builds the targets and runs none.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
jobs="${FUZZ_JOBS:-$(nproc)}"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DSTRATA_FUZZ=ON >/dev/null
ninja -C build-fuzz fuzz
if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then exit 0; fi
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for f in fuzz/*_fuzz.cc; do t="$(basename "$f" _fuzz.cc)"; targets+=("$t"); done
fi
mkdir -p build-fuzz/logs build-fuzz/artifacts
run_one() {
  local t="$1" seconds="$2"
  mkdir -p "build-fuzz/corpus/$t"
  local start end rc=0
  start="$(date +%s)"
  # -timeout: one input running longer is a finding; -rss_limit_mb: so is
  # memory past 2 GiB; -use_value_profile helps past byte comparisons.
  # Reports go to the target's log (whatever ASAN_OPTIONS the caller set).
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -use_value_profile=1 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/artifacts/${t}-" \
    "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"build-fuzz/logs/$t.log" 2>&1 || rc=$?
  end="$(date +%s)"
  echo "$rc $((end - start))" >"build-fuzz/logs/$t.result"
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$seconds"
failed=0
printf '%-14s %6s %10s %8s %8s  %s\n' target seconds runs cov ft found
for t in "${targets[@]}"; do
  read -r rc secs <"build-fuzz/logs/$t.result"
  log="build-fuzz/logs/$t.log"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  last="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  found=nothing
  if [ "$rc" -ne 0 ]; then
    failed=1
    found="$(grep -m1 -E '^==[0-9]+==ERROR|runtime error|ERROR: libFuzzer' "$log" || echo "exit $rc")"
    found="$found; input: $(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)"
  fi
  printf '%-14s %6s %10s %8s %8s  %s\n' "$t" "$secs" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$found"
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target failed; its log is in build-fuzz/logs/" >&2
  exit 1
fi
