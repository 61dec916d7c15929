#!/usr/bin/env python3
"""Side-by-side summary of `letter train-tokenizer` runs, from their stats.json.

    python3 scripts/tokenizer_runs.py RUN_DIR [RUN_DIR ...] [--history]

One Markdown row per run (or per `letter data import-codes --out` folder, e.g. the official
codes): method, preset, epochs, training seconds (init excluded) and
s/epoch, reconstruction MSE, collision rate before resolution (argmin codes), collisions
after, used codes per level (final codes), Table 4 overlap. With --history, also each run's
evaluations (epoch, elapsed training seconds, reconstruction MSE, collision rate, used codes
per level): the time-to-quality view used to compare schedules such as `--preset quick`
against `--preset paper`. A run still in training (no stats.json yet) contributes its
history.json (written at every evaluation). Standard library only.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import fmt, load_json, md_table  # noqa: E402


def used(levels):
    return "/".join(str(lv.get("used")) for lv in levels) if levels else None


def summary_row(name, s):
    tr = s.get("training", {})
    col = s.get("collisions", {})
    if not col.get("resolved", True):  # `letter data import-codes --out`: codes as given
        return [name, "imported", "—", None, None, None, None, fmt(col.get("collision_rate_before"), 5),
                f"{col.get('collisions_before')} (as given)", used(s.get("code_levels")),
                fmt(s.get("table4_overlap"), 4)]
    return [name, s.get("method"), s.get("preset") or "—", tr.get("epochs"), fmt(tr.get("train_seconds"), 1),
            fmt(tr.get("seconds_per_epoch"), 3), fmt(s.get("recon_mse"), 6),
            fmt(col.get("collision_rate_before"), 5), col.get("collisions_after"), used(s.get("code_levels")),
            fmt(s.get("table4_overlap"), 4)]


def history_rows(name, history):
    return [[name, h.get("epoch"), fmt(h.get("seconds"), 1), fmt(h.get("recon_mse"), 6),
             fmt(h.get("collision_rate"), 5), "/".join(str(u) for u in h.get("used", []))] for h in history]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="train-tokenizer --out folders")
    ap.add_argument("--history", action="store_true", help="also list every evaluation")
    a = ap.parse_args(argv)
    rows, hist = [], []
    for d in a.runs:
        if not os.path.isdir(d):
            raise SystemExit(f"error: {d} is not a folder (give train-tokenizer --out folders)")
        name = os.path.basename(os.path.normpath(d))
        s = load_json(os.path.join(d, "stats.json"))
        if s is not None:
            rows.append(summary_row(name, s))
            hist += history_rows(name, s.get("training", {}).get("history", []))
            continue
        h = load_json(os.path.join(d, "history.json"))
        if h is None:
            raise SystemExit(f"error: {d} has neither stats.json nor history.json; "
                             "is it a train-tokenizer --out folder?")
        rows.append([name + " (in training)", "", "", h[-1].get("epoch") if h else 0, "", "", "", "", "", "", ""])
        hist += history_rows(name, h)
    print(md_table(["run", "method", "preset", "epochs", "train s", "s/epoch", "recon MSE", "collision rate",
                    "collisions after", "used per level", "Table 4 overlap"], rows))
    if a.history and hist:
        print()
        print(md_table(["run", "epoch", "train s", "recon MSE", "collision rate", "used per level"], hist))


if __name__ == "__main__":
    main()
