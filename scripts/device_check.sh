#!/usr/bin/env bash
# One prepared check for a lent GPU machine (an NVIDIA H200 with PyTorch/LibTorch 2.x + CUDA,
# CMake, ninja, nvcc; no network, no apt; see the `device` tool's README): build against the
# machine's LibTorch, run the tests, the GPU benchmarks and `reproduce.sh Beauty --budget gpu`
# under a deadline, and copy the results into $OUT. Two steps:
#
#   1. here (the CPU machine), once:   scripts/device_check.sh --prepare
#      fills .deps/device/ (git-ignored, about 35 MiB): header-only CLI11/nlohmann-json/spdlog/fmt,
#      utf8proc (header + static library), GoogleTest's sources (/usr/src/googletest), a
#      transport copy of the Beauty dataset and its MiniLM item embeddings (EMB_NPY, default
#      /work/artifacts/beauty/items.emb.minilm.npy: the 88 MiB MiniLM model itself is too big
#      to carry, so the GPU run imports the embeddings with embed.from_npy).
#   2. on the device (tool `run`, carry [".deps/device"], timeout_s 590):
#        bash scripts/device_check.sh
#      Phases, each bounded by what is left of TOTAL seconds (default 540):
#        build (GoogleTest, then letter + tests + benchmarks, Release, ninja, all cores),
#        ctest (CPU unit tests against LibTorch 2.x: the tests have no device switch),
#        bench.sh --device cuda (cf, tokenizer_bf16, rec_small, rec_paper; embed needs the
#          MiniLM folder, kmeans is CPU-only, float32 tokenizer left out for time),
#        reproduce.sh Beauty --budget gpu (paper configuration; stops at the deadline, and the
#          report shows the stages that finished), then scripts/report.py.
#      Results in $OUT (at most 8 files come back): device_check.log (everything printed),
#      summary.json (phase, exit code, seconds), nvidia-smi.txt, bench.json, report.md,
#      results.tar.gz (run folder JSON/SVG/logs, ctest and build logs).
#
# Environment: TOTAL (seconds for all phases, default 540), OUT (default out/device-check),
# JOBS (build jobs, default nproc), PYTHON (python3).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "device_check.sh: error: $*" >&2; exit 2; }
cd "$(dirname "$0")/.."
DEP=.deps/device

prepare() {
  local emb=${EMB_NPY:-/work/artifacts/beauty/items.emb.minilm.npy}
  local data=${DATA_ROOT:-../shared/data}
  [ -f "$data/Beauty/Beauty.inter.json" ] || die "Beauty not found in $data (set DATA_ROOT)"
  [ -f "$emb" ] || die "no Beauty item embeddings at $emb (set EMB_NPY; make them with: build/letter embed ../shared/data/Beauty --out DIR)"
  for d in CLI nlohmann spdlog fmt; do
    [ -d "/usr/include/$d" ] || die "/usr/include/$d missing: run scripts/setup.sh --no-build first"
  done
  [ -f /usr/include/utf8proc.h ] && [ -f /usr/lib/x86_64-linux-gnu/libutf8proc.a ] ||
    die "utf8proc headers/static library missing (apt-get install libutf8proc-dev)"
  [ -f /usr/src/googletest/CMakeLists.txt ] || die "/usr/src/googletest missing (apt-get install googletest)"
  rm -rf "$DEP"
  mkdir -p "$DEP/headers/include" "$DEP/utf8proc/include" "$DEP/utf8proc/lib" "$DEP/data/Beauty"
  for d in CLI nlohmann spdlog fmt; do cp -r "/usr/include/$d" "$DEP/headers/include/"; done
  cp /usr/include/utf8proc.h "$DEP/utf8proc/include/"
  cp /usr/lib/x86_64-linux-gnu/libutf8proc.a "$DEP/utf8proc/lib/"
  cp -r /usr/src/googletest "$DEP/googletest"
  # Transport copy for the lent machine only (.deps is git-ignored; ../shared does not travel).
  cp "$data"/Beauty/Beauty.{inter,item,index}.json "$DEP/data/Beauty/"
  cp "$emb" "$DEP/data/Beauty.items.emb.npy"
  du -sh "$DEP"
  echo "prepared $DEP; now call the device tool: run(command='bash scripts/device_check.sh', carry=['$DEP'], timeout_s=590)"
}

# The build phase, run by the main part under `timeout` (a function cannot be).
build_phase() {
  local gt=/tmp/letter-gtest torch_prefix
  torch_prefix=$("${PYTHON:-python3}" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  if [ ! -f "$gt/lib/cmake/GTest/GTestConfig.cmake" ]; then
    echo "-- GoogleTest from $DEP/googletest"
    cmake -S "$DEP/googletest" -B /tmp/letter-gtest-build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_GMOCK=OFF -DCMAKE_INSTALL_PREFIX="$gt" > /tmp/letter-gtest.log 2>&1 &&
    cmake --build /tmp/letter-gtest-build -j "$JOBS" >> /tmp/letter-gtest.log 2>&1 &&
    cmake --install /tmp/letter-gtest-build >> /tmp/letter-gtest.log 2>&1 ||
      { tail -n 30 /tmp/letter-gtest.log; return 1; }
  fi
  echo "-- configure (LibTorch at $torch_prefix)"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$gt" \
    -DLETTER_HEADER_ONLY_DEPS="$(pwd)/$DEP/headers" \
    -DUTF8PROC_INCLUDE_DIR="$(pwd)/$DEP/utf8proc/include" \
    -DUTF8PROC_LIBRARY="$(pwd)/$DEP/utf8proc/lib/libutf8proc.a"
  echo "-- build ($JOBS jobs)"
  cmake --build build-gpu -j "$JOBS"
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --prepare) prepare; exit 0 ;;
  --build-phase) JOBS=${JOBS:-$(nproc)}; build_phase; exit $? ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

# ------------------------------------------------------------------------------------------
# On the device.
[ -d "$DEP/headers/include" ] || die "$DEP missing: run scripts/device_check.sh --prepare here and carry $DEP"
OUT=${OUT:-out/device-check}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TOTAL=${TOTAL:-540}
export JOBS=${JOBS:-$(nproc)}
PY=${PYTHON:-python3}
START=$SECONDS
RUN=runs/device-Beauty-gpu
exec > >(tee -a "$OUT/device_check.log") 2>&1
echo "device_check.sh $(date -u +%FT%TZ) on $(hostname), $(nproc) cores, TOTAL=$TOTAL s"

left() { echo $((TOTAL - (SECONDS - START))); }
SUMMARY=()
# phase NAME CAP LOGFILE -- command...: runs the command under timeout min(CAP, time left - 25 s),
# its output into LOGFILE and its last lines onto the console.
phase() {
  local name=$1 cap=$2 log=$3
  shift 4
  local l t rc=0 t0=$SECONDS
  l=$(left)
  t=$(( cap < l - 25 ? cap : l - 25 ))
  if [ "$t" -lt 10 ]; then
    echo "== $name: skipped (only $l s left)"
    SUMMARY+=("$name skipped 0")
    return 0
  fi
  echo "== $(date -u +%T) $name (limit $t s): $*"
  timeout --kill-after=5 "$t" "$@" > "$log" 2>&1 || rc=$?
  tail -n 25 "$log"
  echo "== $name: exit $rc after $((SECONDS - t0)) s$([ "$rc" = 124 ] && echo ' (time limit)')"
  SUMMARY+=("$name $rc $((SECONDS - t0))")
}

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/nvidia-smi.txt"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)' || true
LOGS=$(mktemp -d /tmp/letter-device-logs.XXXXXX)

phase build 300 "$LOGS/build.log" -- "$0" --build-phase
if [ -x build-gpu/letter ]; then
  phase ctest 90 "$LOGS/ctest.log" -- ctest --test-dir build-gpu --output-on-failure -j 8 --timeout 60
  phase bench 150 "$LOGS/bench.log" -- env BUILD_DIR=build-gpu DATA_ROOT="$DEP/data" BENCH_TIMEOUT=60 \
    scripts/bench.sh --device cuda --only cf,tokenizer_bf16,rec_small,rec_paper --out "$LOGS/bench/bench.json"
  phase reproduce 600 "$LOGS/reproduce.log" -- env LETTER_BIN=build-gpu/letter DATA_ROOT="$DEP/data" \
    EMB_NPY="$DEP/data/Beauty.items.emb.npy" scripts/reproduce.sh Beauty --budget gpu --run-dir "$RUN" --no-report
  # The report of whatever finished (the reproduce phase may have stopped at the deadline).
  if [ -f "$RUN/timings.json" ]; then
    "$PY" scripts/report.py "$RUN" > "$LOGS/report.log" 2>&1 || cat "$LOGS/report.log"
  fi
else
  echo "build failed (no build-gpu/letter): see build.log in results.tar.gz"
fi

# Results: at most 8 files come back.
if [ -f "$LOGS/bench/bench.json" ]; then cp "$LOGS/bench/bench.json" "$OUT/bench.json"; fi
if [ -f "$RUN/report.md" ]; then cp "$RUN/report.md" "$OUT/report.md"; fi
"$PY" - "$OUT/summary.json" "$TOTAL" "$((SECONDS - START))" "${SUMMARY[@]}" <<'PYEOF'
import json, sys
out, total, used, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
phases = {}
for r in rows:
    name, rc, secs = r.split()
    phases[name] = {"exit": rc, "seconds": int(secs)}
with open(out, "w") as f:
    json.dump({"total_limit_s": total, "used_s": used, "phases": phases}, f, indent=2)
PYEOF
tar_items=("$LOGS")
if [ -d "$RUN" ]; then tar_items+=("$RUN"); fi
tar -czf "$OUT/results.tar.gz" --exclude='*.pt' --exclude='*.npy' --exclude='codes.json' \
  --exclude='*.inter.json' "${tar_items[@]}" 2>/dev/null || true
ls -la "$OUT"
echo "device_check.sh: done in $((SECONDS - START)) s"
