#!/usr/bin/env python3
"""scripts/ste-summary on a run folder made here: the numbers it reports against known values."""
import importlib.machinery
import importlib.util
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "ste-summary")
loader = importlib.machinery.SourceFileLoader("ste_summary", SCRIPT)
spec = importlib.util.spec_from_loader("ste_summary", loader)
ste = importlib.util.module_from_spec(spec)
loader.exec_module(ste)


def write(path, obj, lines=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if lines:
            for o in obj:
                f.write(json.dumps(o) + "\n")
        else:
            json.dump(obj, f)


def evaluation(drop, kd, in_range):
    # two layers of 100 and 300 codes
    return {"acc_drop": drop, "kd_loss": kd,
            "layers": {"a": {"codes_seen": 100, "fraction_in_range": in_range[0]},
                       "b": {"codes_seen": 300, "fraction_in_range": in_range[1]}}}


class SteSummary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        run = self.run = self.tmp.name
        write(os.path.join(run, "int8", "eval.json"), {"int8": {"accuracy": 90.0}})
        for seed, drop in ((0, 0.2), (1, 0.4)):
            d = os.path.join(run, "ste", "original-seed%d" % seed)
            write(os.path.join(d, "result.json"), {"variant": "original", "seed": seed,
                                                   "codes_moved": 10 + seed, "codes_total": 65,
                                                   "wall_seconds": 100.0})
            write(os.path.join(d, "eval_test.json"), evaluation(drop, 0.02, (1.0, 0.5)))
            write(os.path.join(d, "eval_init_test.json"), evaluation(1.0, 0.05, (1.0, 0.5)))
            write(os.path.join(d, "metrics.jsonl"),
                  [{"epoch": 1, "grad_norm": {"all": {"p1": 1e-6, "p50": 1e-4, "p99": 1e-2}}}],
                  lines=True)
        write(os.path.join(run, "ste", "lsq-seed0", "history.jsonl"), {})  # unfinished: skipped
        for method, drops in (("ppo", (0.5, 0.7)), ("sga", (0.3, 0.3))):
            for seed, drop in enumerate(drops):
                d = os.path.join(run, "search", "%s-seed%d" % (method, seed))
                write(os.path.join(d, "result.json"), {"method": method})
                write(os.path.join(d, "eval_test.json"), evaluation(drop, 0.03, (1.0, 1.0)))

    def tearDown(self):
        self.tmp.cleanup()

    def test_numbers(self):
        s = ste.summary(self.run)
        self.assertEqual([(r["variant"], r["seed"]) for r in s["ste"]],
                         [("original", 0), ("original", 1)])
        r = s["ste"][0]
        self.assertAlmostEqual(r["covered"], (100 * 1.0 + 300 * 0.5) / 400)
        self.assertEqual(r["moved"], 10)
        self.assertEqual(r["init_drop"], 1.0)
        self.assertEqual(sorted(s["searches"]), ["ppo", "sga"])
        m, sd = ste.mean_sd([0.2, 0.4])
        self.assertAlmostEqual(m, 0.3)
        self.assertAlmostEqual(sd, 0.1414213562373095)
        self.assertEqual(ste.mean_sd([]), (None, None))

    def test_table(self):
        import io
        from contextlib import redirect_stdout
        out = io.StringIO()
        with redirect_stdout(out):
            ste.print_summary(ste.summary(self.run))
        text = out.getvalue()
        self.assertIn("| best search: sga (n=2) | 89.70 | 0.30 ± 0.00 |", text)
        self.assertIn("| PPO (search) (n=2) | 89.40 | 0.60 ± 0.14 |", text)
        self.assertIn("| Supervised STE, original (n=2) | 89.70 | 0.30 ± 0.14 |", text)
        self.assertIn("| Random init (the STE start as is) | 89.00 | 1.00 ± 0.00 |", text)
        self.assertIn("e1 1.0e-06 / 1.0e-04 / 1.0e-02", text)


if __name__ == "__main__":
    unittest.main()
