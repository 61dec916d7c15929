#!/usr/bin/env bash
# SASRec baselines of README "Collaborative embeddings (SASRec)": trains train-cf on Beauty and
# Instruments with the shipped configs (32-d, as LETTER's CF vectors) and evaluates the
# official LETTER Instruments vectors under the same protocol (last-item cosine retrieval,
# and a SASRec body trained on top of frozen vectors, ours and theirs).
#
#   scripts/train_cf_baselines.sh [DATA_DIR] [RUNS_DIR]
#
# DATA_DIR defaults to ../shared/data, RUNS_DIR to runs/cf. FROZEN=1 adds 2b (two more trainings). Extra letter flags can be passed
# through LETTER_FLAGS (e.g. LETTER_FLAGS="--threads 2 --device cuda").
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
RUNS=${2:-runs/cf}
FLAGS=${LETTER_FLAGS:-}
L=build/letter
OFFICIAL="$DATA/Instruments/Instruments.sasrec-cf-32d.npy"

run() {  # name, then letter arguments
  local name=$1
  shift
  mkdir -p "$RUNS/$name"
  echo "== $name: letter $*" >&2
  local t0=$SECONDS
  "$L" "$@" $FLAGS 2> "$RUNS/$name/log.txt" | tee "$RUNS/$name/table.txt"
  echo "   wall $((SECONDS - t0)) s, load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RUNS/$name/table.txt" >&2
}

# 1. The 32-d models (pipeline configs) on both datasets.
run beauty train-cf --config configs/beauty.json --set "data.path=$DATA/Beauty" --out "$RUNS/beauty"
run instruments train-cf --config configs/instruments.json --set "data.path=$DATA/Instruments" \
  --out "$RUNS/instruments"

# 2. Official LETTER Instruments vectors vs ours, same protocols.
#    a) last-item cosine retrieval (no sequence model; history excluded)
run official-knn train-cf --config configs/instruments.json --set "data.path=$DATA/Instruments" \
  --eval-vectors "$OFFICIAL" --out "$RUNS/official-knn"
run ours-knn train-cf --config configs/instruments.json --set "data.path=$DATA/Instruments" \
  --eval-vectors "$RUNS/instruments/items.cf.npy" --out "$RUNS/ours-knn"
#    b) a fresh SASRec body trained on the frozen vectors (same settings as 1.; two more
#       trainings, skipped unless FROZEN=1)
[ "${FROZEN:-0}" = 1 ] || exit 0
run official-frozen train-cf --config configs/instruments.json --set "data.path=$DATA/Instruments" \
  --set "cf.init_items=$OFFICIAL" --set cf.freeze_items=true --out "$RUNS/official-frozen"
run ours-frozen train-cf --config configs/instruments.json --set "data.path=$DATA/Instruments" \
  --set "cf.init_items=$RUNS/instruments/items.cf.npy" --set cf.freeze_items=true \
  --out "$RUNS/ours-frozen"
