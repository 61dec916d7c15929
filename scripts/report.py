#!/usr/bin/env python3
"""Write RUN_DIR/report.md (and SVG figures) for a run of scripts/reproduce.sh.

    scripts/report.py RUN_DIR [--out FILE]

Reads only the artifacts the stages wrote (timings.json, cf/metrics.json,
tok-*/stats.json and codes.json, rec-*/train_summary.json and metrics.json,
embed/items.emb.json, *.resolved.json, data/*/subsample.json) and the paper's
published numbers (PAPER below, transcribed in ../shared/docs/algorithms.md g). Stages
that did not run are reported as "not run"; no number is ever invented.

Table 1: SASRec, TIGER and LETTER-TIGER with coverage@10 and the popular-10% share of the
top-10 lists ("—" where a metrics.json lacks them). Table 2 (ablation) only when its stages
(reproduce.sh --ablations) left artifacts; otherwise one line saying how to run them.
Table 4 (code overlap with the CF neighbour) both as letter's fraction of L and as the
paper's count of equal positions (fraction x L, L = stats.json table4_levels or levels).

Writes RUN_DIR/report.md and RUN_DIR/fig_code_freq.svg (paper Figure 6: level-1 code
frequency sorted by popularity, every tokenizer), fig_cf_curves.svg (SASRec training
loss and validation NDCG@10 per epoch), fig_tokenizer_curves.svg (reconstruction MSE
and collision rate at each tokenizer evaluation) and fig_rec_curves.svg (recommender
training loss and validation NDCG@10 per epoch). Python 3 standard library only.
"""
import argparse
import datetime
import html
import json
import math
import os
import sys

# ---------------------------------------------------------------------------------------
# Published numbers (full ranking, leave-one-out), transcribed in
# ../shared/docs/algorithms.md section g. Keys: recall@5, recall@10, ndcg@5, ndcg@10.
PAPER_SOURCE = ("LETTER (Wang et al., CIKM 2024, arXiv 2405.07314) Tables 1, 2 and 4, "
                "as transcribed in docs/algorithms.md g")
PAPER_TABLE1 = {
    "Instruments": {
        "SASRec": (0.0751, 0.0947, 0.0627, 0.0690),
        "TIGER": (0.0870, 0.1058, 0.0737, 0.0797),
        "LETTER-TIGER": (0.0909, 0.1122, 0.0763, 0.0831),
    },
    "Beauty": {
        "SASRec": (0.0380, 0.0588, 0.0246, 0.0313),
        "TIGER": (0.0395, 0.0610, 0.0253, 0.0321),
        "LETTER-TIGER": (0.0431, 0.0672, 0.0277, 0.0364),
    },
}
# TIGER paper (Rajput et al., NeurIPS 2023) Table 1, Beauty: R@5, R@10, N@5, N@10.
TIGER_PAPER_BEAUTY = (0.0454, 0.0648, 0.0321, 0.0384)
# LETTER Table 2 (R@10, N@10).
PAPER_TABLE2 = {
    "Instruments": {"tiger": (0.1058, 0.0797), "collab": (0.1078, 0.0810), "div": (0.1075, 0.0809),
                    "both": (0.1092, 0.0819), "letter": (0.1122, 0.0831)},
    "Beauty": {"tiger": (0.0610, 0.0331), "collab": (0.0660, 0.0351), "div": (0.0618, 0.0335),
               "both": (0.0672, 0.0357), "letter": (0.0672, 0.0364)},
}
# LETTER Table 4: code overlap with the nearest item by CF similarity, as a COUNT of equal code
# positions (0 to L): the official codes reproduce these values only on that scale, while
# letter's stats.json "table4_overlap" is the mean FRACTION of the L compared positions.
PAPER_TABLE4 = {"Instruments": {"tiger": 0.0849, "letter": 0.2760},
                "Beauty": {"tiger": 0.1135, "letter": 0.3312}}
# LETTER section 4 (Instruments): level-1 codes used (of 256).
PAPER_LEVEL1_USED = {"Instruments": {"tiger": 148, "div": 180, "collab": 76, "letter": 150}}

TOKENIZERS = [  # (dir suffix, label)
    ("tiger", "TIGER (plain RQ-VAE)"),
    ("letter", "LETTER (collab. + diversity)"),
    ("collab", "collaborative only (beta = 0)"),
    ("div", "diversity only (alpha = 0)"),
]
RECOMMENDERS = [  # (dir suffix, Table 2 row, tokenizer, ranking loss)
    ("tiger", "TIGER", "tiger", False),
    ("collab", "+ collaborative reg.", "collab", False),
    ("div", "+ diversity reg.", "div", False),
    ("both", "+ both reg. (LETTER codes, tau = 1)", "letter", False),
    ("letter", "+ ranking-guided loss (= LETTER-TIGER)", "letter", True),
]
# The Table 2 ablation stages (reproduce.sh --ablations).
ABLATION_TOKENIZERS = ("collab", "div")
ABLATION_RECOMMENDERS = ("collab", "div", "both")
METRIC_KEYS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")
# Diversity of the top-10 lists: evaluate's metrics.json (top level) and train-cf's (in "test").
BIAS_KEYS = ("coverage@10", "popular10_share@10")
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]


def load_json(path):
    """Parsed JSON of `path`, or None when the file does not exist."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise SystemExit(f"error: {path} is not valid JSON ({e}); re-run the stage that writes it")


def fmt(v, digits=4):
    if v is None:
        return "—"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.{digits}f}"
    return str(v)


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(fmt(c) for c in r) + " |")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------
# SVG (hand-rolled): line charts with axes, tick labels, axis titles, legend and title.

def nice_ticks(lo, hi, target=5, integer=False):
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 x 10^k (>= 1 when integer)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"non-finite axis range [{lo}, {hi}]")
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if integer:
        step = max(step, 1)
    start = math.floor(lo / step + 1e-9) * step
    ticks = []
    t = start
    while t < hi + step * 0.5 and len(ticks) < 50:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi - 1e-12:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def tick_label(v):
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.0e}"
    if a >= 100 or float(v).is_integer():
        return f"{v:.0f}"
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return s


class Panel:
    """One chart: series of (x, y) points. log_y: True = log10 y with decade ticks, "auto" =
    log only when the values span more than a factor 20. x_range: fixed (lo, hi) x axis."""

    def __init__(self, title, x_label, y_label, log_y=False, x_range=None):
        self.title, self.x_label, self.y_label, self.log_y = title, x_label, y_label, log_y
        self.x_range = x_range
        self.series = []  # (name, points, color)

    def add(self, name, points, color=None):
        pts = [(float(x), float(y)) for x, y in points
               if x is not None and y is not None and math.isfinite(float(x)) and math.isfinite(float(y))
               and (not self.log_y or float(y) > 0)]
        if pts:
            self.series.append((name, pts, color or COLORS[len(self.series) % len(COLORS)]))

    def svg(self, x0, y0, w, h):
        """SVG elements of the panel inside the box (x0, y0, w, h)."""
        el = []
        rows = (len(self.series) + 1) // 2  # legend: two columns under the plot
        left, right, top, bottom = 78, 16, 34, 58 + 16 * rows
        pw, ph = w - left - right, h - top - bottom
        px, py = x0 + left, y0 + top
        el.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + 20}" text-anchor="middle" font-size="14" '
                  f'font-weight="bold">{html.escape(self.title)}</text>')
        if not self.series:
            el.append(f'<rect x="{px}" y="{py}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
            el.append(f'<text x="{px + pw / 2:.1f}" y="{py + ph / 2:.1f}" text-anchor="middle" '
                      f'font-size="13" fill="#777">no data in the artifacts</text>')
            return el
        xs = [p[0] for _, pts, _ in self.series for p in pts]
        ys = [p[1] for _, pts, _ in self.series for p in pts]
        integer_x = all(float(x).is_integer() for x in xs)
        xlo, xhi = self.x_range if self.x_range else (min(xs), max(xs))
        xt = nice_ticks(xlo, xhi, integer=integer_x)
        xd = (xt[0], xt[-1])  # x domain
        if self.x_range and xhi > xlo:  # fixed axis: exactly [lo, hi], ticks inside plus both ends
            xd = (xlo, xhi)
            inner = [t for t in xt if xlo < t < xhi and (t - xlo) > 0.04 * (xhi - xlo)
                     and (xhi - t) > 0.04 * (xhi - xlo)]
            xt = [xlo] + inner + [xhi]
        log_y = self.log_y
        if log_y == "auto":
            log_y = min(ys) > 0 and max(ys) / min(ys) > 20
        if log_y:
            lo, hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
            if hi == lo:
                hi = lo + 1
            yt = [10.0 ** e for e in range(lo, hi + 1)]
            fy = lambda v: (math.log10(v) - lo) / (hi - lo)  # noqa: E731
        else:
            ymin = min(0.0, min(ys)) if min(ys) >= 0 and min(ys) < 0.25 * max(ys) else min(ys)
            yt = nice_ticks(ymin, max(ys))
            fy = lambda v: (v - yt[0]) / (yt[-1] - yt[0])  # noqa: E731
        fx = lambda v: (v - xd[0]) / (xd[1] - xd[0])  # noqa: E731
        X = lambda v: px + fx(v) * pw  # noqa: E731
        Y = lambda v: py + ph - fy(v) * ph  # noqa: E731
        for t in yt:
            el.append(f'<line x1="{px}" y1="{Y(t):.1f}" x2="{px + pw}" y2="{Y(t):.1f}" stroke="#e4e4e4"/>')
            el.append(f'<text x="{px - 6}" y="{Y(t) + 4:.1f}" text-anchor="end" font-size="11">'
                      f'{tick_label(t)}</text>')
        for t in xt:
            el.append(f'<line x1="{X(t):.1f}" y1="{py + ph}" x2="{X(t):.1f}" y2="{py + ph + 5}" stroke="#333"/>')
            el.append(f'<text x="{X(t):.1f}" y="{py + ph + 18}" text-anchor="middle" font-size="11">'
                      f'{tick_label(t)}</text>')
        el.append(f'<rect x="{px}" y="{py}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
        el.append(f'<text x="{px + pw / 2:.1f}" y="{py + ph + 38}" text-anchor="middle" font-size="12">'
                  f'{html.escape(self.x_label)}</text>')
        y_label = self.y_label
        if log_y and "log" not in y_label:
            y_label += " (log scale)"
        el.append(f'<text x="{x0 + 16}" y="{py + ph / 2:.1f}" text-anchor="middle" font-size="12" '
                  f'transform="rotate(-90 {x0 + 16} {py + ph / 2:.1f})">{html.escape(y_label)}</text>')
        for name, pts, color in self.series:
            pts = sorted(pts)
            path = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in pts)
            el.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            if len(pts) <= 60:
                for x, y in pts:
                    el.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="2.8" fill="{color}"/>')
        # legend: below the x-axis title, two columns
        ly = py + ph + 50
        for i, (name, _, color) in enumerate(self.series):
            lx = x0 + left + (i % 2) * (pw / 2)
            yy = ly + 16 * (i // 2)
            el.append(f'<line x1="{lx:.1f}" y1="{yy - 4}" x2="{lx + 18:.1f}" y2="{yy - 4}" '
                      f'stroke="{color}" stroke-width="2.5"/>')
            el.append(f'<text x="{lx + 23:.1f}" y="{yy}" font-size="11">{html.escape(name)}</text>')
        return el


def figure_svg(title, panels, subtitle="", panel_w=520, panel_h=400):
    w = panel_w * len(panels)
    top = 50 if subtitle else 36
    h = panel_h + top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="sans-serif">', '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{w / 2:.1f}" y="22" text-anchor="middle" font-size="16">{html.escape(title)}</text>']
    if subtitle:
        out.append(f'<text x="{w / 2:.1f}" y="40" text-anchor="middle" font-size="12" fill="#555">'
                   f'{html.escape(subtitle)}</text>')
    for i, p in enumerate(panels):
        out.extend(p.svg(i * panel_w, top, panel_w, panel_h))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------
# Reading the run

class Run:
    def __init__(self, d):
        self.dir = d
        self.timings = load_json(os.path.join(d, "timings.json")) or {}
        self.info = self.timings.get("run", {})
        self.dataset = self.info.get("dataset") or ""
        self.budget = self.info.get("budget") or ""
        self.cf = load_json(os.path.join(d, "cf", "metrics.json"))
        self.embed = load_json(os.path.join(d, "embed", "items.emb.json"))
        self.subset = None
        if self.dataset:
            self.subset = load_json(os.path.join(d, "data", self.dataset, "subsample.json"))
        self.tok = {m: load_json(os.path.join(d, f"tok-{m}", "stats.json")) for m, _ in TOKENIZERS}
        self.rec_train = {v: load_json(os.path.join(d, f"rec-{v}", "train_summary.json"))
                          for v, *_ in RECOMMENDERS}
        self.rec_test = {v: load_json(os.path.join(d, f"rec-{v}", "metrics.json")) for v, *_ in RECOMMENDERS}

    def has_ablations(self):
        """True when any Table 2 ablation stage (reproduce.sh --ablations) left an artifact."""
        return (any(self.tok.get(m) for m in ABLATION_TOKENIZERS)
                or any(self.rec_test.get(v) or self.rec_train.get(v) for v in ABLATION_RECOMMENDERS))

    def command(self, ablations=None):
        """The reproduce.sh command line of this run (as far as timings.json records it);
        `ablations` True/False forces the --ablations flag on/off."""
        cmd = f"scripts/reproduce.sh {self.dataset or '?'} --budget {self.budget or '?'}"
        if self.info.get("ablations") if ablations is None else ablations:
            cmd += " --ablations"
        return cmd

    def resolved(self, stage_dir, sub):
        return load_json(os.path.join(self.dir, stage_dir, f"{sub}.resolved.json"))

    def level1_counts(self, m):
        """Items per level-1 code (sorted, most popular first) from tok-m/codes.json."""
        codes = load_json(os.path.join(self.dir, f"tok-{m}", "codes.json"))
        if not codes:
            return None
        counts = {}
        for toks in codes.values():
            if toks:
                counts[toks[0]] = counts.get(toks[0], 0) + 1
        return sorted(counts.values(), reverse=True)


def rec_metrics(m):
    """(R@5, R@10, N@5, N@10) and the ci95 dict of an evaluate metrics.json."""
    mm = m.get("metrics", {})
    return tuple(mm.get(k) for k in METRIC_KEYS), mm.get("ci95", {}), mm.get("users") or m.get("users")


def with_ci(v, ci):
    if v is None:
        return "—"
    if ci and len(ci) == 2:
        return f"{v:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]"
    return f"{v:.4f}"


# ---------------------------------------------------------------------------------------
# Report sections

def section_header(run, lines):
    info = run.info
    lines.append(f"# Reproduction report: {run.dataset or '?'} ({run.budget or '?'} budget)")
    lines.append("")
    lines.append(f"Generated by `python3 scripts/report.py {run.dir}` on "
                 f"{datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')} from the artifacts of "
                 f"`{run.command()}`. Every number below is read "
                 "from a file of the run directory, except the columns marked *paper* "
                 f"({PAPER_SOURCE}).")
    lines.append("")
    rows = [
        ("dataset", run.dataset), ("budget", run.budget),
        ("Table 2 ablation", "run (--ablations)" if run.has_ablations() else "not run (add --ablations)"),
        ("device", info.get("device")),
        ("threads", info.get("threads")), ("CPU", f"{info.get('cpu', '?')} ({info.get('cores', '?')} cores)"),
        ("host", info.get("host")), ("letter binary", info.get("letter_bin")),
        ("git commit", ", ".join(sorted({e.get("git_commit") or "?" for e in run.timings.get("stages", {}).values()}))
         or info.get("git_commit")),
        ("config", info.get("config")),
        ("data", info.get("data_path")), ("timings.json updated", info.get("updated")),
        ("wall time of the last reproduce.sh call (s)", info.get("last_invocation_seconds")),
    ]
    lines.append(md_table(["run", "value"], rows))
    lines.append("")
    if run.subset:
        s = run.subset
        lines.append(f"**User subset** (cpu budget): {s['users']:,} of {s['users_source']:,} users "
                     f"(seed {s['seed']}), all {s['items']:,} item ids kept "
                     f"({s['items_with_interactions']:,} with interactions), {s['interactions']:,} "
                     f"interactions, {s['train_samples']:,} training samples; valid/test = one target per "
                     "sampled user. Metrics on a subset are not comparable to the paper's numbers.")
        lines.append("")
    lines.append(section_settings(run))


def section_settings(run):
    """Key settings of each stage, read from the hashed resolved configs."""
    def v(x):  # a value of a resolved config; "—" for a key the stage's config lacks
        if isinstance(x, bool):
            return "on" if x else "off"
        return "—" if x is None else x

    rows = []
    e = run.resolved("embed", "embed")
    if e:
        c = e["config"].get("embed", {})
        src = f"imported {c['from_npy']}" if c.get("from_npy") else (
            f"{c.get('encoder')} ({c.get('dim')}-d)" if c.get("encoder") == "tfidf" else
            f"{c.get('encoder')} {c.get('model') or 'all-MiniLM-L6-v2'}, dtype {c.get('dtype') or 'float32'}")
        if run.embed:
            if run.embed.get("dtype") and not c.get("from_npy") and c.get("encoder") != "tfidf":
                src += f" (computed in {run.embed['dtype']})"
            src += f"; {run.embed.get('items')} items x {run.embed.get('dims')}"
        rows.append(("embed", src))
    c = run.resolved("cf", "train-cf")
    if c:
        cf = c["config"].get("cf", {})
        rows.append(("train-cf (SASRec)", f"hidden {v(cf.get('hidden'))}, {v(cf.get('blocks'))} blocks, max "
                     f"{v(cf.get('epochs'))} epochs (patience {v(cf.get('patience'))}), lr {v(cf.get('lr'))}, "
                     f"batch {v(cf.get('batch_size'))}, loss {v(cf.get('loss'))}"))
    toks = [(m, run.resolved(f"tok-{m}", "train-tokenizer")) for m, _ in TOKENIZERS]
    toks = [(m, t["config"].get("tokenizer", {})) for m, t in toks if t]
    if toks:
        tk = dict(toks).get("letter", toks[0][1])
        sched = "; ".join(f"{m} {v(t.get('epochs'))} epochs, lr {v(t.get('lr'))} ({v(t.get('schedule'))}, "
                          f"warm-up {v(t.get('warmup_epochs'))})" for m, t in toks)
        rows.append(("train-tokenizer", f"preset {tk.get('preset') or 'none'}, dtype {tk.get('dtype') or 'float32'}; "
                     f"{v(tk.get('levels'))} levels x {v(tk.get('codebook_size'))} codes x {v(tk.get('e_dim'))}, "
                     f"batch {v(tk.get('batch_size'))}, alpha {v(tk.get('alpha'))}, beta {v(tk.get('beta'))}, "
                     f"k-means restarts {v(tk.get('kmeans_restarts'))}; {sched}"))
    r = run.resolved("rec-letter", "train-recommender") or run.resolved("rec-tiger", "train-recommender")
    if r:
        rc = r["config"].get("recommender", {})
        arch = rc.get("arch") or "t5"
        layers = (f"{v(rc.get('decoder_layers'))} decoder-only layers" if arch == "decoder" else
                  f"{v(rc.get('encoder_layers'))}+{v(rc.get('decoder_layers'))} layers")
        rows.append(("train-recommender", f"preset {rc.get('preset') or 'none'}, arch {arch}: {layers}, d_model "
                     f"{v(rc.get('d_model'))}, {v(rc.get('heads'))} x {v(rc.get('d_kv'))} heads, d_ff "
                     f"{v(rc.get('d_ff'))}, dropout {v(rc.get('dropout'))}, max {v(rc.get('epochs'))} epochs "
                     f"(patience {v(rc.get('patience'))}), batch {v(rc.get('batch_size'))}, lr {v(rc.get('lr'))} "
                     f"(warm-up {v(rc.get('warmup_ratio'))} of the steps), softmax {v(rc.get('softmax'))}, "
                     f"valid users {rc.get('valid_users') or 'all'}, bf16 {v(rc.get('bf16'))}; LETTER tau "
                     f"{v(rc.get('tau'))}"))
    e = run.resolved("rec-letter", "evaluate") or run.resolved("rec-tiger", "evaluate")
    if e:
        ev = e["config"].get("eval", {})
        rows.append(("evaluate", f"split {v(ev.get('split'))}, beam {v(ev.get('beam'))}, bf16 {v(ev.get('bf16'))}, "
                     f"bootstrap {v(ev.get('bootstrap'))} resamples for the 95% intervals"))
    if not rows:
        return ""
    return "Settings (from the resolved configs):\n\n" + md_table(["stage", "settings"], rows) + "\n"


def section_table1(run, lines):
    lines.append("## Table 1: overall performance (test, full ranking)")
    lines.append("")
    paper = PAPER_TABLE1.get(run.dataset, {})
    header = ["model", "R@5", "R@10", "N@5", "N@10", "test users",
              "paper R@5", "paper R@10", "paper N@5", "paper N@10", "coverage@10", "popular-10% share@10"]
    rows = []
    if run.cf and "test" in run.cf:
        t = run.cf["test"]
        vals = tuple(t.get(k) for k in METRIC_KEYS)
        rows.append(["SASRec (train-cf)", *vals, t.get("users"), *paper.get("SASRec", (None,) * 4),
                     *(t.get(k) for k in BIAS_KEYS)])
    else:
        rows.append(["SASRec (train-cf)", "not run", "", "", "", "", *paper.get("SASRec", (None,) * 4), "", ""])
    for v, name in (("tiger", "TIGER"), ("letter", "LETTER-TIGER")):
        m = run.rec_test.get(v)
        if m:
            vals, _, users = rec_metrics(m)
            rows.append([name, *vals, users, *paper.get(name, (None,) * 4), *(m.get(k) for k in BIAS_KEYS)])
        else:
            rows.append([name, "not run", "", "", "", "", *paper.get(name, (None,) * 4), "", ""])
    lines.append(md_table(header, rows))
    lines.append("")
    lines.append("coverage@10 = distinct items in all test users' top-10 lists / catalog size; popular-10% "
                 "share@10 = share of those top-10 recommendations that lie in the 10% most popular items "
                 "(by training interactions): the paper's generation-bias view (no paper values). "
                 "\"—\" = not in the stage's metrics.json.")
    lines.append("")
    if not paper:
        lines.append(f"The papers report no numbers for dataset '{run.dataset}' (paper columns are empty).")
        lines.append("")
    if run.dataset == "Beauty":
        r5, r10, n5, n10 = TIGER_PAPER_BEAUTY
        lines.append(f"TIGER's own paper reports on Beauty R@5 {r5:.4f}, R@10 {r10:.4f}, N@5 {n5:.4f}, "
                     f"N@10 {n10:.4f} (with a user token).")
        lines.append("")
    ci_rows = []
    for v, name in (("tiger", "TIGER"), ("letter", "LETTER-TIGER")):
        m = run.rec_test.get(v)
        if m:
            vals, ci, _ = rec_metrics(m)
            ci_rows.append([name] + [with_ci(x, ci.get(k)) for x, k in zip(vals, METRIC_KEYS)])
    if run.cf and "test" in run.cf:
        t = run.cf["test"]
        ci = t.get("ci95", {})
        ci_rows.insert(0, ["SASRec"] + [with_ci(t.get(k), ci.get(k)) for k in METRIC_KEYS])
    if ci_rows:
        lines.append("With bootstrap 95% intervals over test users:")
        lines.append("")
        lines.append(md_table(["model", "R@5", "R@10", "N@5", "N@10"], ci_rows))
        lines.append("")


def section_table2(run, lines):
    if not run.has_ablations():
        lines.append(f"Table 2 (ablation) was not run: `{run.command(ablations=True)}` adds it (tokenizers "
                     "collab, beta = 0, and div, alpha = 0; recommenders collab, div and both).")
        lines.append("")
        return
    lines.append("## Table 2: ablation (test R@10 / N@10)")
    lines.append("")
    paper = PAPER_TABLE2.get(run.dataset, {})
    rows = []
    for v, label, tok, ranking in RECOMMENDERS:
        m = run.rec_test.get(v)
        tr = run.rec_train.get(v)
        r = run.resolved(f"rec-{v}", "train-recommender")
        tau = r["config"].get("recommender", {}).get("tau") if r else None
        p = paper.get(v, (None, None))
        if m:
            vals, _, _ = rec_metrics(m)
            rows.append([label, f"tok-{tok}", fmt(tau, 2) if tau is not None else "—", vals[1], vals[3],
                         tr.get("best_epoch") if tr else None, p[0], p[1]])
        else:
            rows.append([label, f"tok-{tok}", "—", "not run", "", "", p[0], p[1]])
    lines.append(md_table(["variant", "codes", "tau", "R@10", "N@10", "best epoch", "paper R@10",
                           "paper N@10"], rows))
    lines.append("")
    lines.append("TIGER = RQ-VAE without the LETTER regularizers (`--method tiger`: alpha = beta = 0, argmin "
                 "codes at every level), plain cross-entropy (tau = 1). The regularizer rows use method "
                 "`letter` (Sinkhorn at the last level) with beta = 0 (collaborative only) or alpha = 0 "
                 "(diversity only); \"both\" is the LETTER codes with tau = 1, and the last row adds the "
                 "ranking-guided loss (the config's tau).")
    lines.append("")


def table4_levels(stats):
    """L of the Table 4 metric: the compared code levels (stats.json table4_levels, else levels)."""
    for k in ("table4_levels", "levels"):
        v = stats.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


def as_count(fraction, levels):
    """Mean number of equal code positions (0 to L) from the mean fraction of L."""
    if isinstance(fraction, (int, float)) and not isinstance(fraction, bool) and levels:
        return fraction * levels
    return None


def section_tokenizers(run, lines):
    lines.append("## Tokenizers: Table 4 code overlap, code usage, collisions")
    lines.append("")
    p4 = PAPER_TABLE4.get(run.dataset, {})
    shown = [(m, label) for m, label in TOKENIZERS if m not in ABLATION_TOKENIZERS or run.has_ablations()]
    rows = []
    for m, label in shown:
        s = run.tok.get(m)
        if not s:
            rows.append([label, "not run", "", "", "", "", "", "", "", p4.get(m)])
            continue
        tr = s.get("training", {})
        L = table4_levels(s)
        ov, ova = s.get("table4_overlap"), s.get("table4_overlap_argmin")
        rows.append([label, L, ov, as_count(ov, L), ova, as_count(ova, L), s.get("recon_mse"),
                     tr.get("epochs"), fmt(tr.get("train_seconds"), 1), p4.get(m)])
    lines.append("Table 4 metric: for each item, its nearest item by CF-embedding cosine, and the code positions "
                 "the two items share, over the first L levels (final collision-free codes; *argmin* = before "
                 "collision resolution). letter's `table4_overlap` (stats.json) is the mean **fraction of L**; "
                 "the count columns are fraction x L, the mean **number** of equal positions (0 to L). The "
                 "paper's Table 4 values (Beauty TIGER .1135, LETTER .3312; Instruments TIGER .0849, LETTER "
                 ".2760) are on the **count** scale (the official codes match them only as a count): compare "
                 "the paper column with the count column.")
    lines.append("")
    lines.append(md_table(["tokenizer", "L", "overlap (fraction of L)", "overlap (count)",
                           "argmin overlap (fraction)", "argmin overlap (count)", "recon. MSE", "epochs",
                           "train s", "paper overlap (count)"], rows))
    lines.append("")
    if not run.has_ablations():
        lines.append("The ablation tokenizers (collaborative only, beta = 0; diversity only, alpha = 0) run "
                     "with `--ablations`.")
        lines.append("")
    # per-level usage
    rows = []
    p1 = PAPER_LEVEL1_USED.get(run.dataset, {})
    for m, label in TOKENIZERS:
        s = run.tok.get(m)
        if not s:
            continue
        for lv in s.get("code_levels", []):
            lvl = lv.get("level")
            rows.append([label if lvl == 0 else "", chr(ord("a") + lvl) if isinstance(lvl, int) else lvl,
                         f"{lv.get('used')} / {lv.get('size')}", f"{100 * lv.get('usage', 0):.1f}%",
                         lv.get("entropy_bits"), lv.get("perplexity"), lv.get("largest_bucket"),
                         p1.get(m) if lvl == 0 else None])
    if rows:
        lines.append("Per-level code usage (final codes; entropy in bits, perplexity = 2^entropy, largest "
                     "bucket = items on the most used code):")
        lines.append("")
        lines.append(md_table(["tokenizer", "level", "used / K", "usage", "entropy", "perplexity",
                               "largest bucket", "paper used (level a)"], rows))
        lines.append("")
    rows = []
    for m, label in TOKENIZERS:
        s = run.tok.get(m)
        if not s:
            continue
        c = s.get("collisions", {})
        rows.append([label, c.get("items"), c.get("collisions_before"),
                     f"{100 * c.get('collision_rate_before', 0):.2f}%", c.get("groups_before"),
                     c.get("max_group_before"), c.get("reassigned"),
                     f"{c.get('extra_level_max', 0)}" if c.get("extra_level") else "no",
                     c.get("collisions_after")])
    if rows:
        lines.append("Collisions (items sharing a full code tuple) before and after resolution:")
        lines.append("")
        lines.append(md_table(["tokenizer", "items", "colliding items before", "rate before", "groups",
                               "largest group", "last-level re-assigned", "extra level (max index)",
                               "collisions after"], rows))
        lines.append("")


def section_timing(run, lines):
    lines.append("## Time per stage")
    lines.append("")
    st = run.timings.get("stages", {})
    if not st:
        lines.append("No timings.json in the run directory.")
        lines.append("")
        return
    rows, total = [], 0.0
    for name, e in st.items():
        secs = e.get("seconds")
        if isinstance(secs, (int, float)):
            total += secs
        status = e.get("status")
        if status == "skipped":
            status = "cached (time of the run that made it)"
        elif status == "resumed":
            status = "resumed (time after the resume only)"
        rows.append([name, e.get("subcommand"), status, fmt(secs, 1) if secs is not None else "—",
                     " ".join(e.get("load_avg", [])), e.get("finished"), f"`{(e.get('config_sha256') or '')[:16]}`"])
    rows.append(["**total**", "", "", fmt(total, 1), "", "", ""])
    lines.append(md_table(["stage", "subcommand", "status", "seconds", "load avg (1/5/15 min)",
                           "finished (UTC)", "config sha256"], rows))
    lines.append("")
    lines.append(f"Device: {run.info.get('device', '?')}, threads: {run.info.get('threads', '?')}. "
                 "Config hashes: SHA-256 of the stage's sections of the resolved config plus its flags and "
                 "upstream hashes (the hashed JSON is `<stage dir>/<subcommand>.resolved.json`); a stage is "
                 "re-run only when its hash changes.")
    lines.append("")


def section_figures(run, lines):
    lines.append("## Figures")
    lines.append("")
    figs = []
    # Figure 6: level-1 code frequency
    k = next((s.get("codebook_size") for s in run.tok.values() if s and s.get("codebook_size")), None)
    p = Panel("Level-1 code frequency, codes sorted by popularity", "code rank (1 = most items)",
              "items per code (log scale)", log_y=True, x_range=(1, k) if k else None)
    for i, (m, label) in enumerate(TOKENIZERS):
        c = run.level1_counts(m)
        if c:
            p.add(f"{label}: {len(c)} codes used", [(k + 1, n) for k, n in enumerate(c)], COLORS[i])
    write_text(os.path.join(run.dir, "fig_code_freq.svg"),
               figure_svg(f"Paper Figure 6: first-level code frequency ({run.dataset})", [p],
                          "count of items whose first code is each used code, from tok-*/codes.json",
                          panel_w=760, panel_h=460))
    figs.append(("fig_code_freq.svg", "Level-1 code frequency of every tokenizer (paper Figure 6)."))
    # SASRec curves
    hist = (run.cf or {}).get("history", [])
    a = Panel("SASRec training loss", "epoch", "training loss (cross-entropy, nats)")
    a.add("train loss", [(h.get("epoch"), h.get("loss")) for h in hist])
    b = Panel("SASRec validation NDCG@10", "epoch", "validation NDCG@10")
    b.add("valid NDCG@10", [(h.get("epoch"), h.get("valid_ndcg@10")) for h in hist], COLORS[1])
    write_text(os.path.join(run.dir, "fig_cf_curves.svg"),
               figure_svg(f"train-cf (SASRec) curves ({run.dataset})", [a, b], "from cf/metrics.json history"))
    figs.append(("fig_cf_curves.svg", "SASRec training loss and validation NDCG@10 per epoch."))
    # Tokenizer curves
    a = Panel("Reconstruction MSE (all items, eval)", "epoch", "reconstruction MSE", log_y="auto")
    b = Panel("Collision rate before resolution", "epoch", "collision rate (share of items)")
    for i, (m, label) in enumerate(TOKENIZERS):
        h = ((run.tok.get(m) or {}).get("training") or {}).get("history", [])
        a.add(label, [(e.get("epoch"), e.get("recon_mse")) for e in h], COLORS[i])
        b.add(label, [(e.get("epoch"), e.get("collision_rate")) for e in h], COLORS[i])
    write_text(os.path.join(run.dir, "fig_tokenizer_curves.svg"),
               figure_svg(f"train-tokenizer curves ({run.dataset})", [a, b],
                          "evaluations over all items with argmin codes, from tok-*/stats.json"))
    figs.append(("fig_tokenizer_curves.svg", "Tokenizer reconstruction MSE and collision rate per evaluation."))
    # Recommender curves
    a = Panel("Recommender training loss", "epoch", "training loss (ranking-guided CE, nats)")
    b = Panel("Recommender validation NDCG@10", "epoch", "validation NDCG@10 (beam search)")
    for i, (v, label, _, _) in enumerate(RECOMMENDERS):
        eps = (run.rec_train.get(v) or {}).get("epochs", [])
        a.add(v, [(e.get("epoch"), e.get("loss")) for e in eps], COLORS[i])
        b.add(v, [(e.get("epoch"), e.get("valid_ndcg@10")) for e in eps if e.get("evaluated", True)], COLORS[i])
    write_text(os.path.join(run.dir, "fig_rec_curves.svg"),
               figure_svg(f"train-recommender curves ({run.dataset})", [a, b],
                          "from rec-*/train_summary.json; losses with tau < 1 are not comparable to tau = 1"))
    figs.append(("fig_rec_curves.svg", "Recommender training loss and validation NDCG@10 per epoch."))
    for f, cap in figs:
        lines.append(f"![{cap}]({f})")
        lines.append("")
        lines.append(f"*{cap}* (`{f}`)")
        lines.append("")


def build_report(run_dir):
    if not os.path.isdir(run_dir):
        raise SystemExit(f"error: {run_dir} is not a directory (pass the run directory of scripts/reproduce.sh)")
    run = Run(run_dir)
    if not run.timings and not run.cf and not any(run.tok.values()) and not any(run.rec_test.values()):
        raise SystemExit(f"error: {run_dir} holds no reproduce.sh artifacts (timings.json, cf/, tok-*/, rec-*/)")
    lines = []
    section_header(run, lines)
    lines.append("<!-- readme-summary:begin -->")
    section_table1(run, lines)
    section_table2(run, lines)
    lines.append("<!-- readme-summary:end -->")
    lines.append("")
    section_tokenizers(run, lines)
    section_timing(run, lines)
    section_figures(run, lines)
    return run, "\n".join(lines).rstrip() + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write RUN_DIR/report.md and SVG figures from a "
                                 "scripts/reproduce.sh run (Python 3 standard library only).")
    ap.add_argument("run_dir", help="run directory of scripts/reproduce.sh")
    ap.add_argument("--out", default="", help="report path (default RUN_DIR/report.md)")
    a = ap.parse_args(argv)
    run, text = build_report(a.run_dir)
    out = a.out or os.path.join(a.run_dir, "report.md")
    write_text(out, text)
    print(f"wrote {out} and {len([f for f in os.listdir(a.run_dir) if f.startswith('fig_')])} figures in {a.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
