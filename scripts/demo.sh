#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds posthorn and runs the main job: `posthorn demo`.
#   scripts/demo.sh [--browser] [demo flags]   --browser also sets up Chromium and the page
set -euo pipefail
cd "$(dirname "$0")/.."
setup_mode=--build
for arg in "$@"; do
  if [[ "$arg" == "--browser" ]]; then setup_mode=--web; fi
done
scripts/setup.sh "$setup_mode"
scripts/build.sh release
exec build/release/src/cli/posthorn demo "$@"
