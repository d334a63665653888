#!/usr/bin/env bash
# The side-by-side benchmark in one command: installs nginx-light, wrk and
# the test tools, builds strata, then runs bench/bench.py (pass --quick for
# a run of about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
missing=()
for p in nginx-light wrk curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  # Debian starts the packaged nginx; the benchmark runs its own.
  systemctl stop nginx 2>/dev/null || service nginx stop 2>/dev/null || true
fi
scripts/build.sh
exec /usr/bin/python3 bench/bench.py "$@"
