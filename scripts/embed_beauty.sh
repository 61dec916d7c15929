#!/usr/bin/env bash
# Embeds the real Beauty item text (../shared/data/Beauty: title, brand, categories; no
# description there) with all-MiniLM-L6-v2 (384-d) and with TF-IDF + SVD (384-d).
# Outputs RUN_ROOT/beauty-embed-minilm/ and RUN_ROOT/beauty-embed-tfidf/, each with
# items.emb.npy (12,101 x 384 float32), items.emb.json (counts, timing) and config.json.
# Usage: scripts/embed_beauty.sh [DATA_DIR] [RUN_ROOT]   (defaults: ../shared/data/Beauty runs)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/Beauty}
ROOT=${2:-runs}
[ -x build/letter ] || scripts/setup.sh
for enc in minilm tfidf; do
  out="$ROOT/beauty-embed-$enc"
  flags=()
  [ "$enc" = tfidf ] && flags=(--encoder tfidf --dim 384)
  echo "== letter embed $DATA (${enc}) -> $out"
  build/letter embed "$DATA" --config configs/beauty.json "${flags[@]}" --out "$out"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print('   ', {k: j[k] for k in ('encoder','items','dims','items_with_text','encode_seconds','items_per_s') if k in j})" "$out/items.emb.json"
done
