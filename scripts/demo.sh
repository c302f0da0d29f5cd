#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds posthorn and runs the main job: `posthorn demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build
scripts/build.sh release
exec build/release/src/cli/posthorn demo "$@"
