#!/usr/bin/env bash
# Set up, then run the whole pipeline on the bundled dataset (data/tiny, configs/tiny.json):
#   data stats -> embed (weight-free tfidf) -> train-cf (SASRec) -> train-tokenizer (LETTER)
#   -> train-recommender -> evaluate (test) -> recommend (two example requests).
# Everything goes to one run directory (default runs/quickstart); each stage reads the
# previous stage's artifacts from it. A few minutes on a 2-core CPU.
#   scripts/quickstart.sh [RUN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
RUN=${1:-runs/quickstart}
L=build/letter
CFG=(--config configs/tiny.json --out "$RUN")
mkdir -p "$RUN"
step() { echo; echo "== $(date -u +%T) letter $*"; }

step data stats
$L data stats "${CFG[@]}"
step embed
$L embed "${CFG[@]}"
step train-cf
$L train-cf "${CFG[@]}"
step train-tokenizer
$L train-tokenizer "${CFG[@]}"
step train-recommender
$L train-recommender "${CFG[@]}"
step evaluate
$L evaluate --out "$RUN"
step recommend
printf '%s\n' '{"user": "0", "k": 5}' '{"items": [287, 405], "k": 5}' \
  | $L recommend --out "$RUN" --input -
echo
echo "quickstart: done; artifacts in $RUN (items.emb.npy, items.cf.npy, codes.json, recommender.pt, metrics.json)"
