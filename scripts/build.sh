#!/usr/bin/env bash
# Configures and builds one flavour of posthorn into build/<flavour>.
#   scripts/build.sh release   optimized, warnings are errors
#   scripts/build.sh asan      ASan + UBSan, for the sanitizer run of the test suite
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  # -g1: line tables only. Backtraces keep file:line, and the template-heavy TUs (Beast, Asio
  # coroutines) build ~20 % faster than with -g; debug with the asan flavour (-O0 -g).
  release) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOSTHORN_WERROR=ON
                  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
                  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG") ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DPOSTHORN_WERROR=ON -DPOSTHORN_SANITIZE=ON) ;;
  *) echo "unknown flavour $flavour" >&2; exit 2 ;;
esac
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
cmake -S . -B "build/$flavour" -G Ninja "${flags[@]}" >/dev/null
cmake --build "build/$flavour" -j2
