#!/usr/bin/env bash
# Quick start, command 2: install, build, and run every test once, under
# AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/): the GoogleTest
# units (through CTest), each fuzz target of fuzz/ for a bounded time
# (scripts/fuzz.sh), then the integration tests with real clients against
# the sanitized server. Any sanitizer report fails the run. The optimized
# binary that serve.sh and bench/ run (build/, scripts/build.sh) is built
# too and its unit tests run, so an -O2-only miscompile of the coroutine
# code cannot hide behind the -O1 sanitizer build; with it, the integration
# suite runs once more through nginx in front of three gateways sharing one
# root. Prints how long each stage took.
#
# STRATA_FUZZ_SECONDS: seconds per fuzz target (default 20; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
stages=()
run_stage() {  # NAME COMMAND...: runs it and records its time
  local name="$1" start
  shift
  start="$(date +%s)"
  "$@"
  stages+=("$(printf '%-12s %5d s' "$name" "$(($(date +%s) - start))")")
}
report() {
  echo "test.sh stages:"
  printf '  %s\n' "${stages[@]}"
}
trap report EXIT

build_asan() {
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DSTRATA_SANITIZE=ON \
    -DSTRATA_TESTING=ON -DSTRATA_UNIT_SHARDS=4 >/dev/null
  ninja -C build-asan
}
# Every sanitized process (servers, probes, test binaries) writes its
# reports here, so a report from a server the tests merely stopped is not
# lost; the run fails when any exists.
san_dir="$PWD/build-asan/sanitizer"
export ASAN_OPTIONS="log_path=$san_dir/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$san_dir/ubsan:print_stacktrace=1:halt_on_error=1"
check_reports() {
  if compgen -G "$san_dir/*" >/dev/null; then
    echo "sanitizer reports:" >&2
    head -n 60 "$san_dir"/* >&2
    return 1
  fi
}
unit_tests() {
  (cd build-asan && ctest --output-on-failure -j2)
  check_reports
}
# Two pytest processes at once (the suite mostly waits on sockets, servers
# and Azurite): tests/integration in one, every other directory in the
# other; each picks free ports of its own. Both must pass.
integration_tests() {
  local a=0 b=0 log="$PWD/build-asan/pytest-integration.log"
  STRATA_BIN="$PWD/build-asan/strata" STRATA_SANITIZED=1 \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration >"$log" 2>&1 &
  local pid=$!
  STRATA_BIN="$PWD/build-asan/strata" STRATA_SANITIZED=1 \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/clients tests/cluster tests/crash \
    tests/node tests/tier || b=$?
  wait "$pid" || a=$?
  echo "tests/integration:"
  cat "$log"
  check_reports
  [ "$a" = 0 ] && [ "$b" = 0 ]
}

run_stage deps scripts/deps.sh test
run_stage layers scripts/check-layers.sh
run_stage build-asan build_asan
release_units() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_TESTING=ON >/dev/null
  ninja -C build
  (cd build && ctest --output-on-failure -j2)
}
# The integration suite again, through a load balancer in front of three
# gateways on one root (tests/cluster/cluster.py): each request of a client
# may reach another gateway. Modules that start servers of their own skip.
cluster_integration() {
  STRATA_CLUSTER=3 STRATA_BIN="$PWD/build/strata" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
}
rm -rf "$san_dir" && mkdir -p "$san_dir"
run_stage unit unit_tests
# The fuzz targets run one at a time beside the integration tests (which
# mostly wait on sockets, servers and Azurite): one core fuzzes while the
# suite runs, and the run fails if either does.
fuzz_pid=""
if [ "${STRATA_FUZZ_SECONDS:-20}" != 0 ]; then
  run_stage fuzz-build env FUZZ_BUILD_ONLY=1 scripts/fuzz.sh
  fuzz_start="$(date +%s)"
  FUZZ_JOBS=1 scripts/fuzz.sh "${STRATA_FUZZ_SECONDS:-20}" >build-fuzz/fuzz-run.log 2>&1 &
  fuzz_pid=$!
fi
run_stage integration integration_tests
if [ -n "$fuzz_pid" ]; then
  fuzz_rc=0
  wait "$fuzz_pid" || fuzz_rc=$?
  cat build-fuzz/fuzz-run.log
  stages+=("$(printf '%-12s %5d s' "fuzz" "$(($(date +%s) - fuzz_start))") (beside integration)")
  [ "$fuzz_rc" = 0 ] || { echo "fuzzing found something (above)" >&2; exit 1; }
fi
run_stage release release_units
run_stage cluster cluster_integration
