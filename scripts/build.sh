#!/usr/bin/env bash
# Configures and builds the server alone into build/ (what `strata serve`
# needs: no tests, no test-only crash points). A tree that scripts/test.sh
# configured with -DSTRATA_TESTING=ON keeps that setting.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build strata
