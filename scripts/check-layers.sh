#!/usr/bin/env bash
# Fails when a lower layer includes an upper one (DESIGN.md, "Layers").
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
check() {  # dir, forbidden include prefixes...
  local dir="$1"; shift
  for f in "$@"; do
    if grep -rn "#include \"$f/" "src/$dir" 2>/dev/null; then
      echo "layer violation: src/$dir must not include $f/"; bad=1
    fi
  done
}
check fs ns auth http api dfs tier server
check ns auth http api dfs server
check tier http api dfs server
check auth ns http api dfs tier server
check http ns auth api dfs tier server
check api server
exit $bad
