"""Unit tests of the numbers each report figure draws (scripts/report/report_data.py), on small
run folders written here with known values, and of the figures' tolerance of missing data.

Run: /usr/bin/python3 tests/scripts/test_report_data.py (ctest: report_figure_data).
"""

import json
import math
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "report"))
sys.path.insert(0, HERE)

import report_data as data  # noqa: E402

TOL = 1e-12  # exact arithmetic on a few doubles


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def jsonl(records, torn=""):
    return "".join(json.dumps(r) + "\n" for r in records) + torn


def episode(i, kd, macs=10):
    return {"type": "episode", "episode": i, "kd_loss": kd, "macs": macs,
            "total_macs": macs * (i + 1)}


def codes(t1, v1, t2, v2, tmax):
    return {"t1_code": t1, "v1_code": v1, "t2_code": t2, "v2_code": v2, "tmax_code": tmax}


def result(method, seed, drop, layer_codes):
    return {"method": method, "seed": seed, "metrics": {"acc_drop": drop},
            "layers": layer_codes}


class Run(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.run = os.path.join(self.tmp.name, "run")
        write(os.path.join(self.run, "config.yaml"), "runtime: {seed: 0}\n")

    def tearDown(self):
        self.tmp.cleanup()

    def search(self, name, history, res=None, test=None, extra=None):
        d = os.path.join(self.run, "search", name)
        write(os.path.join(d, "history.jsonl"), history)
        if res is not None:
            write(os.path.join(d, "result.json"), json.dumps(res))
        if test is not None:
            write(os.path.join(d, "eval_test.json"), json.dumps(test))
        for f, v in (extra or {}).items():
            write(os.path.join(d, f), json.dumps(v))
        return d


class JsonLines(Run):
    def test_torn_last_line_is_skipped_with_a_note(self):
        path = os.path.join(self.run, "h.jsonl")
        write(path, jsonl([{"a": 1}, {"a": 2}], torn='{"a": 3, "b'))
        records, notes = data.read_jsonl(path)
        self.assertEqual(records, [{"a": 1}, {"a": 2}])
        self.assertEqual(len(notes), 1)
        self.assertIn("cut short", notes[0])
        self.assertIn("11 bytes", notes[0])

    def test_missing_file_is_empty(self):
        self.assertEqual(data.read_jsonl(os.path.join(self.run, "none.jsonl")), ([], []))


class SearchCurves(Run):
    def test_best_so_far_macs_holdout_and_updates(self):
        records = [episode(0, 0.5), episode(1, 0.3), episode(2, 0.4), episode(3, 0.1),
                   {"type": "eval", "episode": 2,
                    "holdout": {"acc_teacher": 95.0, "acc_student": 94.5}},
                   {"type": "update", "episode": 4, "entropy": 4.5, "approx_kl": 0.01,
                    "clip_fraction": 0.2}]
        c = data.search_curve(records)
        self.assertEqual(c["evals"], [1, 2, 3, 4])
        self.assertEqual(c["best_kd"], [0.5, 0.3, 0.3, 0.1])
        self.assertEqual(c["macs"], [10, 20, 30, 40])
        self.assertEqual(c["holdout_evals"], [2])
        self.assertAlmostEqual(c["holdout_drop"][0], 0.5, delta=TOL)
        self.assertEqual(c["updates"]["episode"], [4])
        self.assertEqual(c["updates"]["clip_fraction"], [0.2])

    def test_mean_and_band_over_seeds_on_the_shortest_seed(self):
        self.search("ppo-seed0", jsonl([episode(0, 0.4), episode(1, 0.2), episode(2, 0.1),
                                        episode(3, 0.05)]), result("ppo", 0, 1.0, {}))
        self.search("ppo-seed1", jsonl([episode(0, 0.6), episode(1, 0.6), episode(2, 0.3)]),
                    result("ppo", 1, 1.0, {}))
        curves = data.method_curves(data.find_searches(self.run))
        c = curves["ppo"]
        self.assertEqual(c["seeds"], 2)
        self.assertEqual(c["evals"], [1, 2, 3])
        for got, want in zip(c["mean"], [0.5, 0.4, 0.2]):
            self.assertAlmostEqual(got, want, delta=TOL)
        self.assertEqual(c["lo"], [0.4, 0.2, 0.1])
        self.assertEqual(c["hi"], [0.6, 0.6, 0.3])
        # The MAC grid of the seed that spent least (30 MACs).
        self.assertEqual(c["macs"], [10, 20, 30])
        for got, want in zip(c["macs_mean"], [0.5, 0.4, 0.2]):
            self.assertAlmostEqual(got, want, delta=TOL)

    def test_holdout_mean_holds_each_seed_from_its_round_on(self):
        ev = lambda e, s: {"type": "eval", "episode": e,  # noqa: E731
                           "holdout": {"acc_teacher": 95.0, "acc_student": s}}
        self.search("sga-seed0", jsonl([episode(0, 0.1), ev(2, 94.0), ev(6, 94.5)]))
        self.search("sga-seed1", jsonl([episode(0, 0.1), ev(4, 93.0), ev(8, 95.0)]))
        c = data.method_curves(data.find_searches(self.run))["sga"]
        # Rounds 4 and 6 lie where both seeds have a value (4 .. 6): drops (1, 2) then (0.5, 2).
        self.assertEqual(c["holdout_evals"], [4, 6])
        self.assertEqual(c["holdout_mean"], [1.5, 1.25])
        self.assertEqual(c["holdout_lo"], [1.0, 0.5])
        self.assertEqual(c["holdout_hi"], [2.0, 2.0])

    def test_method_from_folder_name_when_result_is_missing(self):
        self.search("random-seed3", jsonl([episode(0, 0.2)], torn='{"type'))
        s = data.find_searches(self.run)
        self.assertEqual([(x["method"], x["seed"], x["result"]) for x in s], [("random", 3, None)])
        self.assertEqual(data.method_curves(s)["random"]["mean"], [0.2])


class Codes(Run):
    def test_table_at_the_edges(self):
        t = data.lut(codes(4, 10, 16, 24, 32))
        self.assertEqual(len(t), 256)
        expect = {0: 0, 4: 0, 5: 10, 16: 10, 17: 24, 32: 24, 33: 33, 255: 255}
        for c, v in expect.items():
            self.assertEqual(t[c], v, c)

    def test_layer_codes_keep_forward_order(self):
        r = {"layers": {"conv2_1": codes(2, 3, 6, 7, 12), "conv1_1": codes(4, 10, 16, 24, 32)}}
        self.assertEqual([n for n, _ in data.layer_codes(r)], ["conv2_1", "conv1_1"])
        self.assertEqual(data.layer_codes(r)[0][1]["tmax_code"], 12)

    def test_histograms_from_percentiles_then_from_the_dump(self):
        import h5py
        import numpy as np
        self.assertEqual(data.code_histograms(self.run), ({}, None))
        acts = os.path.join(self.run, "acts")
        os.makedirs(acts)
        with h5py.File(os.path.join(acts, "acts_int8.h5"), "w") as f:
            f.attrs["kind"] = "int8"
            f.attrs["images"] = 3
            f["layer_names"] = np.array([b"conv1_1"])
            f["acts/conv1_1"] = np.array([[[[0, 5]], [[5, 255]]]] * 3, dtype=np.uint8)
        hist, source = data.code_histograms(self.run)
        self.assertIn("acts_int8.h5", source)
        self.assertEqual((hist["conv1_1"][0], hist["conv1_1"][5], hist["conv1_1"][255]), (3, 6, 3))
        self.assertEqual(sum(hist["conv1_1"]), 12)
        h = np.zeros((1, 256), dtype=np.int64)
        h[0, 7] = 42
        with h5py.File(os.path.join(acts, "percentiles.h5"), "w") as f:
            f.attrs["format"] = "triseg-percentiles-v1"
            f.attrs["tmax"] = 32
            f.attrs["images"] = 10
            f["layer_names"] = np.array([b"conv1_1"])
            f["levels"] = np.array([50.0, 99.0])
            f["histograms"] = h
            f["percentiles"] = np.array([[7, 7]], dtype=np.int32)
            f["fraction_le_tmax"] = np.array([1.0])
        hist, source = data.code_histograms(self.run)
        self.assertIn("percentiles.h5", source)
        self.assertEqual(hist["conv1_1"][7], 42)
        stats = data.activation_stats(self.run)
        self.assertEqual(stats["percentiles"]["percentiles"], [[7, 7]])
        self.assertEqual(stats["percentiles"]["fraction_le_tmax"], [1.0])
        self.assertIsNone(stats["variance"])

    def test_best_per_method_by_test_drop_then_held_out(self):
        L = {"conv1_1": codes(4, 10, 16, 24, 32)}
        self.search("ppo-seed0", "", result("ppo", 0, 0.1, L), {"acc_drop": 0.9})
        self.search("ppo-seed1", "", result("ppo", 1, 0.8, L), {"acc_drop": 0.3})
        self.search("sga-seed0", "", result("sga", 0, 0.2, L), {"acc_drop": 0.5})
        best = data.best_per_method(data.find_searches(self.run))
        self.assertEqual([s["name"] for s in best], ["ppo-seed1", "sga-seed0"])
        self.assertEqual(data.score(best[0]), (0.3, "test drop"))


class Comparison(Run):
    def test_points_mean_sd_and_references(self):
        L = {"conv1_1": codes(4, 10, 16, 24, 32)}
        for seed, drop in enumerate([0.2, 0.4, 0.6]):
            self.search("ppo-seed%d" % seed, "", result("ppo", seed, 9.0, L), {"acc_drop": drop})
        for seed, drop in enumerate([0.3, 0.5]):
            self.search("lloyd-seed%d" % seed, "", result("lloyd", seed, 9.0, L),
                        {"acc_drop": drop})
        self.search("sga-seed0", "", result("sga", 0, 9.0, L))  # no eval_test.json: left out
        write(os.path.join(self.run, "codes", "eval_evenly-spaced.json"),
              json.dumps({"acc_drop": 2.11, "split": "fashion-mnist/test"}))
        write(os.path.join(self.run, "codes", "eval_val.json"),
              json.dumps({"acc_drop": 5.0, "split": "fashion-mnist/val"}))
        s = data.find_searches(self.run)
        rows, metric = data.method_comparison(s)
        self.assertEqual(metric, "test")
        self.assertEqual([r["method"] for r in rows], ["lloyd", "ppo"])
        ppo = rows[1]
        self.assertEqual(ppo["values"], [0.2, 0.4, 0.6])
        self.assertAlmostEqual(ppo["mean"], 0.4, delta=TOL)
        self.assertAlmostEqual(ppo["sd"], 0.2, delta=TOL)  # sample sd
        refs = data.references([self.run], s)
        self.assertEqual(refs[0], ("teacher (INT8)", 0.0))
        self.assertEqual(refs[1], ("evenly spaced", 2.11))
        self.assertEqual(refs[2][0], "Lloyd-Max")
        self.assertAlmostEqual(refs[2][1], 0.4, delta=TOL)
        self.assertEqual(len(refs), 3)  # the val-split evaluation is no test-set reference

    def test_held_out_drops_without_any_test_evaluation(self):
        self.search("ppo-seed0", "", result("ppo", 0, 0.7, {}))
        rows, metric = data.method_comparison(data.find_searches(self.run))
        self.assertEqual((metric, rows[0]["values"], rows[0]["sd"]), ("held-out", [0.7], 0.0))


class Analyses(Run):
    def test_sensitivity_modes(self):
        rank = [{"layer": "conv1_2", "kd_loss": 0.3, "acc_drop": 1.5},
                {"layer": "conv1_1", "kd_loss": 0.1, "acc_drop": -0.5}]
        write(os.path.join(self.run, "analysis", "sensitivity.json"),
              json.dumps({"ranking": rank}))
        write(os.path.join(self.run, "analysis", "sensitivity_loo.json"),
              json.dumps({"mode": "leave-one-out", "ranking": rank[:1]}))
        modes = data.sensitivity(self.run)
        self.assertEqual([m for m, _ in modes], ["leave-one-in", "leave-one-out"])
        self.assertEqual(modes[0][1]["conv1_1"], {"kd_loss": 0.1, "acc_drop": -0.5})
        self.assertEqual(list(modes[1][1]), ["conv1_2"])

    def test_variance_without_percentiles(self):
        write(os.path.join(self.run, "analysis", "activation_variance.json"),
              json.dumps({"layers": {"conv1_1": {"std": 0.25, "zero_fraction": 0.5}}}))
        s = data.activation_stats(self.run)
        self.assertIsNone(s["percentiles"])
        self.assertEqual(s["variance"], {"conv1_1": {"std": 0.25, "zero_fraction": 0.5}})

    def test_front_sorted_by_coverage(self):
        pts = [{"covered": 0.95, "kd_loss": 0.4, "holdout_acc_drop": 2.0},
               {"covered": 0.92, "kd_loss": 0.1, "holdout_acc_drop": 0.5}]
        self.search("nsga2-seed0", "", result("nsga2", 0, 0.5, {}),
                    extra={"front.json": {"points": pts}})
        f = data.fronts(data.find_searches(self.run))
        self.assertEqual(f, [("nsga2-seed0", [(0.92, 0.1, 0.5), (0.95, 0.4, 2.0)])])


class Training(Run):
    def test_float_qat_and_ste_curves(self):
        write(os.path.join(self.run, "float", "metrics.jsonl"), jsonl(
            [{"epoch": 1, "train_loss": 0.6, "test_loss": 0.5, "train_acc": 77.0, "test_acc": 82.0},
             {"epoch": 2, "train_loss": 0.4, "test_loss": 0.45, "train_acc": 86.0,
              "test_acc": 85.0}]))
        ste = os.path.join(self.run, "ste", "lsq-seed0")
        write(os.path.join(ste, "metrics.jsonl"),
              jsonl([{"epoch": 1, "train_loss": 0.05, "test_acc": 92.0}], torn='{"epo'))
        notes = []
        curves = data.training_curves(self.run, notes)
        self.assertEqual([label for label, _ in curves], ["float", "ste lsq-seed0"])
        self.assertEqual(len(notes), 1)
        self.assertIn("lsq-seed0", notes[0])
        fl = curves[0][1]
        self.assertEqual(fl["epoch"], [1, 2])
        self.assertEqual(fl["test_acc"], [82.0, 85.0])
        self.assertNotIn("val_loss", fl)
        self.assertEqual(curves[1][1], {"epoch": [1], "train_loss": [0.05], "test_acc": [92.0]})

    def test_ste_gradient_percentiles_and_code_trajectories(self):
        def rec(epoch, step, norms, t1):
            return {"epoch": epoch, "step": step, "loss": 0.1, "kd": 0.1, "coverage": 0.9,
                    "beta": 1.0, "layers": {"conv1_1": {
                        "params": {"t1_base_p": 1.0},
                        "codes": codes(t1, 10, 16, 24, 32),
                        "grad_norm": dict(("p%d" % i, v) for i, v in enumerate(norms))}}}
        # Epoch 1: norms 1..100 (p1 = 1, p50 = 50, p99 = 99); epoch 2: one norm 1e-10.
        recs = [rec(1, 0, range(1, 51), 4), rec(1, 1, range(51, 101), 5), rec(2, 2, [1e-10], 5)]
        g = data.ste_gradients(recs)
        self.assertEqual(g, {"epoch": [1, 2], "p1": [1, 1e-10], "p50": [50, 1e-10],
                             "p99": [99, 1e-10]})
        t = data.ste_code_trajectories(recs)
        self.assertEqual(t["conv1_1"]["step"], [0, 1, 2])
        self.assertEqual(t["conv1_1"]["t1_code"], [4, 5, 5])
        self.assertEqual(data.ste_gradients([{"epoch": 1}]),
                         {"epoch": [], "p1": [], "p50": [], "p99": []})


class Folders(Run):
    def test_sweep_folder_expands_to_its_runs(self):
        sweep = os.path.join(self.tmp.name, "sweep")
        for name in ("b", "a"):
            write(os.path.join(sweep, name, "config.yaml"), "")
        os.makedirs(os.path.join(sweep, "not-a-run"))
        write(os.path.join(sweep, "ste", "config.yaml"), "")  # a run named like a stage folder
        self.assertEqual(data.expand_runs([self.run, sweep]),
                         [self.run] + [os.path.join(sweep, n) for n in ("a", "b", "ste")])
        # A copied run without config.yaml is still a run.
        bare = os.path.join(self.tmp.name, "bare")
        os.makedirs(os.path.join(bare, "float"))
        self.assertEqual(data.expand_runs([bare]), [bare])


BAD_VALUES = (7, "x", [1], {"a": 1}, True)


def set_path(doc, path, value):
    """A copy of `doc` with the key path ("a.b", "a[0].b") set to `value`."""
    doc = json.loads(json.dumps(doc))
    at = doc
    keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]
    for k in keys[:-1]:
        at = at[k]
    at[keys[-1]] = value
    return doc


class Malformed(Run):
    """Valid JSON of the wrong shape: a note naming the file (and line), and the rest drawn."""

    def test_records_of_the_wrong_type_are_skipped_naming_their_lines(self):
        path = os.path.join(self.run, "h.jsonl")
        write(path, "7\n\"x\"\n[1]\n" + jsonl([{"type": "episode", "kd_loss": "0.1"},
                                                   episode(1, 0.2), {"type": 3}]))
        records, notes = data.read_jsonl(path, data.SEARCH_HISTORY)
        self.assertEqual(len(records), 3)
        for line, what in ((1, "a number"), (2, "a string"), (3, "a list")):
            self.assertIn("skipped line %d of %s: the record is %s, not an object" % (
                line, path, what), notes)
        self.assertIn("line 4 of %s: `kd_loss` is a string, not a number; left out" % path, notes)
        self.assertIn("line 6 of %s: `type` is a number, not a string; left out" % path, notes)
        self.assertEqual(data.search_curve(records)["best_kd"], [0.2])

    def test_a_result_whose_metrics_is_a_string(self):
        L = {"conv1_1": codes(4, 10, 16, 24, 32)}
        res = dict(result("ppo", 0, 0.5, L), metrics="broken")
        self.search("ppo-seed0", jsonl([episode(0, 0.1)]), res)
        notes = []
        s = data.find_searches(self.run, notes)
        self.assertEqual(len(notes), 1)
        self.assertIn("result.json: `metrics` is a string, not an object", notes[0])
        self.assertEqual(data.score(s[0]), (math.inf, None))
        self.assertEqual([x["name"] for x in data.best_per_method(s)], ["ppo-seed0"])

    def test_every_field_the_figures_read_may_have_any_type(self):
        L = {"conv1_1": codes(4, 10, 16, 24, 32)}
        files = {
            "search/ppo-seed0/result.json": result("ppo", 0, 0.5, L),
            "search/ppo-seed0/eval_test.json": {"acc_drop": 0.4, "split": "x/test"},
            "search/ppo-seed0/front.json": {"points": [
                {"covered": 0.9, "kd_loss": 0.1, "holdout_acc_drop": 0.5}]},
            "codes/eval_even.json": {"acc_drop": 2.0, "split": "x/test"},
            "analysis/sensitivity.json": {"mode": "leave-one-in", "ranking": [
                {"layer": "conv1_1", "kd_loss": 0.1, "acc_drop": 0.2}]},
            "analysis/activation_variance.json": {
                "layers": {"conv1_1": {"std": 0.5, "zero_fraction": 0.1}}},
        }
        lines = {
            "search/ppo-seed0/history.jsonl": [
                episode(0, 0.3), {"type": "eval", "episode": 1,
                                  "holdout": {"acc_teacher": 90.0, "acc_student": 89.0}},
                {"type": "update", "episode": 2, "entropy": 1.0, "approx_kl": 0.1,
                 "clip_fraction": 0.2}],
            "float/metrics.jsonl": [{"epoch": 1, "train_loss": 0.5, "test_acc": 80.0}],
            "ste/lsq-seed0/history.jsonl": [{"epoch": 1, "step": 0, "layers": {"conv1_1": {
                "grad_norm": {"p": 0.1}, "codes": codes(4, 10, 16, 24, 32)}}}],
        }

        def paths(v, prefix=""):
            if isinstance(v, dict):
                for k, x in v.items():
                    yield from paths(x, prefix + "." + k if prefix else k)
            elif isinstance(v, list):
                for i, x in enumerate(v):
                    yield from paths(x, "%s[%d]" % (prefix, i))
            if prefix:
                yield prefix

        def everything():
            notes = []
            searches = data.find_searches(self.run, notes)
            data.method_curves(searches)
            data.method_comparison(searches + data.find_ste_results(self.run, notes))
            data.references([self.run], searches, notes)
            for s in data.best_per_method(searches):
                data.layer_codes(s["result"])
            data.sensitivity(self.run, notes)
            data.activation_stats(self.run, notes)
            data.fronts(searches, notes)
            for d in data.ste_folders(self.run):
                records, more = data.read_jsonl(os.path.join(d, "history.jsonl"),
                                                data.STE_HISTORY)
                notes += more
                data.ste_gradients(records)
                data.ste_code_trajectories(records)
            data.training_curves(self.run, notes)
            _, more = data.read_jsonl(os.path.join(self.run, "search/ppo-seed0/history.jsonl"),
                                      data.SEARCH_HISTORY)
            return notes + more

        def write_all(changed=None, value=None, key=None):
            for name, doc in files.items():
                doc = set_path(doc, key, value) if name == changed else doc
                write(os.path.join(self.run, name), json.dumps(doc))
            for name, recs in lines.items():
                recs = [set_path(r, key[key.index(".") + 1:], value)
                        if name == changed and i == int(key[1:key.index("]")]) else r
                        for i, r in enumerate(recs)]
                write(os.path.join(self.run, name), jsonl(recs))

        write_all()
        self.assertEqual(everything(), [])
        cases = [(n, k) for n, d in files.items() for k in paths(d)]
        cases += [(n, "[%d].%s" % (i, k)) for n, recs in lines.items()
                  for i, r in enumerate(recs) for k in paths(r)]
        for name, key in cases:
            for bad in BAD_VALUES:
                with self.subTest(file=name, key=key, value=bad):
                    write_all(name, bad, key)
                    notes = everything()  # never raises
                    if notes:
                        self.assertTrue(any(name in n for n in notes), notes)
        for name in list(files) + list(lines):  # a whole file or record of another type
            for bad in BAD_VALUES[:3]:
                write_all()
                text = json.dumps(bad) + ("\n" if name in lines else "")
                write(os.path.join(self.run, name), text)
                with self.subTest(file=name, value=bad):
                    self.assertTrue(any(name in n for n in everything()))

    def test_the_html_report_draws_what_it_can_and_notes_the_rest(self):
        import report_html
        self.search("ppo-seed0", "5\n" + jsonl([episode(0, 0.3), {"type": "episode",
                                                                     "kd_loss": [1]}]),
                    dict(result("ppo", 0, 0.5, {}), metrics="broken"))
        write(os.path.join(self.run, "float", "metrics.jsonl"),
              jsonl([{"epoch": 1, "train_loss": 0.5}, {"epoch": "2", "train_loss": 0.4}]) +
              '"epoch"\n')
        out = os.path.join(self.tmp.name, "report")
        self.assertEqual(report_html.main(["--out", out, self.run]), 0)
        with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
            page = f.read()
        history = os.path.join(self.run, "search", "ppo-seed0", "history.jsonl")
        metrics = os.path.join(self.run, "float", "metrics.jsonl")
        for needle in ("skipped line 1 of %s: the record is a number" % history,
                       "line 3 of %s: `kd_loss` is a list, not a number" % history,
                       "result.json: `metrics` is a string, not an object",
                       "line 2 of %s: `epoch` is a string, not an integer" % metrics,
                       "skipped line 3 of %s: the record is a string" % metrics,
                       'src="search_curves.svg"', 'src="training.svg"'):
            self.assertIn(needle, page)


class TestFronts(unittest.TestCase):
    """The test-set fronts come from `triseg report --json` rows as they are (computed in C++);
    the figure's data keeps runs, labels and seeds apart."""

    @staticmethod
    def label(run, name, seeds):
        return {"run": run, "label": name, "method": name.split("+")[0], "seeds": len(seeds),
                "hypervolume_mean": 0.5, "hypervolume_sd": 0.1 if len(seeds) > 1 else None,
                "mean_front": [{"covered": 0.9, "acc_drop": 1.0}],
                "per_seed": [{"seed": s, "hypervolume": 0.4 + 0.1 * s,
                              "front": [{"covered": 0.9, "acc_drop": 1.0 + s}],
                              "points": [{"covered": 0.9, "acc_drop": 1.0 + s, "source": "x"},
                                         {"covered": 0.8, "acc_drop": 2.0, "point": 3}]}
                             for s in seeds]}

    def rows(self):
        return {"fronts": {"split": "test",
                           "box": {"covered": [0.85, 0.99], "acc_drop": [0.0, 5.0]},
                           "labels": [self.label("a", "nsga2+alloc", [0, 1]),
                                      self.label("a", "sga", [0]),
                                      self.label("b", "sga", [2])],
                           "comparisons": [], "notes": []}}

    def test_runs_labels_and_seeds(self):
        box, runs = data.test_fronts(self.rows())
        self.assertEqual(box, (0.85, 0.99, 0.0, 5.0))
        self.assertEqual([r for r, _ in runs], ["a", "b"])
        labels = runs[0][1]
        self.assertEqual([lab["label"] for lab in labels], ["nsga2+alloc", "sga"])
        self.assertEqual(labels[0]["seeds"], 2)
        self.assertEqual(labels[0]["hv_sd"], 0.1)
        self.assertIsNone(labels[1]["hv_sd"])
        self.assertEqual(labels[0]["mean_front"], [(0.9, 1.0)])
        seed, hv, points, front = labels[0]["per_seed"][1]
        self.assertEqual((seed, hv), (1, 0.4 + 0.1))
        self.assertEqual(points, [(0.9, 2.0), (0.8, 2.0)])
        self.assertEqual(front, [(0.9, 2.0)])
        self.assertEqual(runs[1][1][0]["per_seed"][0][0], 2)

    def test_absent_or_empty_fronts_are_none(self):
        self.assertIsNone(data.test_fronts(None))
        self.assertIsNone(data.test_fronts({"runs": []}))
        rows = self.rows()
        rows["fronts"]["labels"] = []
        self.assertIsNone(data.test_fronts(rows))

    def test_a_value_of_another_type_is_left_out_with_a_note(self):
        rows = self.rows()
        rows["fronts"]["labels"][0]["per_seed"][0]["points"][0]["covered"] = "high"
        notes = []
        _, runs = data.test_fronts(rows, notes)
        self.assertEqual(runs[0][1][0]["per_seed"][0][2], [(0.8, 2.0)])
        self.assertTrue(any("`labels[0].per_seed[0].points[0].covered` is a string" in n for n in notes),
                        notes)

    def test_the_figure_draws_one_panel_per_run(self):
        import report_figures as figures
        fig = figures.draw_test_fronts(data.test_fronts(self.rows()))
        visible = [ax for ax in fig.axes if ax.get_visible()]
        self.assertEqual(len(visible), 2)
        self.assertEqual(visible[0].get_xlabel(),
                         "coverage: share of block output codes <= tmax, test set (%); "
                         "axes: the box, points beyond it cut off")
        # The axes frame the hypervolume box (coverage 85-99%, drop 0-5) with a margin.
        x0, x1 = visible[0].get_xlim()
        y0, y1 = visible[0].get_ylim()
        self.assertTrue(x0 < 85 < 99 < x1 <= 101, (x0, x1))
        self.assertTrue(y0 <= 0 < 5 < y1 < 6, (y0, y1))
        legend = [t.get_text() for t in visible[0].get_legend().get_texts()]
        self.assertEqual(legend[:2], ["nsga2+alloc (2 seeds, HV 0.500 ± 0.100)",
                                      "sga (1 seed, HV 0.500)"])


class FiguresWithoutData(unittest.TestCase):
    """A partial run: every figure without its data is None (a note), never an error."""

    def test_empty_inputs_draw_nothing(self):
        import report_figures as figures
        self.assertIsNone(figures.draw_search_curves({}))
        self.assertIsNone(figures.draw_comparison([], "test", []))
        self.assertIsNone(figures.draw_sensitivity([], []))
        self.assertIsNone(figures.draw_activation_stats(None))
        self.assertIsNone(figures.draw_fronts([]))
        self.assertIsNone(figures.draw_test_fronts(None))
        self.assertIsNone(figures.draw_ste([("x", {"epoch": []}, {})]))
        self.assertIsNone(figures.draw_training([]))

    def test_a_single_point_method_is_drawn(self):
        import report_figures as figures
        c = {"seeds": 1, "evals": [1], "mean": [0.1], "lo": [0.1], "hi": [0.1], "macs": [5e9],
             "macs_mean": [0.1], "macs_lo": [0.1], "macs_hi": [0.1], "holdout": [([1], [0.5])],
             "holdout_evals": [1], "holdout_mean": [0.5], "holdout_lo": [0.5],
             "holdout_hi": [0.5]}
        fig = figures.draw_search_curves({"lloyd": c})
        self.assertGreaterEqual(len(fig.axes), 3)
        self.assertTrue(math.isfinite(fig.axes[0].get_ylim()[0]))


class BlankImageCheck(unittest.TestCase):
    """The end-to-end test's blank-image detector finds a blank and passes a real figure."""

    def test_blank_and_drawn(self):
        import numpy as np
        import check_report_images as check
        import report_figures as figures
        white = np.ones((40, 60, 4))
        self.assertEqual(check.ink_share(white), 0.0)
        fig = figures.draw_training([("float", {"epoch": [1, 2], "train_loss": [0.6, 0.4]})])
        fig.canvas.draw()
        drawn = np.asarray(fig.canvas.buffer_rgba()) / 255.0
        self.assertGreater(check.ink_share(drawn), check.MIN_INK)


if __name__ == "__main__":
    unittest.main()
