#!/usr/bin/env bash
# Copies the header-only dependencies (CLI11, nlohmann-json, spdlog, fmt) from this machine's
# Debian packages into .deps/headers/include, for building on a machine that cannot install
# packages (a lent GPU box): cmake -DLETTER_HEADER_ONLY_DEPS=$PWD/.deps/headers ...
# spdlog and fmt are then compiled header-only (SPDLOG_HEADER_ONLY, FMT_HEADER_ONLY).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
dest=.deps/headers/include
rm -rf .deps/headers
mkdir -p "$dest"
for d in CLI nlohmann spdlog fmt; do
  cp -r "/usr/include/$d" "$dest/"
done
du -sh .deps/headers
