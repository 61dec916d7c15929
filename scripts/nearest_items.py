#!/usr/bin/env python3
"""Sanity check of item embeddings: the nearest neighbours (cosine) of a few items, with
their titles. Standard library only (reads float32 C-order .npy files itself).

    python3 scripts/nearest_items.py runs/beauty-embed-minilm/items.emb.npy \
        ../shared/data/Beauty/Beauty.item.json --items 0,1000,5000 --k 5
"""
import argparse
import ast
import array
import html
import json
import math
import sys


def read_npy_f32(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    major = data[6]
    hlen = int.from_bytes(data[8:10], "little") if major == 1 else int.from_bytes(data[8:12], "little")
    start = 10 if major == 1 else 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"] or len(header["shape"]) != 2:
        sys.exit(f"{path}: expected a 2-D little-endian float32 C-order array, got {header}")
    n, d = header["shape"]
    a = array.array("f")
    a.frombytes(data[start + hlen:start + hlen + 4 * n * d])
    return [a[i * d:(i + 1) * d] for i in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("emb", help="items.emb.npy (row i = item i)")
    ap.add_argument("items_json", help="<name>.item.json with titles")
    ap.add_argument("--items", default="0,1000,5000,9000,12000", help="comma-separated item ids")
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    rows = read_npy_f32(args.emb)
    meta = json.load(open(args.items_json, encoding="utf-8"))
    norms = [math.sqrt(sum(x * x for x in r)) or 1.0 for r in rows]
    title = lambda i: html.unescape(meta.get(str(i), {}).get("title", "?"))[:90]
    for q in (int(s) for s in args.items.split(",")):
        qv, qn = rows[q], norms[q]
        sims = [(sum(a * b for a, b in zip(qv, r)) / (qn * n), i) for i, (r, n) in enumerate(zip(rows, norms)) if i != q]
        sims.sort(reverse=True)
        print(f"item {q}: {title(q)}")
        for s, i in sims[:args.k]:
            print(f"   {s:.3f}  {i:5d}  {title(i)}")


if __name__ == "__main__":
    main()
