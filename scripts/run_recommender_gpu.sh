#!/usr/bin/env bash
# Paper-size run of the generative recommender on one CUDA GPU: LETTER-TIGER's model and
# optimisation (algorithms.md c.1-c.4: 4+4 layers, d_model 128, 6 x 64 heads, d_ff 1024,
# AdamW 5e-4, batch 1024, up to 200 epochs, tau 0.7) with our early stopping on validation
# NDCG@10 (beam 20, patience 20) and bf16 autocast, on Beauty and Instruments with the
# official LETTER codes; then the test metrics and a GPU benchmark.
#
#   scripts/run_recommender_gpu.sh [DATASET...]        (default: Beauty Instruments)
#
# Builds build-gpu/ against the LibTorch of the local PyTorch (LibTorch 2.x + CUDA). Env:
#   DATA_ROOT (../shared/data), OUT (runs/gpu), EPOCHS (200), EVAL_EVERY (1), PATIENCE (20),
#   VALID_USERS (0 = all), CODES_<DATASET> (codes file, default the official index.json),
#   DEPS (folder with header-only CLI11/nlohmann/spdlog, for machines without those packages),
#   TIME_LIMIT (seconds per training run, default 3000; an interrupted run continues with
#   --resume when the script is started again).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_ROOT=${DATA_ROOT:-../shared/data}
OUT=${OUT:-runs/gpu}
EPOCHS=${EPOCHS:-200}
EVAL_EVERY=${EVAL_EVERY:-1}
PATIENCE=${PATIENCE:-20}
VALID_USERS=${VALID_USERS:-0}
TIME_LIMIT=${TIME_LIMIT:-3000}
DATASETS=("$@")
[ ${#DATASETS[@]} -gt 0 ] || DATASETS=(Beauty Instruments)
mkdir -p "$OUT"

if [ ! -x build-gpu/letter ]; then
  TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
    -DLETTER_BUILD_TESTS=OFF ${DEPS:+-DLETTER_HEADER_ONLY_DEPS=$DEPS}
  cmake --build build-gpu -j"$(nproc)" --target letter bench_rec
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"

build-gpu/bench_rec --data "$DATA_ROOT/Beauty" --codes "$DATA_ROOT/Beauty/Beauty.index.json" \
  --device cuda --steps 50 --batch 1024 --users 4096 --beam 20 | tee "$OUT/bench_rec_gpu.json"

for DS in "${DATASETS[@]}"; do
  LOWER=$(echo "$DS" | tr '[:upper:]' '[:lower:]')
  CODES_VAR=CODES_$DS
  CODES=${!CODES_VAR:-$DATA_ROOT/$DS/$DS.index.json}
  RUN=$OUT/$DS
  RESUME=()
  [ -f "$RUN/recommender.last.pt" ] && RESUME=(--resume)
  echo "== $(date -u +%FT%TZ) train-recommender $DS ($CODES)"
  timeout "$TIME_LIMIT" build-gpu/letter train-recommender --config "configs/$LOWER.json" --device cuda \
    --out "$RUN" --set "data.path=$DATA_ROOT/$DS" --set "recommender.codes=$CODES" \
    --set "recommender.epochs=$EPOCHS" --set "recommender.eval_every=$EVAL_EVERY" \
    --set "recommender.patience=$PATIENCE" --set "recommender.valid_users=$VALID_USERS" \
    --set eval.batch_size=1024 "${RESUME[@]}" 2>&1 | tee -a "$RUN.train.log" || {
      echo "training stopped (time limit?): start the script again to resume" >&2; exit 1; }
  echo "== $(date -u +%FT%TZ) evaluate $DS"
  build-gpu/letter evaluate --out "$RUN" --device cuda 2>&1 | tee "$RUN.metrics.txt"
done
