#!/usr/bin/env bash
# CPU run of the generative recommender on a real dataset (../shared/data) within a fixed
# budget: a reduced model and a fixed number of epochs (a paper-size run is ~60 TFLOP of
# executed matmuls per epoch on Beauty: a GPU job, see scripts/run_recommender_gpu.sh).
#
#   scripts/run_recommender_cpu.sh DATASET [CODES] [RUN_DIR]
#
#   DATASET  Beauty | Instruments (reads $DATA_ROOT/DATASET, default DATA_ROOT=../shared/data;
#            settings from configs/<dataset>.json)
#   CODES    item codes: index.json or codes.npy (default: the official LETTER codes
#            $DATA_ROOT/DATASET/DATASET.index.json; pass the codes.json of
#            `letter train-tokenizer` to run with our own codes)
#   RUN_DIR  default runs/rec-cpu-DATASET-<codes file name>
#
# Budget knobs (environment): ARCH (t5 | causal_t5 | decoder, default t5), SIZE (small |
# paper, default small), EPOCHS (default 6), SOFTMAX (level | all, default level),
# THREADS (default 1), VALID_USERS (validation users for early stopping, default 2000),
# BATCH (default 256), LR (default 2e-3), WARMUP (warm-up share, default 0.01), DROPOUT
# (default 0.1), PATIENCE (default 3), EXTRA (more --set arguments), LETTER_BIN (build/letter).
# SIZE small: 2+2 layers, d_model 64, 4 heads x 16, d_ff 256, tau 0.7 (~24 MFLOP per
# training sample instead of the paper model's ~470); SIZE paper: configs/<dataset>.json's
# model (4+4 layers, d_model 128, 6 heads x 64, d_ff 1024).
# Re-running with the same RUN_DIR resumes an interrupted training (--resume).
set -euo pipefail
cd "$(dirname "$0")/.."
DS=${1:?usage: scripts/run_recommender_cpu.sh Beauty|Instruments [CODES] [RUN_DIR]}
DATA_ROOT=${DATA_ROOT:-../shared/data}
CODES=${2:-$DATA_ROOT/$DS/$DS.index.json}
RUN=${3:-runs/rec-cpu-$DS-$(basename "$CODES" | sed 's/\.[^.]*$//')}
CFG=configs/$(echo "$DS" | tr '[:upper:]' '[:lower:]').json
EPOCHS=${EPOCHS:-6}
SOFTMAX=${SOFTMAX:-level}
THREADS=${THREADS:-1}
VALID_USERS=${VALID_USERS:-2000}
BATCH=${BATCH:-256}
LR=${LR:-2e-3}
BIN=${LETTER_BIN:-build/letter}  # a copy of the binary keeps long runs safe from rebuilds
[ -x "$BIN" ] || { echo "build first: cmake -S . -B build && cmake --build build -j" >&2; exit 1; }
[ -f "$CFG" ] || { echo "no config $CFG" >&2; exit 1; }
SETS=(--set "data.path=$DATA_ROOT/$DS" --set "recommender.codes=$CODES"
      --set "recommender.arch=${ARCH:-t5}" --set "recommender.epochs=$EPOCHS"
      --set "recommender.batch_size=$BATCH" --set "recommender.lr=$LR"
      --set "recommender.warmup_ratio=${WARMUP:-0.01}" --set "recommender.dropout=${DROPOUT:-0.1}"
      --set "recommender.softmax=$SOFTMAX" --set "recommender.valid_users=$VALID_USERS"
      --set "recommender.patience=${PATIENCE:-3}" --set eval.batch_size=256)
case "${SIZE:-small}" in
  small) SETS+=(--set recommender.encoder_layers=2 --set recommender.decoder_layers=2
                --set recommender.d_model=64 --set recommender.heads=4 --set recommender.d_kv=16
                --set recommender.d_ff=256) ;;
  paper) ;;
  *) echo "SIZE must be small or paper" >&2; exit 2 ;;
esac
# shellcheck disable=SC2206
[ -n "${EXTRA:-}" ] && SETS+=($EXTRA)
RESUME=()
[ -f "$RUN/recommender.last.pt" ] && RESUME=(--resume)
mkdir -p "$RUN"
echo "== $(date -u +%FT%TZ) train-recommender $DS codes=$CODES run=$RUN load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -v "$BIN" train-recommender --config "$CFG" --out "$RUN" --threads "$THREADS" \
  "${SETS[@]}" "${RESUME[@]}" 2> >(tee "$RUN/train.log" >&2)
echo "== $(date -u +%FT%TZ) evaluate (test, beam 20, all users) load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -v "$BIN" evaluate --out "$RUN" --threads "$THREADS" 2> >(tee "$RUN/evaluate.log" >&2) \
  | tee "$RUN/metrics.txt"
