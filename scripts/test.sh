#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, release build + every test, then the ASan+UBSan
# build + every test except the slow interop/benchmark-like ones.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
(cd build/release && ctest --output-on-failure -j2 --timeout 600)
scripts/build.sh asan
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j2 --timeout 900 -LE interop)
echo "all tests passed"
