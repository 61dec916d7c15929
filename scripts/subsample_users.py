#!/usr/bin/env python3
"""Write a seeded random subset of a LETTER-format dataset's users, keeping every item id.

    scripts/subsample_users.py SRC_DIR OUT_DIR --users U [--seed S] [--name NAME]

SRC_DIR holds <NAME>.inter.json (LETTER layout: {"user": [item ids, chronological]}) and
optionally <NAME>.item.json; NAME defaults to SRC_DIR's folder name. OUT_DIR receives
<NAME>.inter.json with U users drawn without replacement (Python's random.Random(S);
users keep their original ids and sequences, in ascending id order) and <NAME>.item.json:
a symbolic link to the source file when there is one, else a file of empty text objects
for item ids 0..N-1 (N = 1 + the largest id of the FULL dataset). The catalog therefore
keeps all N ids, so item embeddings, CF vectors and codes of the full dataset still line
up row for row; load the subset with data.kcore=0 (a k-core filter would drop items that
no sampled user touched and renumber the rest). Also writes subsample.json (source,
seed, counts). Used by scripts/reproduce.sh --budget cpu (smaller training and test sets).
Python 3 standard library only; deterministic for a seed.
"""
import argparse
import json
import os
import random
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="dataset folder with <name>.inter.json")
    ap.add_argument("out", help="output folder (created)")
    ap.add_argument("--users", type=int, required=True, help="number of users to keep (>= 1)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--name", default="", help="file prefix (default: the folder name of SRC)")
    a = ap.parse_args(argv)
    name = a.name or os.path.basename(os.path.normpath(a.src))
    inter_path = os.path.join(a.src, name + ".inter.json")
    if not os.path.isfile(inter_path):
        sys.exit(f"error: {inter_path} not found (SRC must be a LETTER-format dataset folder)")
    if a.users < 1:
        sys.exit(f"error: --users must be >= 1, got {a.users}")
    with open(inter_path, encoding="utf-8") as f:
        inter = json.load(f)
    if not isinstance(inter, dict) or not inter:
        sys.exit(f"error: {inter_path}: expected a non-empty JSON object of user -> items")
    try:
        users = sorted(inter, key=int)
    except ValueError:
        sys.exit(f"error: {inter_path}: user ids must be integers (LETTER layout)")
    if a.users > len(users):
        sys.exit(f"error: --users {a.users} exceeds the {len(users)} users of {inter_path}")
    n_items = 1 + max(int(i) for s in inter.values() for i in s)
    chosen = sorted(random.Random(a.seed).sample(users, a.users), key=int)
    sub = {u: inter[u] for u in chosen}
    os.makedirs(a.out, exist_ok=True)
    out_inter = os.path.join(a.out, name + ".inter.json")
    tmp = out_inter + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(sub, f, indent=4)
    os.replace(tmp, out_inter)
    src_item = os.path.join(a.src, name + ".item.json")
    out_item = os.path.join(a.out, name + ".item.json")
    if os.path.lexists(out_item):
        os.remove(out_item)
    if os.path.isfile(src_item):
        os.symlink(os.path.abspath(src_item), out_item)
        item_source = src_item
    else:
        with open(out_item + ".tmp", "w", encoding="utf-8") as f:
            json.dump({str(i): {} for i in range(n_items)}, f)
        os.replace(out_item + ".tmp", out_item)
        item_source = "empty text objects for ids 0..%d" % (n_items - 1)
    touched = len({i for s in sub.values() for i in s})
    info = {
        "source": os.path.abspath(inter_path),
        "seed": a.seed,
        "users": a.users,
        "users_source": len(users),
        "items": n_items,
        "items_with_interactions": touched,
        "interactions": sum(len(s) for s in sub.values()),
        "train_samples": sum(max(len(s) - 3, 0) for s in sub.values()),
        "item_json": item_source,
    }
    with open(os.path.join(a.out, "subsample.json") + ".tmp", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    os.replace(os.path.join(a.out, "subsample.json") + ".tmp", os.path.join(a.out, "subsample.json"))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
