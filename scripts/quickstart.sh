#!/usr/bin/env bash
# Set up, then run the main job on the bundled dataset (data/tiny) with configs/tiny.json.
# Stages that exist today: dataset statistics and conversion to LETTER's JSON layout.
# Artifacts go to runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
RUN=runs/quickstart
mkdir -p "$RUN"
echo "== letter data stats (configs/tiny.json)"
build/letter data stats --config configs/tiny.json --out "$RUN"
echo "== letter data convert data/tiny/tiny.csv -> $RUN/letter-format"
build/letter data convert data/tiny/tiny.csv --out "$RUN/letter-format"
echo "quickstart: done; artifacts in $RUN"
