#!/usr/bin/env python3
"""Unit tests of scripts/report.py, scripts/update_readme_results.py, scripts/tokenizer_runs.py
and scripts/rec_runs.py on fixture JSON.

    python3 scripts/test_report.py        (or: python3 -m unittest scripts/test_report.py)

Standard library only; builds a fake run directory with the artifacts the stages write
(shapes copied from real runs: cf/metrics.json, tok-*/stats.json + codes.json,
rec-*/train_summary.json + metrics.json, timings.json, *.resolved.json) and checks the
report's numbers, the "not run" rows, the paper columns, the coverage / popular-share
columns, Table 2 only with the ablation stages, Table 4 as fraction and count, and that every
SVG is well-formed with titles, axis labels, tick labels and legends. ReproduceDryRunTest runs
scripts/reproduce.sh --dry-run against a stub letter binary (no training, no build needed).
RecRunsTest compares a finished train-recommender folder (train_summary.json, config.json,
metrics.json) with a killed one (train.log and config.json only).
"""
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rec_runs  # noqa: E402
import report  # noqa: E402
import tokenizer_runs  # noqa: E402
import update_readme_results as urr  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def metrics(r5, r10, n5, n10, users=1000):
    return {"recall@5": r5, "recall@10": r10, "ndcg@5": n5, "ndcg@10": n10, "users": users,
            "ci95": {"recall@10": [r10 - 0.01, r10 + 0.01]}}


ABLATION_STAGES = ("tok-collab", "tok-div", "rec-collab", "rec-div", "rec-both")


def make_run(d, dataset="Beauty", skip=(), ablations=True, bias=True):
    """A fixture run directory; stages listed in `skip` are left out, and the Table 2 ablation
    stages unless `ablations`. `bias`: coverage@10 / popular10_share@10 in the metrics files."""
    if not ablations:
        skip = tuple(skip) + ABLATION_STAGES
    write(os.path.join(d, "timings.json"), {
        "run": {"dataset": dataset, "budget": "cpu", "ablations": ablations, "device": "cpu", "threads": 2,
                "cpu": "Test CPU",
                "cores": 2, "letter_bin": "build/letter", "config": "configs/beauty.json",
                "data_path": "runs/x/data/Beauty", "git_commit": "abc1234", "updated": "2026-01-01T00:00:00Z"},
        "stages": {"cf": {"subcommand": "train-cf", "status": "ran", "seconds": 120.5,
                          "config_sha256": "f" * 64, "load_avg": ["1.0", "1.1", "1.2"],
                          "finished": "2026-01-01T00:00:00Z"},
                   "tok-tiger": {"subcommand": "train-tokenizer", "status": "skipped", "seconds": 30.25,
                                 "config_sha256": "e" * 64, "load_avg": [], "finished": "x"}}})
    cf_test = {"recall@5": 0.0312, "recall@10": 0.0523, "ndcg@5": 0.0201, "ndcg@10": 0.0268, "users": 4000,
               "ci95": {"recall@5": [0.03, 0.033]}}
    if bias:
        cf_test.update({"coverage@10": 0.4321, "popular10_share@10": 0.5432})
    write(os.path.join(d, "cf", "metrics.json"), {
        "test": cf_test, "valid": dict(cf_test),
        "history": [{"epoch": 1, "loss": 9.1, "valid_ndcg@10": 0.01},
                    {"epoch": 2, "loss": 8.5, "valid_ndcg@10": 0.02}]})
    write(os.path.join(d, "cf", "train-cf.resolved.json"),
          {"config": {"cf": {"hidden": 32, "blocks": 2, "epochs": 8, "patience": 3, "lr": 0.003,
                             "batch_size": 128, "loss": "ce"}}, "stage": "train-cf |"})
    for i, m in enumerate(["tiger", "letter", "collab", "div"]):
        if f"tok-{m}" in skip:
            continue
        # L of Table 4: tiger from "levels", letter from "table4_levels" (3 levels with the
        # extra collision level, 2 compared), collab from neither, div as tiger.
        levels = {"tiger": {"levels": 2}, "letter": {"levels": 3, "table4_levels": 2}, "collab": {},
                  "div": {"levels": 2}}[m]
        write(os.path.join(d, f"tok-{m}", "stats.json"), {
            **levels,
            "table4_overlap": 0.1 + i / 10, "table4_overlap_argmin": 0.11 + i / 10, "recon_mse": 0.002,
            "code_levels": [{"level": 0, "used": 3, "size": 4, "usage": 0.75, "entropy_bits": 1.5,
                             "perplexity": 2.83, "largest_bucket": 5},
                            {"level": 1, "used": 4, "size": 4, "usage": 1.0, "entropy_bits": 2.0,
                             "perplexity": 4.0, "largest_bucket": 3}],
            "collisions": {"items": 9, "collisions_before": 4 + i, "collision_rate_before": (4 + i) / 9,
                           "groups_before": 2, "max_group_before": 3, "reassigned": 4, "extra_level": i == 1,
                           "extra_level_max": 2, "collisions_after": 0},
            "training": {"epochs": 40, "train_seconds": 12.5,
                         "history": [{"epoch": 10, "recon_mse": 0.004, "collision_rate": 0.3},
                                     {"epoch": 20, "recon_mse": 0.002, "collision_rate": 0.2}]}})
        # level-1 codes: 5 items on a, 3 on b, 1 on c (sorted counts 5, 3, 1)
        codes = {str(k): [f"<a_{'x' if k < 5 else ('y' if k < 8 else 'z')}>", "<b_0>"] for k in range(9)}
        write(os.path.join(d, f"tok-{m}", "codes.json"), codes)
        write(os.path.join(d, f"tok-{m}", "train-tokenizer.resolved.json"),
              {"config": {"tokenizer": {"levels": 2, "codebook_size": 4, "e_dim": 32, "epochs": 40, "lr": 0.004,
                                        "schedule": "cosine", "warmup_epochs": 4, "batch_size": 1024,
                                        "alpha": 0.02, "beta": 0.0001, "kmeans_restarts": 1}}, "stage": ""})
    vals = {"tiger": (0.0401, 0.0611, 0.0250, 0.0322), "collab": (0.0402, 0.0622, 0.0251, 0.0333),
            "div": (0.0403, 0.0633, 0.0252, 0.0344), "both": (0.0404, 0.0644, 0.0253, 0.0355),
            "letter": (0.0405, 0.0655, 0.0254, 0.0366)}
    for v, mv in vals.items():
        if f"rec-{v}" in skip:
            continue
        m = {"metrics": metrics(*mv), "users": 1000}
        if bias:
            m.update({"coverage@10": 0.0111 * (1 + len(v)), "popular10_share@10": 0.9 - len(v) / 100})
        write(os.path.join(d, f"rec-{v}", "metrics.json"), m)
        write(os.path.join(d, f"rec-{v}", "train_summary.json"), {
            "best_epoch": 1, "epochs": [{"epoch": 1, "loss": 3.5, "valid_ndcg@10": 0.02, "evaluated": True},
                                        {"epoch": 2, "loss": 3.1, "valid_ndcg@10": 0.025, "evaluated": True}]})
        write(os.path.join(d, f"rec-{v}", "train-recommender.resolved.json"), {
            "config": {"recommender": {"tau": 0.7 if v == "letter" else 1.0, "preset": "quick",
                                       "arch": "decoder", "dropout": 0.1, "bf16": True, "encoder_layers": 2,
                                       "decoder_layers": 2, "d_model": 64, "heads": 4, "d_kv": 16, "d_ff": 256,
                                       "epochs": 1, "batch_size": 256, "lr": 0.002, "softmax": "all",
                                       "valid_users": 500}}, "stage": ""})


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def build(self, **kw):
        make_run(self.d, **kw)
        with redirect_stdout(io.StringIO()):
            report.main([self.d])
        with open(os.path.join(self.d, "report.md")) as f:
            return f.read()

    def row(self, text, start):
        rows = [ln for ln in text.splitlines() if ln.startswith("| " + start)]
        self.assertTrue(rows, f"no table row starting with {start!r}")
        return [c.strip() for c in rows[0].strip("|").split("|")]

    def test_table1_values_and_paper_columns(self):
        text = self.build()
        sas = self.row(text, "SASRec (train-cf)")
        self.assertEqual(sas[1:6], ["0.0312", "0.0523", "0.0201", "0.0268", "4000"])
        self.assertEqual(sas[6:10], ["0.0380", "0.0588", "0.0246", "0.0313"])  # LETTER Table 1, Beauty
        lt = self.row(text, "LETTER-TIGER")
        self.assertEqual(lt[1:5], ["0.0405", "0.0655", "0.0254", "0.0366"])
        self.assertEqual(lt[6:10], ["0.0431", "0.0672", "0.0277", "0.0364"])
        tg = self.row(text, "TIGER |")
        self.assertEqual(tg[1:5], ["0.0401", "0.0611", "0.0250", "0.0322"])
        self.assertIn("0.0655 [0.0555, 0.0755]", text)  # bootstrap interval of LETTER-TIGER R@10
        # coverage@10 and popular-10% share@10, after the paper columns
        header = self.row(text, "model | R@5")
        self.assertEqual(header[10:12], ["coverage@10", "popular-10% share@10"])
        self.assertEqual(sas[10:12], ["0.4321", "0.5432"])  # cf/metrics.json test
        self.assertEqual(tg[10:12], ["0.0666", "0.8500"])  # rec-tiger/metrics.json top level
        self.assertEqual(lt[10:12], ["0.0777", "0.8400"])

    def test_table1_bias_columns_missing(self):
        text = self.build(bias=False)
        for start in ("SASRec (train-cf)", "TIGER |", "LETTER-TIGER"):
            self.assertEqual(self.row(text, start)[10:12], ["—", "—"], start)
        self.assertEqual(self.row(text, "SASRec (train-cf)")[2], "0.0523")

    def test_table1_bias_not_run(self):
        text = self.build(skip=("rec-tiger",))
        r = self.row(text, "TIGER |")
        self.assertEqual(len(r), 12)
        self.assertEqual(r[1], "not run")

    def test_table2_rows_and_tau(self):
        text = self.build()
        r = self.row(text, "+ collaborative reg.")
        self.assertEqual(r[1:5], ["tok-collab", "1.00", "0.0622", "0.0333"])
        self.assertEqual(r[6:8], ["0.0660", "0.0351"])
        r = self.row(text, "+ ranking-guided loss")
        self.assertEqual(r[1:5], ["tok-letter", "0.70", "0.0655", "0.0366"])

    def test_missing_stages_are_not_run(self):
        text = self.build(skip=("rec-div", "tok-div", "rec-letter"))
        self.assertEqual(self.row(text, "+ diversity reg.")[3], "not run")
        self.assertEqual(self.row(text, "LETTER-TIGER")[1], "not run")
        self.assertEqual(self.row(text, "diversity only (alpha = 0)")[1], "not run")

    def test_table2_only_with_ablations(self):
        text = self.build(ablations=False)
        self.assertNotIn("## Table 2", text)
        self.assertNotIn("+ collaborative reg.", text)
        summary = text.split("<!-- readme-summary:begin -->")[1].split("<!-- readme-summary:end -->")[0]
        lines = [ln for ln in summary.splitlines() if "Table 2" in ln]
        self.assertEqual(len(lines), 1)
        self.assertIn("`scripts/reproduce.sh Beauty --budget cpu --ablations`", lines[0])
        self.assertIn("| Table 2 ablation | not run (add --ablations) |", text)
        self.assertIn("`scripts/reproduce.sh Beauty --budget cpu`.", text)  # header: the command as run
        # no "not run" rows for the ablation tokenizers either; a line says how to get them
        self.assertNotIn("| collaborative only (beta = 0)", text)
        self.assertNotIn("| diversity only (alpha = 0)", text)
        self.assertIn("run with `--ablations`", text)
        self.assertEqual(self.row(text, "LETTER-TIGER")[2], "0.0655")  # Table 1 unchanged

    def test_table2_with_some_ablation_stages(self):
        # One ablation stage is enough for Table 2; the others are "not run" rows.
        text = self.build(skip=("tok-collab", "tok-div", "rec-collab", "rec-div"))
        self.assertIn("## Table 2", text)
        self.assertIn("--budget cpu --ablations`", text.splitlines()[2])  # header command
        self.assertEqual(self.row(text, "+ both reg.")[3:5], ["0.0644", "0.0355"])
        self.assertEqual(self.row(text, "+ collaborative reg.")[3], "not run")
        self.assertEqual(self.row(text, "collaborative only (beta = 0)")[1], "not run")

    def test_tokenizer_tables(self):
        text = self.build()
        header = self.row(text, "tokenizer | L")
        self.assertEqual(header[1:6], ["L", "overlap (fraction of L)", "overlap (count)",
                                       "argmin overlap (fraction)", "argmin overlap (count)"])
        self.assertEqual(header[9], "paper overlap (count)")
        # letter: L = table4_levels (2), not levels (3); count = fraction x L
        r = self.row(text, "LETTER (collab. + diversity) | 2")
        self.assertEqual(r[1:6], ["2", "0.2000", "0.4000", "0.2100", "0.4200"])
        self.assertEqual(r[9], "0.3312")  # paper Table 4, Beauty (a count)
        r = self.row(text, "TIGER (plain RQ-VAE) | 2")  # L from "levels"
        self.assertEqual(r[2:4], ["0.1000", "0.2000"])
        self.assertEqual(r[9], "0.1135")
        r = self.row(text, "collaborative only (beta = 0) | —")  # no L: no count
        self.assertEqual(r[2:6], ["0.3000", "—", "0.3100", "—"])
        self.assertIn("paper's Table 4 values", text)
        self.assertIn("are on the **count** scale", text)
        col = self.row(text, "diversity only (alpha = 0) | 9")
        self.assertEqual(col[1:5], ["9", "7", "77.78%", "2"])
        self.assertIn("| 3 / 4 | 75.0% |", text)

    def test_settings_show_presets(self):
        text = self.build()
        r = self.row(text, "train-recommender |")
        self.assertIn("preset quick, arch decoder: 2 decoder-only layers, d_model 64", r[1])
        self.assertIn("bf16 on", r[1])
        self.assertIn("warm-up — of the steps", r[1])  # a key the fixture's config lacks
        r = self.row(text, "train-tokenizer |")
        self.assertIn("preset none, dtype float32;", r[1])
        self.assertIn("tiger 40 epochs, lr 0.004 (cosine, warm-up 4)", r[1])

    def test_timing_table(self):
        text = self.build()
        r = self.row(text, "cf |")
        self.assertEqual(r[1:4], ["train-cf", "ran", "120.5"])
        self.assertIn("`ffffffffffffffff`", r[6])
        tot = self.row(text, "**total**")
        self.assertEqual(tot[3], "150.8")  # 120.5 + 30.25 (cached stages keep their time)

    def test_svgs_well_formed_with_labels(self):
        self.build()
        for name in ("fig_code_freq.svg", "fig_cf_curves.svg", "fig_tokenizer_curves.svg", "fig_rec_curves.svg"):
            root = ET.parse(os.path.join(self.d, name)).getroot()
            texts = [t.text or "" for t in root.iter(SVG + "text")]
            self.assertTrue(any("epoch" in t or "code rank" in t for t in texts), name)
            self.assertGreaterEqual(len(list(root.iter(SVG + "polyline"))), 1, name)
        root = ET.parse(os.path.join(self.d, "fig_code_freq.svg")).getroot()
        texts = [t.text or "" for t in root.iter(SVG + "text")]
        self.assertIn("TIGER (plain RQ-VAE): 3 codes used", texts)
        self.assertIn("items per code (log scale)", texts)
        for tick in ("1", "10"):
            self.assertIn(tick, texts)
        # the line of the first tokenizer goes through the sorted counts 5, 3, 1
        pl = next(root.iter(SVG + "polyline")).get("points").split()
        self.assertEqual(len(pl), 3)
        ys = [float(p.split(",")[1]) for p in pl]
        self.assertTrue(ys[0] < ys[1] < ys[2])  # SVG y grows downwards

    def test_empty_panel_says_no_data(self):
        make_run(self.d, skip=("rec-tiger", "rec-collab", "rec-div", "rec-both", "rec-letter"))
        with redirect_stdout(io.StringIO()):
            report.main([self.d])
        root = ET.parse(os.path.join(self.d, "fig_rec_curves.svg")).getroot()
        self.assertIn("no data in the artifacts", [t.text for t in root.iter(SVG + "text")])

    def test_errors(self):
        with self.assertRaises(SystemExit) as e:
            report.build_report(os.path.join(self.d, "missing"))
        self.assertIn("not a directory", str(e.exception))
        with self.assertRaises(SystemExit) as e:
            report.build_report(self.d)
        self.assertIn("holds no reproduce.sh artifacts", str(e.exception))
        write(os.path.join(self.d, "cf", "metrics.json"), {})
        with open(os.path.join(self.d, "cf", "metrics.json"), "w") as f:
            f.write("{broken")
        with self.assertRaises(SystemExit) as e:
            report.build_report(self.d)
        self.assertIn("not valid JSON", str(e.exception))

    def test_nice_ticks(self):
        self.assertEqual(report.nice_ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        self.assertEqual(report.nice_ticks(1, 30), [0, 10, 20, 30])
        t = report.nice_ticks(0.0123, 0.0456)
        self.assertLessEqual(t[0], 0.0123)
        self.assertGreaterEqual(t[-1], 0.0456)
        self.assertEqual(len(report.nice_ticks(5, 5)), len(set(report.nice_ticks(5, 5))))
        with self.assertRaises(ValueError):
            report.nice_ticks(0, float("nan"))

    def test_tick_labels(self):
        self.assertEqual(report.tick_label(0), "0")
        self.assertEqual(report.tick_label(0.25), "0.25")
        self.assertEqual(report.tick_label(1000.0), "1000")
        self.assertEqual(report.tick_label(1e-5), "1e-05")


class UpdateReadmeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        make_run(os.path.join(self.d, "run"))
        with redirect_stdout(io.StringIO()):
            report.main([os.path.join(self.d, "run")])
        self.report = os.path.join(self.d, "run", "report.md")
        self.readme = os.path.join(self.d, "README.md")

    def tearDown(self):
        self.tmp.cleanup()

    def test_replaces_between_markers_and_is_idempotent(self):
        with open(self.readme, "w") as f:
            f.write(f"# x\n\nintro\n\n{urr.BEGIN}\nold text\n{urr.END}\n\n## Later\nkeep\n")
        with redirect_stdout(io.StringIO()):
            urr.main([self.report, "--readme", self.readme])
        with open(self.readme) as f:
            first = f.read()
        self.assertNotIn("old text", first)
        self.assertIn("## Later\nkeep\n", first)
        self.assertIn("| LETTER-TIGER | 0.0405 | 0.0655 |", first)
        self.assertIn("scripts/update_readme_results.py", first)
        with redirect_stdout(io.StringIO()):
            urr.main([self.report, "--readme", self.readme])
        with open(self.readme) as f:
            self.assertEqual(f.read(), first)

    def test_missing_markers_is_an_error(self):
        with open(self.readme, "w") as f:
            f.write("# x\n")
        with self.assertRaises(SystemExit) as e:
            urr.main([self.report, "--readme", self.readme])
        self.assertIn(urr.BEGIN, str(e.exception))


class TokenizerRunsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        make_run(self.tmp.name)
        # A run still training: only history.json so far.
        self.live = os.path.join(self.tmp.name, "live")
        write(os.path.join(self.live, "history.json"),
              [{"epoch": 500, "seconds": 700.5, "recon_mse": 0.0013, "collision_rate": 0.004, "used": [90, 256]}])

    def tearDown(self):
        self.tmp.cleanup()

    def run_main(self, *args):
        out = io.StringIO()
        with redirect_stdout(out):
            tokenizer_runs.main(list(args))
        return out.getvalue().splitlines()

    def test_summary_and_history(self):
        lines = self.run_main(os.path.join(self.tmp.name, "tok-letter"), self.live, "--history")
        row = [c.strip() for c in lines[2].split("|")[1:-1]]
        self.assertEqual(row[0], "tok-letter")
        self.assertEqual(row[3:7], ["40", "12.5", "—", "0.002000"])
        self.assertEqual(row[7:11], ["0.55556", "0", "3/4", "0.2000"])  # 5 of 9 collide before
        self.assertEqual([c.strip() for c in lines[3].split("|")[1:-1]][0:4], ["live (in training)", "", "", "500"])
        hist = [ln for ln in lines if ln.startswith("| tok-letter | 10 ") or ln.startswith("| live | 500 ")]
        self.assertEqual(len(hist), 2)
        self.assertIn("| 700.5 | 0.001300 | 0.00400 | 90/256 |", hist[1])

    def test_imported_codes(self):
        d = os.path.join(self.tmp.name, "official")
        write(os.path.join(d, "stats.json"), {"source": "x.index.json", "collision_rate": 0.00107,
                                              "collisions": {"collisions_before": 13, "collision_rate_before": 0.00107,
                                                             "resolved": False},
                                              "distinct_tuples": 12088, "table4_overlap": 0.0687,
                                              "code_levels": [{"used": 197}, {"used": 256}]})
        row = [c.strip() for c in self.run_main(d)[2].split("|")[1:-1]]
        self.assertEqual(row, ["official", "imported", "—", "—", "—", "—", "—", "0.00107", "13 (as given)",
                               "197/256", "0.0687"])

    def test_not_a_run(self):
        with self.assertRaises(SystemExit) as e:
            self.run_main(self.tmp.name)
        self.assertIn("neither stats.json nor history.json", str(e.exception))
        with self.assertRaises(SystemExit) as e:
            self.run_main(os.path.join(self.tmp.name, "missing"))
        self.assertIn("is not a folder", str(e.exception))


class RecRunsTest(unittest.TestCase):
    # The killed run's log, as `letter train-recommender` writes it (spdlog with and without the
    # timestamp prefix): epoch 2 has no validation; progress, cf and tokenizer lines are not epochs.
    LOG = [
        "[info] loaded Instruments (letter): 24772 users, 9922 items, 206153 interactions",
        "[info] train-recommender: arch decoder, 131837 train samples in 25530 windows (527 batches of ~256), "
        "2000 validation users, 12 epochs, 127 warm-up steps, tau 0.7, softmax level, 2878272 parameters, device cpu",
        "[info] epoch 1 6504/131837 samples (5%) 599.1 samples/s eta=209s",
        "[2026-12-06 07:34:21.591] [info] epoch=1/12 step=527 loss=3.4031 lr=1.980e-03 samples/s=471 "
        "gflop/s=64.82 train_s=280.0 valid_recall@10=0.0855 valid_ndcg@10=0.0499 eval_s=20.0 best_epoch=1",
        "[info] cf epoch=3 loss=0.50000 valid_ndcg@10=0.9 best=0.9@3 positions/s=10",
        "[info] epoch=7 loss=0.1 recon=0.1 quant=0.1 cf=0.1 div=0.1 lr=1e-3 s/epoch=1.0",
        "[info] epoch=2/12 step=1054 loss=2.7730 lr=1.892e-03 samples/s=540 gflop/s=74.18 train_s=240.0",
        "[2026-12-06 07:54:00.000] [info] epoch=3/12 step=1581 loss=2.5359 lr=1.741e-03 samples/s=496 "
        "gflop/s=68.12 train_s=265.0 valid_recall@10=0.0995 valid_ndcg@10=0.0603 eval_s=35.0 best_epoch=3",
        "[info] epoch 4 256/131837 samples (0%) 365.9 samples/s eta=360s",
    ]

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.done = os.path.join(self.tmp.name, "beauty-t5")
        write(os.path.join(self.done, "config.json"), {
            "data": {"name": "Beauty", "path": "../shared/data/Beauty"},
            "recommender": {"arch": "t5", "encoder_layers": 2, "decoder_layers": 3, "d_model": 64, "lr": 0.0005,
                            "batch_size": 1024, "dropout": 0.1, "epochs": 5, "tau": 0.7, "preset": ""}})
        # training + validation seconds: 90, 120 (no validation), 120 (best), 120 -> 1.5, 3.5, 5.5, 7.5 min
        write(os.path.join(self.done, "train_summary.json"), {
            "best_epoch": 3, "best_valid_ndcg@10": 0.0312, "best_valid": {"recall@10": 0.0601, "ndcg@10": 0.0312},
            "stopped_early": True, "interrupted": False, "train_samples": 1000, "valid_users": 200,
            "wall_seconds": 460.0,
            "epochs": [
                {"epoch": 1, "steps": 10, "loss": 5.0, "lr": 1e-3, "seconds": 60.0, "evaluated": True,
                 "valid_recall@10": 0.0400, "valid_ndcg@10": 0.0200, "eval_seconds": 30.0, "improved": True},
                {"epoch": 2, "steps": 20, "loss": 4.0, "lr": 1e-3, "seconds": 120.0, "evaluated": False},
                {"epoch": 3, "steps": 30, "loss": 3.5, "lr": 1e-3, "seconds": 90.0, "evaluated": True,
                 "valid_recall@10": 0.0601, "valid_ndcg@10": 0.0312, "eval_seconds": 30.0, "improved": True},
                {"epoch": 4, "steps": 40, "loss": 3.4, "lr": 1e-3, "seconds": 60.0, "evaluated": True,
                 "valid_recall@10": 0.0550, "valid_ndcg@10": 0.0300, "eval_seconds": 60.0, "improved": False}]})
        write(os.path.join(self.done, "metrics.json"), {
            "split": "test", "dataset": "Beauty", "users": 22363, "coverage@10": 0.1557, "popular10_share@10": 0.9272,
            "metrics": {"recall@10": 0.0590, "ndcg@10": 0.0328, "recall@5": 0.04, "ndcg@5": 0.03,
                        "ci95": {"recall@10": [0.0557, 0.0621], "ndcg@10": [0.0307, 0.0346]}}})
        self.killed = os.path.join(self.tmp.name, "instr-decoder")
        write(os.path.join(self.killed, "config.json"), {
            "data": {"path": "../shared/data/Instruments"},
            "recommender": {"arch": "decoder", "encoder_layers": 4, "decoder_layers": 4, "d_model": 128,
                            "lr": 0.002, "batch_size": 256, "dropout": 0.2, "epochs": 12}})
        with open(os.path.join(self.killed, "train.log"), "w") as f:
            f.write("\n".join(self.LOG) + "\n")

    def tearDown(self):
        self.tmp.cleanup()

    def run_main(self, *args):
        out = io.StringIO()
        with redirect_stdout(out):
            rec_runs.main(list(args))
        return out.getvalue().splitlines()

    @staticmethod
    def cells(line):
        return [c.strip() for c in line.strip().strip("|").split("|")]

    def test_table_rows(self):
        lines = self.run_main(self.done, self.killed)
        header = self.cells(lines[0])
        self.assertEqual(header[0], "run")
        self.assertEqual(len(header), len(rec_runs.HEADER))
        done, killed = self.cells(lines[2]), self.cells(lines[3])
        self.assertEqual(done, ["beauty-t5", "Beauty", "t5", "2+3", "64", "0.0005", "1024", "0.1",
                                "4 / 5 (early stop)", "3", "0.0601", "0.0312", "5.5", "7.5",
                                "0.0590 [0.0557, 0.0621]", "0.0328 [0.0307, 0.0346]", "0.1557", "0.9272"])
        # from train.log: dataset from data.path, decoder layers only, no test metrics
        self.assertEqual(killed, ["instr-decoder", "Instruments", "decoder", "4", "128", "0.002", "256", "0.2",
                                  "3 / 12", "3", "0.0995", "0.0603", "14.0", "14.0", "—", "—", "—", "—"])
        notes = [ln for ln in lines if ln.startswith("- ")]
        self.assertEqual(len(notes), 1)
        self.assertIn("instr-decoder: no train_summary.json", notes[0])
        self.assertIn("read from train.log, 3 epochs logged", notes[0])

    def test_minutes_to_best(self):
        eps = rec_runs.RecRun(self.done).epochs
        self.assertAlmostEqual(rec_runs.minutes_to(eps, 3), 5.5)  # (60+30 + 120 + 90+30) / 60
        self.assertAlmostEqual(rec_runs.minutes_to(eps, 1), 1.5)
        self.assertIsNone(rec_runs.minutes_to(eps, 9))
        self.assertIsNone(rec_runs.minutes_to(eps, None))
        self.assertEqual([round(m, 2) for _, m, _ in rec_runs.timeline(eps)], [1.5, 3.5, 5.5, 7.5])

    def test_train_log_parser(self):
        s = rec_runs.parse_train_log(self.LOG)
        self.assertEqual([e["epoch"] for e in s["epochs"]], [1, 2, 3])  # cf / tokenizer lines ignored
        self.assertEqual((s["best_epoch"], s["planned"], s["stopped_early"], s["finished"]), (3, 12, False, False))
        e1, e2, e3 = s["epochs"]
        self.assertEqual(e1, {"epoch": 1, "evaluated": True, "steps": 527, "loss": 3.4031, "lr": 1.98e-3,
                              "samples_per_s": 471.0, "gflops": 64.82, "seconds": 280.0, "valid_recall@10": 0.0855,
                              "valid_ndcg@10": 0.0499, "eval_seconds": 20.0})
        self.assertFalse(e2["evaluated"])
        self.assertEqual(e2["seconds"], 240.0)
        self.assertNotIn("valid_ndcg@10", e2)
        self.assertNotIn("eval_seconds", e2)
        self.assertEqual((e3["valid_ndcg@10"], e3["eval_seconds"]), (0.0603, 35.0))
        # minutes to best from the log: (280+20 + 240 + 265+35) / 60 = 14.0
        self.assertAlmostEqual(rec_runs.minutes_to(s["epochs"], s["best_epoch"]), 14.0)
        # an appended log: a resume keeps epochs up to its checkpoint, a fresh start drops them all
        resumed = self.LOG + ["[info] resuming runs/x after epoch 2 (step 1054, best valid ndcg@10 0.0499 at "
                              "epoch 1)", self.LOG[1],
                              "[info] epoch=3/12 step=1581 loss=2.5 lr=1.7e-03 samples/s=500 gflop/s=68 "
                              "train_s=100.0 valid_recall@10=0.1 valid_ndcg@10=0.07 eval_s=5.0 best_epoch=3",
                              "[info] early stop: no validation NDCG@10 improvement in 6 evaluations; best epoch 3"]
        s = rec_runs.parse_train_log(resumed)
        self.assertEqual([e["epoch"] for e in s["epochs"]], [1, 2, 3])
        self.assertEqual((s["epochs"][2]["seconds"], s["stopped_early"]), (100.0, True))
        s = rec_runs.parse_train_log(self.LOG + [self.LOG[1], self.LOG[6]])
        self.assertEqual([e["epoch"] for e in s["epochs"]], [2])
        self.assertIsNone(s["best_epoch"])  # no evaluation since the fresh start

    def test_history(self):
        lines = self.run_main(self.done, self.killed, "--history")
        hist = [self.cells(ln) for ln in lines if ln.startswith(("| beauty-t5 | ", "| instr-decoder | "))]
        hist = [h for h in hist if len(h) == 6]  # the history table, not the summary rows
        self.assertEqual([h[:3] for h in hist], [["beauty-t5", "1", "1.5"], ["beauty-t5", "3", "5.5"],
                                                 ["beauty-t5", "4", "7.5"], ["instr-decoder", "1", "5.0"],
                                                 ["instr-decoder", "3", "14.0"]])  # evaluations only
        self.assertEqual(hist[1][3:], ["0.0601", "0.0312", "best"])
        self.assertEqual(hist[2][5], "")
        self.assertNotIn("| run | epoch | minutes |", "\n".join(self.run_main(self.done)))

    def test_svg_lines_and_legend(self):
        svg = os.path.join(self.tmp.name, "cmp.svg")
        lines = self.run_main(self.done, self.killed, "--svg", svg)
        self.assertEqual(lines[-1], f"wrote {svg}")
        root = ET.parse(svg).getroot()
        texts = [t.text or "" for t in root.iter(SVG + "text")]
        for name in ("beauty-t5", "instr-decoder", "cumulative minutes (training + validation)",
                     "validation NDCG@10 (beam search)"):
            self.assertIn(name, texts)
        self.assertTrue(any("Beauty, Instruments" in t for t in texts))
        pls = list(root.iter(SVG + "polyline"))
        self.assertEqual(len(pls), 2)  # one line per run
        self.assertEqual([len(p.get("points").split()) for p in pls], [3, 2])  # one point per evaluation
        self.assertNotEqual(pls[0].get("stroke"), pls[1].get("stroke"))
        # --x epoch --metric recall: x = epoch numbers, y = Recall@10
        self.run_main(self.done, self.killed, "--svg", svg, "--x", "epoch", "--metric", "recall")
        root = ET.parse(svg).getroot()
        texts = [t.text or "" for t in root.iter(SVG + "text")]
        self.assertIn("epoch", texts)
        self.assertIn("validation Recall@10 (beam search)", texts)
        self.assertEqual(len(list(root.iter(SVG + "polyline"))), 2)

    def test_run_without_evaluation_and_interrupted(self):
        fresh = os.path.join(self.tmp.name, "fresh")
        os.makedirs(fresh)
        with open(os.path.join(fresh, "train.log"), "w") as f:
            f.write("\n".join(self.LOG[:3]) + "\n")
        s = rec_runs.RecRun(self.done).summary
        s["interrupted"] = True
        write(os.path.join(self.done, "train_summary.json"), s)
        svg = os.path.join(self.tmp.name, "cmp.svg")
        lines = self.run_main(self.done, fresh, "--svg", svg)
        row = self.cells(lines[3])
        self.assertEqual(row[:4], ["fresh", "—", "—", "—"])  # no config.json
        self.assertEqual(row[8:14], ["0 / 12", "—", "—", "—", "—", "—"])  # planned epochs from the log
        self.assertIn("- beauty-t5: interrupted", "\n".join(lines))
        self.assertIn("not drawn: fresh", lines[-1])
        self.assertEqual(len(list(ET.parse(svg).getroot().iter(SVG + "polyline"))), 1)

    def test_not_a_run(self):
        with self.assertRaises(SystemExit) as e:
            self.run_main(self.tmp.name)
        self.assertIn("neither train_summary.json nor train.log", str(e.exception))
        with self.assertRaises(SystemExit) as e:
            self.run_main(os.path.join(self.tmp.name, "missing"))
        self.assertIn("is not a folder", str(e.exception))


class ReproduceDryRunTest(unittest.TestCase):
    """scripts/reproduce.sh --dry-run on data/tiny with a stub `letter` (its `config` prints a
    fixed JSON): which stages each budget plans, with which settings, and the plan it prints."""
    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.stub = os.path.join(self.tmp.name, "letter")
        with open(self.stub, "w") as f:
            f.write('#!/bin/sh\nif [ "$1" = config ]; then echo \'{"seed": 42}\'; exit 0; fi\n'
                    'echo "stub letter: $*" >&2; exit 1\n')
        os.chmod(self.stub, os.stat(self.stub).st_mode | stat.S_IXUSR)
        self.run_dir = os.path.join(self.tmp.name, "run")

    def tearDown(self):
        self.tmp.cleanup()

    def dry(self, *args):
        env = {k: v for k, v in os.environ.items() if k not in ("CPU_USERS", "EMB_NPY", "THREADS", "BUILD_DIR")}
        env.update(LETTER_BIN=self.stub, DATA_ROOT=os.path.join(self.ROOT, "data"))
        p = subprocess.run(["bash", os.path.join(self.ROOT, "scripts", "reproduce.sh"), "tiny", *args,
                            "--dry-run", "--run-dir", self.run_dir], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def planned(self, out):
        """{stage name: planned command} of a dry run."""
        stages = {}
        for ln in out.splitlines():
            if ln.startswith("== ") and " would run: " in ln:
                name, cmd = ln[3:].split(" would run: ", 1)
                stages[name.strip()] = cmd
        return stages

    def test_smoke_default_and_ablations(self):
        out = self.dry("--budget", "smoke")
        self.assertIn("smoke budget:", out)
        self.assertIn("add --ablations", out)
        self.assertEqual(list(self.planned(out)), ["embed", "cf", "tok-tiger", "tok-letter", "rec-tiger",
                                                   "eval-tiger", "rec-letter", "eval-letter"])
        out = self.dry("--budget", "smoke", "--ablations")
        self.assertIn("--ablations: +", out)
        st = self.planned(out)
        for name in ("tok-collab", "tok-div", "rec-collab", "eval-collab", "rec-div", "eval-div", "rec-both",
                     "eval-both"):
            self.assertIn(name, st)
        self.assertIn("--set tokenizer.beta=0", st["tok-collab"])
        self.assertIn("--set tokenizer.alpha=0", st["tok-div"])
        self.assertIn("tok-letter/codes.json --set recommender.tau=1", st["rec-both"])

    def test_cpu_budget_settings(self):
        out = self.dry("--budget", "cpu")
        self.assertIn("cpu budget: MiniLM embeddings", out)
        self.assertRegex(out, r"about [0-9.]+ h on 2 cores")
        st = self.planned(out)
        self.assertNotIn("tok-collab", st)
        self.assertNotIn("embed.encoder=tfidf", st["embed"])
        for m in ("tiger", "letter"):
            self.assertIn("--set tokenizer.preset=quick --set tokenizer.dtype=bfloat16", st[f"tok-{m}"])
            self.assertIn("--set recommender.preset=quick", st[f"rec-{m}"])
            self.assertIn("--set recommender.preset=quick", st[f"eval-{m}"])
        self.assertIn("--set cf.epochs=25 --set cf.lr=0.003 --set cf.patience=5", st["cf"])
        self.assertIn("recommender.tau=1", st["rec-tiger"])
        self.assertNotIn("recommender.tau", st["rec-letter"])  # the config's tau

    def test_help_and_earlier_ablations_note(self):
        env = dict(os.environ, LETTER_BIN=self.stub)
        p = subprocess.run(["bash", os.path.join(self.ROOT, "scripts", "reproduce.sh"), "--help"], env=env,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--ablations", p.stdout)
        self.assertIn("about 2.5 hours", p.stdout)
        os.makedirs(os.path.join(self.run_dir, "rec-both"))
        open(os.path.join(self.run_dir, "rec-both", "recommender.pt"), "w").close()
        out = self.dry("--budget", "smoke")
        self.assertIn("note: rec-both of an earlier --ablations run", out)


if __name__ == "__main__":
    unittest.main()
