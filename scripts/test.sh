#!/usr/bin/env bash
# Set up (install what is missing, build Release), then run every test with CTest.
# Extra arguments go to ctest, e.g. scripts/test.sh -R Data
#
# scripts/test.sh --sanitize [ctest args]: the same tests on the AddressSanitizer +
# UndefinedBehaviorSanitizer build in build-san/ (clang; scripts/sanitize.sh); any finding
# fails the test that triggered it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  shift
  scripts/setup.sh --no-build
  source scripts/sanitize.sh
  configure_sanitize_build
  cmake --build "$SAN_BUILD" -j"$(nproc)"
  ctest --test-dir "$SAN_BUILD" --output-on-failure -j"$(nproc)" "$@"
  exit
fi
scripts/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
