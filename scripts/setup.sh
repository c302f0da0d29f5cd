#!/usr/bin/env bash
# Installs what posthorn needs to build and test on Debian 12, only where missing. Idempotent.
#   scripts/setup.sh            build + test dependencies, and the browser demo page (web/dist)
#   scripts/setup.sh --build    build dependencies only
#   scripts/setup.sh --web      build dependencies, and what `posthorn demo --browser` needs:
#                               Chromium, Node.js and the page (web/dist)
set -euo pipefail

mode="${1:-}"
case "$mode" in
  "" | --build | --web) ;;
  *) echo "usage: scripts/setup.sh [--build | --web]" >&2; exit 2 ;;
esac

build_pkgs=(build-essential cmake ninja-build ccache pkg-config libssl-dev libusrsctp-dev
            libsrtp2-dev libboost1.81-dev libsecp256k1-dev nlohmann-json3-dev libcli11-dev
            libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev)
test_pkgs=(clang libclang-rt-14-dev iproute2 nftables mosquitto coturn chromium)
# Node.js may come from elsewhere (e.g. NodeSource's nodejs, which bundles npm and conflicts with
# Debian's npm package): install Debian's only when the commands are missing.
node_pkgs=()
if ! { command -v node && command -v npm; } >/dev/null; then
  node_pkgs=(nodejs npm)
fi

want=("${build_pkgs[@]}")
case "$mode" in
  --build) ;;
  --web) want+=(chromium "${node_pkgs[@]}") ;;
  *) want+=("${test_pkgs[@]}" "${node_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#want[@]} packages present"
fi

# The interop tests' npm packages (Trystero, node-datachannel, playwright-core, …).
if [[ -z "$mode" ]]; then
  bash "$(dirname "$0")/setup-node.sh"
fi
# The browser demo page: its npm packages and web/dist.
if [[ "$mode" != "--build" ]]; then
  bash "$(dirname "$0")/setup-web.sh"
fi
