#!/usr/bin/env bash
# Set up (install what is missing, build Release), then run every test with CTest.
# Extra arguments go to ctest, e.g. scripts/test.sh -R Data
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
