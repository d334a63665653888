#!/usr/bin/env bash
# Quick start, command 1: install, build, and serve ./data on port 10000 with
# the development account. Extra arguments go to `strata serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
scripts/build.sh
exec build/strata serve "$@"
