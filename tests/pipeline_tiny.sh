#!/usr/bin/env bash
# End-to-end test of the quickstart's stages on the bundled data (data/tiny, configs/tiny.json)
# with shortened schedules: data stats -> embed -> train-cf -> train-tokenizer ->
# train-recommender -> evaluate -> recommend, then checks of every stage's artifacts
# (shapes, unique codes, metrics above the popularity baseline, recommendations).
# Run from the repository root: tests/pipeline_tiny.sh LETTER_BINARY
set -euo pipefail
L=${1:?usage: tests/pipeline_tiny.sh LETTER_BINARY}
RUN=$(mktemp -d)
trap 'rm -rf "$RUN"' EXIT
C=(--config configs/tiny.json --out "$RUN" --threads 2 --quiet)
"$L" data stats "${C[@]}" --json > "$RUN/stats.out.json"
"$L" embed "${C[@]}"
"$L" train-cf "${C[@]}" --set cf.epochs=8 > /dev/null
"$L" train-tokenizer "${C[@]}" --set tokenizer.epochs=60 --set tokenizer.eval_every=20 \
  --set tokenizer.kmeans_restarts=2 > /dev/null
"$L" train-recommender "${C[@]}" --set recommender.arch=decoder --set recommender.epochs=12
"$L" evaluate --out "$RUN" --threads 2 --quiet > /dev/null
printf '%s\n' '{"user": "0", "k": 5, "id": "a"}' '{"items": [287, 405], "k": 3}' '{"user": "nobody"}' \
  | "$L" recommend --out "$RUN" --input - --threads 2 --quiet > "$RUN/rec.jsonl"
python3 - "$RUN" <<'PY'
import ast, json, os, struct, sys
run = sys.argv[1]
def npy_shape(path):
    with open(path, "rb") as f:
        assert f.read(6) == b"\x93NUMPY", path
        major = f.read(2)[0]
        n = struct.unpack("<H" if major == 1 else "<I", f.read(2 if major == 1 else 4))[0]
        return ast.literal_eval(f.read(n).decode("latin1"))["shape"]
def check(cond, msg):
    if not cond:
        sys.exit(f"pipeline_tiny: {msg}")
stats = json.load(open(os.path.join(run, "stats.out.json")))
check(stats["users"] == 600 and stats["items"] == 407, f"data stats: {stats['users']} users, {stats['items']} items")
check(npy_shape(os.path.join(run, "items.emb.npy")) == (407, 64), "items.emb.npy is not (407, 64)")
check(npy_shape(os.path.join(run, "items.cf.npy")) == (407, 32), "items.cf.npy is not (407, 32)")
cf = json.load(open(os.path.join(run, "metrics.json")))  # train-cf's (evaluate rewrites it below)
codes = json.load(open(os.path.join(run, "codes.json")))
check(len(codes) == 407 and len({tuple(v) for v in codes.values()}) == 407, "codes.json: not 407 unique tuples")
check(npy_shape(os.path.join(run, "codes.npy"))[0] == 407, "codes.npy rows")
for f in ("tokenizer.pt", "stats.json", "code_freq.svg", "recommender.pt", "recommender.last.pt",
          "train_summary.json", "config.json"):
    check(os.path.isfile(os.path.join(run, f)), f"{f} missing")
m = json.load(open(os.path.join(run, "metrics.json")))
check(m.get("users") == 600 and m.get("split") == "test", "metrics.json is not the test evaluation")
r10, pop = m["metrics"]["recall@10"], m["baseline_popularity"]["recall@10"]
check(r10 > pop + 0.03, f"test recall@10 {r10:.4f} not above popularity {pop:.4f}")
lines = [json.loads(l) for l in open(os.path.join(run, "rec.jsonl"))]
check(len(lines) == 3, "recommend: not one answer per request")
check(lines[0]["id"] == "a" and len(lines[0]["recommendations"]) == 5, "recommend: user request")
check(len(lines[1]["recommendations"]) == 3, "recommend: items request")
check("error" in lines[2] and lines[2]["line"] == 3, "recommend: the unknown user must get an error line")
print(f"pipeline_tiny: ok (test recall@10 {r10:.4f}, popularity {pop:.4f})")
PY
