#!/usr/bin/env bash
# Quick start, command 2: install, build, and run every test: the GoogleTest
# units (through CTest), then the integration tests with real clients.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
scripts/build.sh
scripts/check-layers.sh
(cd build && ctest --output-on-failure -j2)
export STRATA_BIN="$PWD/build/strata"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/
