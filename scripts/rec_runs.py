#!/usr/bin/env python3
"""Side-by-side summary of `letter train-recommender` runs, from their train_summary.json.

    python3 scripts/rec_runs.py RUN_DIR [RUN_DIR ...] [--history] [--svg FILE]
                                [--x minutes|epoch] [--metric ndcg|recall]

One Markdown row per run (a train-recommender --out folder): dataset, arch, layers
(encoder+decoder for t5 / causal_t5, decoder layers for decoder), d_model, lr, batch size,
dropout and epochs run / planned (from config.json), best epoch and its validation
Recall@10 / NDCG@10, minutes to the best epoch and total training minutes (training +
validation seconds of the epochs, summed: start-up and loading excluded), and, when
`letter evaluate --out RUN_DIR` wrote metrics.json, test Recall@10 / NDCG@10 with their 95%
bootstrap intervals, coverage@10 and the popular-10% share of the top-10 lists. A run without
train_summary.json (killed, or still in training) is read from its train.log (the per-epoch
`epoch=E/N ... train_s=... [valid_recall@10=... valid_ndcg@10=... eval_s=... best_epoch=...]`
lines; RUN_DIR.train.log of scripts/run_recommender_gpu.sh also works), and a line under the
table says so. With --history, also each run's evaluations (epoch, cumulative minutes, valid
Recall@10 / NDCG@10). With --svg FILE, one figure of every run's validation NDCG@10 (--metric
recall: Recall@10) against cumulative minutes (--x epoch: against epoch): the equal-wall-time
comparison. Standard library only.
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import COLORS, Panel, figure_svg, fmt, load_json, md_table, with_ci, write_text  # noqa: E402

# `[info] epoch=3/12 step=1581 loss=2.5359 lr=1.741e-03 samples/s=496 gflop/s=68.12 train_s=265.4
#  valid_recall@10=0.0995 valid_ndcg@10=0.0603 eval_s=24.9 best_epoch=3` (src/rec/trainer.cpp); the
# "cf epoch=" and tokenizer "epoch=" lines have no "/N".
EPOCH_RE = re.compile(r"(?:^|\s)epoch=(\d+)/(\d+)\s+(.*)$")
KV_RE = re.compile(r"(\S+?)=(\S+)")
LOG_KEYS = {"step": ("steps", int), "loss": ("loss", float), "lr": ("lr", float),
            "samples/s": ("samples_per_s", float), "gflop/s": ("gflops", float), "train_s": ("seconds", float),
            "valid_recall@10": ("valid_recall@10", float), "valid_ndcg@10": ("valid_ndcg@10", float),
            "eval_s": ("eval_seconds", float), "best_epoch": ("best_epoch", int)}
RESUME_RE = re.compile(r"resuming .* after epoch (\d+)")
START_RE = re.compile(r"train-recommender: arch \S+,.* (\d+) epochs,")
METRICS = {"ndcg": ("valid_ndcg@10", "NDCG@10"), "recall": ("valid_recall@10", "Recall@10")}
HEADER = ["run", "dataset", "arch", "layers", "d_model", "lr", "batch", "dropout", "epochs run / planned",
          "best epoch", "best valid R@10", "best valid N@10", "min to best", "train min",
          "test R@10 [95% CI]", "test N@10 [95% CI]", "coverage@10", "popular-10% share@10"]


def parse_train_log(lines):
    """Summary-shaped dict {"epochs", "best_epoch", "planned", "stopped_early", "finished"} from the
    lines of a train-recommender log. A `resuming ... after epoch N` line keeps epochs 1..N of the
    earlier attempt (appended logs); a fresh start (no resume) drops them; a repeated epoch keeps
    its last line."""
    epochs, planned, best, stopped, finished, resumed = {}, None, None, False, False, False
    for ln in lines:
        m = EPOCH_RE.search(ln)
        if m:
            e = {"epoch": int(m.group(1)), "evaluated": False}
            planned = int(m.group(2))
            for k, v in KV_RE.findall(m.group(3)):
                if k in LOG_KEYS:
                    key, conv = LOG_KEYS[k]
                    try:
                        e[key] = conv(v)
                    except ValueError:
                        pass
            e["evaluated"] = "valid_ndcg@10" in e
            if "best_epoch" in e:
                best = e.pop("best_epoch")
            epochs[e["epoch"]] = e
            continue
        m = RESUME_RE.search(ln)
        if m:
            epochs = {k: v for k, v in epochs.items() if k <= int(m.group(1))}
            resumed = True
            continue
        m = START_RE.search(ln)
        if m:
            if not resumed:
                epochs, best, stopped, finished = {}, None, False, False
            resumed = False
            planned = int(m.group(1))
        elif "early stop:" in ln:
            stopped = True
        elif "train-recommender: best epoch" in ln:
            finished = True
    eps = [epochs[k] for k in sorted(epochs)]
    if best is None:
        ev = [e for e in eps if e["evaluated"]]
        best = max(ev, key=lambda e: e["valid_ndcg@10"])["epoch"] if ev else None
    return {"epochs": eps, "best_epoch": best, "planned": planned, "stopped_early": stopped, "finished": finished}


def timeline(epochs):
    """[(epoch, cumulative minutes, epoch dict)]: training + validation seconds up to each epoch."""
    out, s = [], 0.0
    for e in sorted(epochs, key=lambda e: e.get("epoch", 0)):
        s += (e.get("seconds") or 0.0) + (e.get("eval_seconds") or 0.0)
        out.append((e.get("epoch"), s / 60.0, e))
    return out


def minutes_to(epochs, epoch):
    """Cumulative minutes (training + validation) up to and including `epoch`; None if absent."""
    return next((m for ep, m, _ in timeline(epochs) if ep == epoch), None) if epoch else None


def num(v):
    """Compact number: 0.002, 5e-05, 0.1; "—" when missing."""
    return "—" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


def ago(seconds):
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class RecRun:
    """What a train-recommender --out folder holds: summary (train_summary.json, or parsed
    train.log with from_log set), the recommender and data config, the test metrics.json."""

    def __init__(self, d):
        if not os.path.isdir(d):
            raise SystemExit(f"error: {d} is not a folder (give train-recommender --out folders)")
        self.dir = d
        self.name = os.path.basename(os.path.normpath(d))
        self.notes = []
        cfg = load_json(os.path.join(d, "config.json"))
        if cfg is None:  # a scripts/reproduce.sh rec-* stage folder
            cfg = (load_json(os.path.join(d, "train-recommender.resolved.json")) or {}).get("config", {})
        self.rec = cfg.get("recommender", {})
        self.data = cfg.get("data", {})
        self.metrics = load_json(os.path.join(d, "metrics.json"))
        self.summary = load_json(os.path.join(d, "train_summary.json"))
        self.from_log = self.summary is None
        if self.from_log:
            log = next((p for p in (os.path.join(d, "train.log"), os.path.normpath(d) + ".train.log")
                        if os.path.isfile(p)), None)
            if log is None:
                raise SystemExit(f"error: {d} has neither train_summary.json nor train.log; "
                                 "is it a train-recommender --out folder?")
            with open(log, encoding="utf-8", errors="replace") as f:
                self.summary = parse_train_log(f)
            age = ago(max(0.0, time.time() - os.path.getmtime(log)))
            n = len(self.summary["epochs"])
            self.notes.append(f"no train_summary.json (run interrupted, or still in training: "
                              f"{os.path.basename(log)} last written {age} ago): read from "
                              f"{os.path.basename(log)}, {n} epoch{'s' if n != 1 else ''} logged")
        elif self.summary.get("interrupted"):
            self.notes.append("interrupted (train_summary.json: \"interrupted\": true)")
        if self.metrics is not None and self.metrics.get("split", "test") != "test":
            self.notes.append(f"metrics.json is of the {self.metrics.get('split')} split, not test")

    @property
    def epochs(self):
        return self.summary.get("epochs") or []

    @property
    def dataset(self):
        name = self.data.get("name") or (os.path.basename(os.path.normpath(self.data["path"]))
                                         if self.data.get("path") else None)
        return name or (self.metrics or {}).get("dataset")

    def layers(self):
        arch = self.rec.get("arch")
        enc, dec = self.rec.get("encoder_layers"), self.rec.get("decoder_layers")
        if arch == "decoder":
            return num(dec)
        if enc is None and dec is None:
            return None
        return f"{num(enc)}+{num(dec)}"

    def planned(self):
        return self.rec.get("epochs") or self.summary.get("planned")

    def best(self):
        """(best epoch, valid R@10, valid N@10)."""
        ep = self.summary.get("best_epoch") or None
        bv = self.summary.get("best_valid") or {}
        r, n = bv.get("recall@10"), bv.get("ndcg@10", self.summary.get("best_valid_ndcg@10"))
        e = next((e for e in self.epochs if e.get("epoch") == ep), {})
        return ep, (r if r is not None else e.get("valid_recall@10")), (
            n if n is not None else e.get("valid_ndcg@10"))

    def row(self):
        eps = self.epochs
        run = max((e.get("epoch", 0) for e in eps), default=0)
        epochs = f"{run} / {num(self.planned())}"
        if self.summary.get("stopped_early"):
            epochs += " (early stop)"
        best, br, bn = self.best()
        tl = timeline(eps)
        m = (self.metrics or {}).get("metrics", {})
        ci = m.get("ci95", {})
        return [self.name, self.dataset, self.rec.get("arch"), self.layers(), self.rec.get("d_model"),
                num(self.rec.get("lr")), self.rec.get("batch_size"), num(self.rec.get("dropout")), epochs,
                best, br, bn, fmt(minutes_to(eps, best), 1), fmt(tl[-1][1] if tl else None, 1),
                with_ci(m.get("recall@10"), ci.get("recall@10")), with_ci(m.get("ndcg@10"), ci.get("ndcg@10")),
                (self.metrics or {}).get("coverage@10"), (self.metrics or {}).get("popular10_share@10")]

    def history_rows(self):
        best = self.summary.get("best_epoch")
        return [[self.name, ep, fmt(mins, 1), e.get("valid_recall@10"), e.get("valid_ndcg@10"),
                 "best" if ep == best else ""] for ep, mins, e in timeline(self.epochs) if e.get("evaluated")]

    def curve(self, metric, x):
        key = METRICS[metric][0]
        return [(ep if x == "epoch" else mins, e.get(key)) for ep, mins, e in timeline(self.epochs)
                if e.get("evaluated") and e.get(key) is not None]


def curves_svg(runs, metric="ndcg", x="minutes"):
    """The comparison figure: validation metric of every run against cumulative minutes or epoch."""
    label = METRICS[metric][1]
    x_label = "epoch" if x == "epoch" else "cumulative minutes (training + validation)"
    p = Panel(f"Validation {label} vs {'epoch' if x == 'epoch' else 'wall minutes'}", x_label,
              f"validation {label} (beam search)")
    for i, r in enumerate(runs):  # a run's colour follows its position on the command line
        p.add(r.name, r.curve(metric, x), COLORS[i % len(COLORS)])
    datasets = ", ".join(sorted({r.dataset for r in runs if r.dataset})) or "?"
    return figure_svg(f"train-recommender runs: validation {label} ({datasets})", [p],
                      "from train_summary.json (or train.log); minutes = training + validation seconds "
                      "summed over epochs", panel_w=760, panel_h=460 + 16 * max(0, (len(p.series) + 1) // 2 - 2))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="train-recommender --out folders")
    ap.add_argument("--history", action="store_true", help="also list every evaluation")
    ap.add_argument("--svg", default="", metavar="FILE", help="write the validation-curve comparison figure")
    ap.add_argument("--x", choices=("minutes", "epoch"), default="minutes", help="x axis of --svg")
    ap.add_argument("--metric", choices=tuple(METRICS), default="ndcg", help="y axis of --svg (@10)")
    a = ap.parse_args(argv)
    runs = [RecRun(d) for d in a.runs]
    print(md_table(HEADER, [r.row() for r in runs]))
    print()
    print("Minutes: training + validation seconds of the epochs, summed (start-up excluded); test columns "
          "from metrics.json of `letter evaluate --out RUN_DIR` (\"—\": not evaluated).")
    for r in runs:
        for n in r.notes:
            print(f"- {r.name}: {n}")
    hist = [h for r in runs for h in r.history_rows()]
    if a.history and hist:
        print()
        print(md_table(["run", "epoch", "minutes", "valid R@10", "valid N@10", "best"], hist))
    if a.svg:
        write_text(a.svg, curves_svg(runs, a.metric, a.x))
        print()
        left = [r.name for r in runs if not r.curve(a.metric, a.x)]
        print(f"wrote {a.svg}" + (f" (no evaluation yet, not drawn: {', '.join(left)})" if left else ""))


if __name__ == "__main__":
    main()
