#!/usr/bin/env python3
"""scripts/ppo-ablation-table on folders made here: the numbers it reports against known values."""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "ppo-ablation-table")
loader = importlib.machinery.SourceFileLoader("ppo_ablation_table", SCRIPT)
spec = importlib.util.spec_from_loader("ppo_ablation_table", loader)
table = importlib.util.module_from_spec(spec)
loader.exec_module(table)

FULL = [[4, 9, 14, 20, 32], [5, 11, 17, 25, 32]]
PARTIAL = [[4, 9, 14, 20, 32], [0, 0, 0, 0, 0]]


def write_variant(root, name, seed, drop, kd, covered, episodes):
    """episodes: (kd_loss, codes) per episode line."""
    folder = os.path.join(root, f"{name}-seed{seed}")
    os.makedirs(folder)
    with open(os.path.join(folder, "eval_test.json"), "w") as f:
        json.dump({"acc_drop": drop, "kd_loss": kd, "covered": covered}, f)
    with open(os.path.join(folder, "history.jsonl"), "w") as f:
        for i, (k, codes) in enumerate(episodes):
            f.write(json.dumps({"type": "episode", "episode": i, "kd_loss": k, "codes": codes}) +
                    "\n")
            f.write(json.dumps({"type": "update", "update": i}) + "\n")


class Table(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        # baseline: bests 0.5, 0.4 (episode 2), 0.4 and 0.3, 0.3 (episode 1)
        write_variant(self.root, "baseline", 0, 0.5, 0.05, 0.92,
                      [(0.5, FULL), (0.4, FULL), (0.45, FULL)])
        write_variant(self.root, "baseline", 1, 0.3, 0.04, 0.90,
                      [(0.3, FULL), (0.35, FULL), (0.31, FULL)])
        # curriculum: its partial episodes have lower KD but are not results
        write_variant(self.root, "curriculum", 0, 0.2, 0.03, 0.94,
                      [(0.1, PARTIAL), (0.45, FULL), (0.39, FULL)])
        write_variant(self.root, "curriculum", 1, 0.4, 0.05, 0.96,
                      [(0.01, PARTIAL), (0.5, FULL), (0.32, FULL)])
        # a variant still running: no eval_test.json
        os.makedirs(os.path.join(self.root, "gru-seed0"))

    def tearDown(self):
        self.tmp.cleanup()

    def test_rows(self):
        rows = table.table(table.collect(self.root))
        self.assertEqual([r["variant"] for r in rows], ["baseline", "curriculum"])
        base, cur = rows
        self.assertEqual(base["test_drop"], [0.5, 0.3])
        self.assertAlmostEqual(base["mean"], 0.4)
        self.assertAlmostEqual(base["sd"], 0.1414213562373095)
        self.assertEqual(base["reaches"], [2, 1])  # the episode of its own best
        self.assertAlmostEqual(cur["minus_baseline"], -0.1)  # (-0.3 + 0.1) / 2
        self.assertAlmostEqual(cur["p"], 1.0)  # every sign pattern gives |sum| >= 0.2
        self.assertAlmostEqual(cur["test_kd"], 0.04)
        self.assertAlmostEqual(cur["covered"], 0.95)
        # seed 0 reaches 0.4 at episode 3 (0.39); the partial 0.1 does not count. Seed 1 never
        # reaches 0.3 (the partial 0.01 does not count).
        self.assertEqual(cur["reaches"], [3, None])

    def test_sign_flip(self):
        self.assertAlmostEqual(table.sign_flip_p([1, 1, 1, 1, 1]), 2 / 32)
        self.assertAlmostEqual(table.sign_flip_p([1, -1]), 1.0)
        self.assertAlmostEqual(table.sign_flip_p([3, 1]), 0.5)  # (+,+) and (-,-) of 4

    def test_command(self):
        out_json = os.path.join(self.root, "table.json")
        r = subprocess.run([sys.executable, SCRIPT, self.root, "--json", out_json],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| curriculum | 0.20 / 0.40 | 0.30 ± 0.14 | -0.10 (p = 1) | 0.0400 "
                      "| 95.00% | 1 of 2; 3 |", r.stdout)
        self.assertIn("gru-seed0 has no eval_test.json yet", r.stderr)
        with open(out_json) as f:
            self.assertEqual(len(json.load(f)), 2)
        # a link planted where the temporary file goes is refused, not followed
        os.symlink(os.path.join(self.root, "elsewhere"), out_json + ".tmp")
        r = subprocess.run([sys.executable, SCRIPT, self.root, "--json", out_json],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 3)
        self.assertIn("already exists", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "elsewhere")))
        r = subprocess.run([sys.executable, SCRIPT, os.path.join(self.root, "none")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("is not a folder", r.stderr)


if __name__ == "__main__":
    unittest.main()
