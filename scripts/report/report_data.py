"""The numbers each report figure draws, read from the files triseg commands write.

No plotting here (report_figures.py draws), so the unit tests (tests/scripts/
test_report_data.py) check exactly the data a figure shows. Every reader tolerates a
missing file (returns None or an empty list); nothing here fails on a partial run.
File formats: docs/files.md, docs/search.md, docs/activations.md.
"""

import glob
import json
import math
import os
import re

# PPO's update statistics drawn under the search curves.
PPO_UPDATE_FIELDS = ("entropy", "approx_kl", "clip_fraction")
# Per-epoch fields of metrics.jsonl (float/, qat/, ste/<variant>-seed<N>/).
TRAIN_FIELDS = ("train_loss", "test_loss", "val_loss", "train_acc", "test_acc", "val_acc")
CODE_KEYS = ("t1_code", "v1_code", "t2_code", "v2_code", "tmax_code")


# What the figures read of each file, by type: NUMBER, INTEGER, STRING, an object {key: type}
# (other keys are kept as they are), ("list", type) or ("map", type) (an object of any keys).
# A value of another type is left out with a note naming the file, the line and the key, so
# one damaged record costs only what it holds (docs/files.md, Report folder).
NUMBER, INTEGER, STRING = "a number", "an integer", "a string"
CODES = {k: INTEGER for k in CODE_KEYS}
RESULT = {"method": STRING, "seed": INTEGER, "metrics": {"acc_drop": NUMBER},
          "layers": ("map", CODES)}
EVALUATION = {"acc_drop": NUMBER, "split": STRING}  # eval_test.json, codes/eval_<name>.json
SENSITIVITY = {"mode": STRING,
               "ranking": ("list", {"layer": STRING, "kd_loss": NUMBER, "acc_drop": NUMBER})}
VARIANCE = {"layers": ("map", {"std": NUMBER, "zero_fraction": NUMBER})}
FRONT = {"points": ("list", {"covered": NUMBER, "kd_loss": NUMBER, "holdout_acc_drop": NUMBER})}
SEARCH_HISTORY = dict({"type": STRING, "episode": INTEGER, "kd_loss": NUMBER, "macs": NUMBER,
                       "total_macs": NUMBER,
                       "holdout": {"acc_teacher": NUMBER, "acc_student": NUMBER}},
                      **{f: NUMBER for f in PPO_UPDATE_FIELDS})
STE_HISTORY = {"epoch": INTEGER, "step": NUMBER,
               "layers": ("map", {"grad_norm": ("map", NUMBER), "codes": CODES})}
METRICS = dict({"epoch": INTEGER}, **{f: NUMBER for f in TRAIN_FIELDS})


def type_name(v):
    if isinstance(v, bool):
        return "true or false"
    if isinstance(v, (int, float)):
        return "a number"
    return {dict: "an object", list: "a list", str: "a string"}.get(type(v), "null")


def _matches(v, kind):
    if kind == NUMBER:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind == INTEGER:
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == STRING:
        return isinstance(v, str)
    if isinstance(kind, dict) or kind[0] == "map":
        return isinstance(v, dict)
    return isinstance(v, list)


def clean(value, kind, where, key, notes):
    """`value` with every part not of its type in `kind` left out, each with a note; None
    (and a note) when `value` itself is not. `key` names value in notes ("" at the top)."""
    if not _matches(value, kind):
        want = "an object" if isinstance(kind, (dict, tuple)) and (
            isinstance(kind, dict) or kind[0] == "map") else (
            "a list" if isinstance(kind, tuple) else kind)
        got = "a fraction" if kind == INTEGER and isinstance(value, float) else type_name(value)
        notes.append("%s: %s is %s, not %s; left out" % (
            where, "`%s`" % key if key else "the content", got, want))
        return None
    if isinstance(kind, dict):
        out = dict(value)
        for k, sub in kind.items():
            if k in out and out[k] is not None:
                v = clean(out[k], sub, where, key + "." + k if key else k, notes)
                if v is None:
                    del out[k]
                else:
                    out[k] = v
        return out
    if isinstance(kind, tuple) and kind[0] == "map":
        out = {}
        for k, v in value.items():
            v = clean(v, kind[1], where, "%s.%s" % (key, k) if key else k, notes)
            if v is not None:
                out[k] = v
        return out
    if isinstance(kind, tuple):
        items = (clean(v, kind[1], where, "%s[%d]" % (key, i), notes)
                 for i, v in enumerate(value))
        return [v for v in items if v is not None]
    return value


def read_json(path, kind=None, notes=None):
    """`path` parsed, or None when missing or not valid JSON; with `kind`, the parts of the
    wrong type left out (None when the file is not an object), noted in `notes` if given."""
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return None
    if kind is None:
        return value
    return clean(value, kind, path, "", [] if notes is None else notes)


def read_jsonl(path, kind=None):
    """(records, notes) of a JSON Lines file; ([], []) when missing.

    A last line without its newline is a record still being written, or cut short by a killed
    writer (docs/files.md): it is skipped with a note, never parsed. A complete line that is
    not JSON, or (with `kind`) not an object, is skipped with a note naming its line; a field
    of the wrong type is left out of its record with a note.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return [], []
    notes = []
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last '\n': empty when the file ends with one
    if tail:
        notes.append("skipped the last %d bytes of %s: a record cut short" % (len(tail), path))
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            notes.append("skipped line %d of %s: not JSON" % (i + 1, path))
            continue
        if kind is not None:
            record = clean(record, kind, "line %d of %s" % (i + 1, path), "", notes)
            if record is None:
                notes[-1] = "skipped line %d of %s: the record is %s, not an object" % (
                    i + 1, path, type_name(json.loads(line)))
                continue
        records.append(record)
    return records, notes


def natural_key(name):
    """conv2_10 after conv2_9."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


# ---------------------------------------------------------------------------------------------
# Runs and searches


def is_run(path):
    """A run folder has config.yaml (every pipeline command writes it); without one, a folder
    with stage folders counts as a run unless one of its subfolders is a run (a sweep)."""
    if os.path.isfile(os.path.join(path, "config.yaml")):
        return True
    if any(os.path.isfile(os.path.join(d, "config.yaml")) for d in glob.glob(os.path.join(path, "*"))):
        return False
    return any(os.path.isdir(os.path.join(path, d)) for d in ("search", "float", "int8", "ste"))


def expand_runs(paths):
    """Run folders of `paths`: a run folder as is, a sweep folder (a folder of run folders)
    as its runs in name order."""
    runs = []
    for p in paths:
        if is_run(p):
            runs.append(p)
            continue
        subs = sorted(d for d in glob.glob(os.path.join(p, "*")) if os.path.isdir(d) and is_run(d))
        runs.extend(subs)
    return runs


def split_name(folder):
    """('ppo', 3) for 'ppo-seed3'; (folder, None) otherwise."""
    m = re.match(r"^(.*)-seed(\d+)$", folder)
    return (m.group(1), int(m.group(2))) if m else (folder, None)


def find_searches(run, notes=None):
    """Every search/<name>/ folder of `run` with a result.json or a history.jsonl, by name."""
    out = []
    for d in sorted(glob.glob(os.path.join(run, "search", "*"))):
        result = read_json(os.path.join(d, "result.json"), RESULT, notes)
        history = os.path.join(d, "history.jsonl")
        if result is None and not os.path.isfile(history):
            continue
        name = os.path.basename(d)
        method, seed = split_name(name)
        if result is not None:
            method = result.get("method", method)
            seed = result.get("seed", seed)
        out.append({"run": run, "name": name, "dir": d, "method": method, "seed": seed,
                    "result": result,
                    "test": read_json(os.path.join(d, "eval_test.json"), EVALUATION, notes),
                    "history": history})
    return out


def find_ste_results(run, notes=None):
    """Every finished train-ste folder ste/<variant>-seed<N>/ of `run` (with a result.json), in
    find_searches' shape, for the method comparison (its history is not a search's)."""
    out = []
    for d in sorted(glob.glob(os.path.join(run, "ste", "*"))):
        result = read_json(os.path.join(d, "result.json"), RESULT, notes)
        if result is None:
            continue
        name = os.path.basename(d)
        variant, seed = split_name(name)
        out.append({"run": run, "name": "ste/" + name, "dir": d,
                    "method": result.get("method", "ste-" + variant),
                    "seed": result.get("seed", seed), "result": result,
                    "test": read_json(os.path.join(d, "eval_test.json"), EVALUATION, notes),
                    "history": None})
    return out


# ---------------------------------------------------------------------------------------------
# 1. Search curves


def search_curve(records):
    """Best-so-far reward KD against evaluations and int8 MACs, the held-out drop of the best
    candidate at each held-out round, and PPO's update statistics, from history records.

    Returns {"evals": [1..n], "best_kd": [...], "macs": [...] (cumulative; empty when not
    recorded), "holdout_evals": [...], "holdout_drop": [...], "updates": {"episode": [...],
    field: [...]}}.
    """
    evals, best_kd, macs = [], [], []
    best = math.inf
    total = 0
    have_macs = True
    for r in records:
        if r.get("type") != "episode" or "kd_loss" not in r:
            continue
        best = min(best, float(r["kd_loss"]))
        evals.append(len(evals) + 1)
        best_kd.append(best)
        if "total_macs" in r:
            total = float(r["total_macs"])
        elif "macs" in r:
            total += float(r["macs"])
        else:
            have_macs = False
        macs.append(total)
    hold_x, hold_y = [], []
    updates = {"episode": []}
    for f in PPO_UPDATE_FIELDS:
        updates[f] = []
    for r in records:
        t = r.get("type")
        if t == "eval" and isinstance(r.get("holdout"), dict):
            h = r["holdout"]
            if "acc_teacher" in h and "acc_student" in h:
                hold_x.append(int(r.get("episode", 0)))
                hold_y.append(float(h["acc_teacher"]) - float(h["acc_student"]))
        elif t == "update" and all(f in r for f in PPO_UPDATE_FIELDS):
            updates["episode"].append(int(r.get("episode", 0)))
            for f in PPO_UPDATE_FIELDS:
                updates[f].append(float(r[f]))
    return {"evals": evals, "best_kd": best_kd, "macs": macs if have_macs else [],
            "holdout_evals": hold_x, "holdout_drop": hold_y, "updates": updates}


def mean_min_max(rows):
    """Column-wise (mean, min, max) over equal-length rows."""
    cols = list(zip(*rows))
    return ([sum(c) / len(c) for c in cols], [min(c) for c in cols], [max(c) for c in cols])


def step_at(xs, ys, x):
    """Value of the step function (xs ascending, ys[i] from xs[i] on) at x; None before xs[0]."""
    v = None
    for xi, yi in zip(xs, ys):
        if xi > x:
            break
        v = yi
    return v


def method_curves(searches):
    """Per method, the best-so-far KD over its seeds: mean and min-max band on the evaluation
    counts every seed reached (1 .. the shortest seed's count), the same against int8 MACs
    (on the shortest seed's MAC grid), the held-out drop per held-out round, and PPO's update
    statistics averaged per update index.

    Returns {method: {"seeds": n, "evals", "mean", "lo", "hi", "macs", "macs_mean", "macs_lo",
    "macs_hi", "holdout": [(evals, drop) per seed], "updates": {field: mean list, "episode"}}}.
    """
    by = {}
    for s in searches:
        records, _ = read_jsonl(s["history"], SEARCH_HISTORY)
        c = search_curve(records)
        if c["evals"]:
            by.setdefault(s["method"], []).append(c)
    out = {}
    for method, curves in sorted(by.items()):
        n = min(len(c["evals"]) for c in curves)
        mean, lo, hi = mean_min_max([c["best_kd"][:n] for c in curves])
        m = {"seeds": len(curves), "evals": list(range(1, n + 1)), "mean": mean, "lo": lo,
             "hi": hi, "macs": [], "macs_mean": [], "macs_lo": [], "macs_hi": [],
             "holdout": [(c["holdout_evals"], c["holdout_drop"]) for c in curves],
             "holdout_evals": [], "holdout_mean": [], "holdout_lo": [], "holdout_hi": []}
        if all(c["holdout_evals"] for c in curves):
            # Each seed's held-out drop holds from its round on; the grid starts where every
            # seed has had a round and ends at the shortest seed's last round.
            start = max(c["holdout_evals"][0] for c in curves)
            end = min(c["holdout_evals"][-1] for c in curves)
            grid = sorted({x for c in curves for x in c["holdout_evals"] if start <= x <= end})
            rows = [[step_at(c["holdout_evals"], c["holdout_drop"], x) for x in grid]
                    for c in curves]
            if grid:
                m["holdout_evals"] = grid
                m["holdout_mean"], m["holdout_lo"], m["holdout_hi"] = mean_min_max(rows)
        if all(c["macs"] for c in curves):
            shortest = min(curves, key=lambda c: c["macs"][-1])
            grid = shortest["macs"]
            rows = [[step_at(c["macs"], c["best_kd"], x) for x in grid] for c in curves]
            keep = [i for i in range(len(grid)) if all(r[i] is not None for r in rows)]
            grid = [grid[i] for i in keep]
            rows = [[r[i] for i in keep] for r in rows]
            if grid:
                m["macs"] = grid
                m["macs_mean"], m["macs_lo"], m["macs_hi"] = mean_min_max(rows)
        ups = [c["updates"] for c in curves if c["updates"]["episode"]]
        if ups:
            k = min(len(u["episode"]) for u in ups)
            m["updates"] = {"episode": ups[0]["episode"][:k]}
            for f in PPO_UPDATE_FIELDS:
                m["updates"][f] = mean_min_max([u[f][:k] for u in ups])[0]
        out[method] = m
    return out


# ---------------------------------------------------------------------------------------------
# 2. Per-layer codes over code histograms


def layer_codes(result):
    """[(layer, {t1_code, v1_code, t2_code, v2_code, tmax_code})] in the file's (forward) order."""
    if not result or not isinstance(result.get("layers"), dict):
        return []
    return [(name, {k: int(v[k]) for k in CODE_KEYS})
            for name, v in result["layers"].items() if all(k in v for k in CODE_KEYS)]


def lut(codes, top=256):
    """The tri-segment table (DESIGN.md) of one layer's codes, for codes 0 .. top-1."""
    t1, v1, t2, v2, tmax = (codes[k] for k in CODE_KEYS)
    out = []
    for c in range(top):
        if c <= t1:
            out.append(0)
        elif c <= t2:
            out.append(v1)
        elif c <= tmax:
            out.append(v2)
        else:
            out.append(c)
    return out


def read_percentiles(path):
    """percentiles.h5 (docs/activations.md) as plain lists, or None when missing/unreadable."""
    if not os.path.isfile(path):
        return None
    import h5py  # only needed when the file exists
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") not in ("triseg-percentiles-v1", b"triseg-percentiles-v1"):
                return None
            return {"layers": [n.decode() if isinstance(n, bytes) else str(n)
                               for n in f["layer_names"][()]],
                    "levels": [float(x) for x in f["levels"][()]],
                    "histograms": [[int(x) for x in row] for row in f["histograms"][()]],
                    "percentiles": [[int(x) for x in row] for row in f["percentiles"][()]],
                    "fraction_le_tmax": [float(x) for x in f["fraction_le_tmax"][()]],
                    "tmax": int(f.attrs.get("tmax", 0)), "images": int(f.attrs.get("images", 0))}
    except (OSError, KeyError, ValueError):
        return None


def histograms_from_dump(path, max_images=2000):
    """Per-layer 256-bin code histograms of an int8 activation dump (its first `max_images`
    images, read a slice at a time), or None when the file is missing or not an int8 dump."""
    if not os.path.isfile(path):
        return None
    import h5py
    import numpy as np
    try:
        with h5py.File(path, "r") as f:
            if str(f.attrs.get("kind", b"")).strip("b'") != "int8":
                return None
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["layer_names"][()]]
            hists = []
            for n in names:
                ds = f["acts/" + n]
                count = np.zeros(256, dtype=np.int64)
                for i in range(0, min(ds.shape[0], max_images), 256):
                    block = ds[i:min(i + 256, ds.shape[0], max_images)]
                    count += np.bincount(block.reshape(-1), minlength=256)
                hists.append([int(x) for x in count])
            return {"layers": names, "histograms": hists,
                    "images": min(int(f.attrs.get("images", 0)), max_images)}
    except (OSError, KeyError, ValueError):
        return None


def code_histograms(run):
    """({layer: [256 counts]}, source text) from acts/percentiles.h5, else from the int8 dump
    acts/acts_int8.h5, else ({}, None)."""
    p = read_percentiles(os.path.join(run, "acts", "percentiles.h5"))
    if p:
        return dict(zip(p["layers"], p["histograms"])), "acts/percentiles.h5 (%d images)" % p[
            "images"]
    d = histograms_from_dump(os.path.join(run, "acts", "acts_int8.h5"))
    if d:
        return dict(zip(d["layers"], d["histograms"])), "acts/acts_int8.h5 (first %d images)" % d[
            "images"]
    return {}, None


def score(s):
    """How a search's result ranks (lower is better): test drop, else held-out drop."""
    if s.get("test") and "acc_drop" in s["test"]:
        return float(s["test"]["acc_drop"]), "test drop"
    r = s.get("result") or {}
    if "acc_drop" in r.get("metrics", {}):
        return float(r["metrics"]["acc_drop"]), "held-out drop"
    return math.inf, None


def best_per_method(searches):
    """The best finished search of each method (by score), best first."""
    best = {}
    for s in searches:
        if not layer_codes(s.get("result")):
            continue
        if s["method"] not in best or score(s)[0] < score(best[s["method"]])[0]:
            best[s["method"]] = s
    return sorted(best.values(), key=lambda s: (score(s)[0], s["method"]))


# ---------------------------------------------------------------------------------------------
# 3. Method comparison


def method_comparison(searches):
    """Per method (sorted by name) the per-seed test drops (eval_test.json), or held-out drops
    when no seed has a test evaluation; mean and sample sd.

    Returns (rows, metric) with rows [{"method", "seeds": [...], "values": [...], "mean", "sd"}]
    and metric "test" or "held-out".
    """
    have_test = any(s.get("test") for s in searches)
    by = {}
    for s in searches:
        if have_test:
            if not s.get("test") or "acc_drop" not in s["test"]:
                continue
            v = float(s["test"]["acc_drop"])
        else:
            r = s.get("result") or {}
            if "acc_drop" not in r.get("metrics", {}):
                continue
            v = float(r["metrics"]["acc_drop"])
        by.setdefault(s["method"], []).append((s["seed"], v))
    rows = []
    for method, pairs in sorted(by.items()):
        vals = [v for _, v in pairs]
        mean = sum(vals) / len(vals)
        sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
        rows.append({"method": method, "seeds": [s for s, _ in pairs], "values": vals,
                     "mean": mean, "sd": sd})
    return rows, "test" if have_test else "held-out"


def references(runs, searches, notes=None):
    """Reference lines of the comparison: [(label, drop)]: the teacher (0), every fixed code
    set evaluated on the test set (codes/eval_<name>.json: evenly spaced, a Lloyd-Max codes
    file), and, when no such file is Lloyd-Max, the mean test drop of the lloyd searches."""
    refs = [("teacher (INT8)", 0.0)]
    names = set()
    for run in runs:
        for path in sorted(glob.glob(os.path.join(run, "codes", "eval_*.json"))):
            e = read_json(path, EVALUATION, notes)
            if not e or "acc_drop" not in e or not str(e.get("split", "test")).endswith("test"):
                continue
            name = os.path.basename(path)[len("eval_"):-len(".json")]
            if name in names:
                continue
            names.add(name)
            label = {"evenly-spaced": "evenly spaced"}.get(name, name)
            refs.append((label, float(e["acc_drop"])))
    if not any("lloyd" in n for n in names):
        vals = [float(s["test"]["acc_drop"]) for s in searches
                if s["method"] == "lloyd" and s.get("test") and "acc_drop" in s["test"]]
        if vals:
            refs.append(("Lloyd-Max", sum(vals) / len(vals)))
    return refs


# ---------------------------------------------------------------------------------------------
# 4. Sensitivity


def sensitivity(run, notes=None):
    """[(mode, {layer: {"kd_loss", "acc_drop"}})] of every analysis/sensitivity*.json; mode
    from the file's "mode" (leave-one-in when absent: the original command's only mode)."""
    out = []
    for path in sorted(glob.glob(os.path.join(run, "analysis", "sensitivity*.json"))):
        j = read_json(path, SENSITIVITY, notes)
        if not j or not isinstance(j.get("ranking"), list):
            continue
        layers = {}
        for r in j["ranking"]:
            if "layer" in r and "kd_loss" in r and "acc_drop" in r:
                layers[r["layer"]] = {"kd_loss": float(r["kd_loss"]),
                                      "acc_drop": float(r["acc_drop"])}
        if layers:
            out.append((str(j.get("mode", "leave-one-in")), layers))
    return out


# ---------------------------------------------------------------------------------------------
# 5. Activation statistics


def activation_stats(run, notes=None):
    """Percentiles per layer and the share of codes <= tmax (percentiles.h5), and the real
    activations' std and zero fraction (analysis/activation_variance.json); None when
    neither exists."""
    p = read_percentiles(os.path.join(run, "acts", "percentiles.h5"))
    v = read_json(os.path.join(run, "analysis", "activation_variance.json"), VARIANCE, notes)
    if not p and not (v and isinstance(v.get("layers"), dict)):
        return None
    out = {"percentiles": p, "variance": None}
    if v and isinstance(v.get("layers"), dict):
        out["variance"] = {n: {"std": float(x.get("std", 0.0)),
                               "zero_fraction": float(x.get("zero_fraction", 0.0))}
                           for n, x in v["layers"].items()}
    return out


# ---------------------------------------------------------------------------------------------
# 6. nsga2 front, test-set fronts, STE diagnostics


def fronts(searches, notes=None):
    """[(label, points)] of every front.json (nsga2), points as (covered, kd_loss,
    holdout_acc_drop) sorted by coverage."""
    out = []
    for s in searches:
        f = read_json(os.path.join(s["dir"], "front.json"), FRONT, notes)
        if not f or not isinstance(f.get("points"), list):
            continue
        pts = sorted((float(p["covered"]), float(p["kd_loss"]), float(p.get("holdout_acc_drop",
                                                                              math.nan)))
                     for p in f["points"] if "covered" in p and "kd_loss" in p)
        if pts:
            out.append((s["name"], pts))
    return out


# 6c. Accuracy-coverage fronts on the test set (computed by `triseg report`)

FRONT_POINT = {"covered": NUMBER, "acc_drop": NUMBER}
TEST_FRONTS = {"box": {"covered": ("list", NUMBER), "acc_drop": ("list", NUMBER)},
               "labels": ("list", {"run": STRING, "label": STRING, "seeds": INTEGER,
                                   "hypervolume_mean": NUMBER, "hypervolume_sd": NUMBER,
                                   "mean_front": ("list", FRONT_POINT),
                                   "per_seed": ("list", {"seed": INTEGER, "hypervolume": NUMBER,
                                                         "front": ("list", FRONT_POINT),
                                                         "points": ("list", FRONT_POINT)})})}


def _pairs(points):
    return [(float(p["covered"]), float(p["acc_drop"])) for p in points or []
            if "covered" in p and "acc_drop" in p]


def test_fronts(rows, notes=None):
    """The test-set fronts of `triseg report --json` rows (their "fronts" key, computed by
    cli/report_fronts.cpp: this script draws them, it computes no hypervolume): (box, runs)
    with box = (covered_min, covered_max, drop_min, drop_max) and runs = [(run, labels)] in
    the rows' order, each label a dict with label, seeds (count), hv_mean, hv_sd (None for one
    seed), mean_front [(covered, drop)] and per_seed [(seed, hypervolume, points, front)];
    None without fronts."""
    if not isinstance(rows, dict) or not isinstance(rows.get("fronts"), dict):
        return None
    f = clean(rows["fronts"], TEST_FRONTS, "report rows: fronts", "",
              [] if notes is None else notes)
    if not f or not f.get("labels"):
        return None
    box = f.get("box") or {}
    cov = box.get("covered") or [0.85, 0.99]
    drop = box.get("acc_drop") or [0.0, 5.0]
    if len(cov) != 2 or len(drop) != 2:
        return None
    runs = []
    for lab in f["labels"]:
        if "run" not in lab or "label" not in lab:
            continue
        seeds = [(s.get("seed"), s.get("hypervolume"), _pairs(s.get("points")),
                  _pairs(s.get("front"))) for s in lab.get("per_seed", [])]
        entry = {"label": lab["label"], "seeds": lab.get("seeds", len(seeds)),
                 "hv_mean": lab.get("hypervolume_mean"), "hv_sd": lab.get("hypervolume_sd"),
                 "mean_front": _pairs(lab.get("mean_front")), "per_seed": seeds}
        for run, labels in runs:
            if run == lab["run"]:
                labels.append(entry)
                break
        else:
            runs.append((lab["run"], [entry]))
    if not runs:
        return None
    return (float(cov[0]), float(cov[1]), float(drop[0]), float(drop[1])), runs


def ste_folders(run):
    return sorted(d for d in glob.glob(os.path.join(run, "ste", "*")) if os.path.isdir(d))


def percentile(sorted_vals, q):
    """Nearest-rank percentile (q in [0, 100]) of a sorted list."""
    if not sorted_vals:
        return math.nan
    k = max(0, min(len(sorted_vals) - 1, int(math.ceil(q / 100.0 * len(sorted_vals))) - 1))
    return sorted_vals[k]


def ste_gradients(records):
    """Per epoch, percentiles 1, 50, 99 of every per-parameter gradient norm logged in that
    epoch (all layers, all steps) from STE history records: each record with "epoch" and
    "layers": {layer: {"grad_norm": {param: norm}}}.

    Returns {"epoch": [...], "p1": [...], "p50": [...], "p99": [...]}.
    """
    by = {}
    for r in records:
        if "epoch" not in r or not isinstance(r.get("layers"), dict):
            continue
        for layer in r["layers"].values():
            g = layer.get("grad_norm") if isinstance(layer, dict) else None
            if isinstance(g, dict):
                by.setdefault(int(r["epoch"]), []).extend(
                    float(v) for v in g.values() if isinstance(v, (int, float)))
    out = {"epoch": [], "p1": [], "p50": [], "p99": []}
    for e in sorted(by):
        vals = sorted(by[e])
        if not vals:
            continue
        out["epoch"].append(e)
        for q in (1, 50, 99):
            out["p%d" % q].append(percentile(vals, q))
    return out


def ste_code_trajectories(records):
    """{layer: {"step": [...], code key: [...]}} of the rounded codes in STE history records
    ("layers": {layer: {"codes": {t1_code ...}}}); the x value is "step", else the record's
    position."""
    out = {}
    for i, r in enumerate(records):
        if not isinstance(r.get("layers"), dict):
            continue
        x = r.get("step", i)
        for name, layer in r["layers"].items():
            codes = layer.get("codes") if isinstance(layer, dict) else None
            if not isinstance(codes, dict) or not all(k in codes for k in CODE_KEYS):
                continue
            t = out.setdefault(name, {"step": [], **{k: [] for k in CODE_KEYS}})
            t["step"].append(x)
            for k in CODE_KEYS:
                t[k].append(codes[k])
    return out


# ---------------------------------------------------------------------------------------------
# 7. Training curves


def training_curves(run, notes=None):
    """[(label, {"epoch": [...], field: [...]})] for float/, qat/ and ste/*/ metrics.jsonl; a
    field is present only when every epoch has it. Notes on skipped lines go to `notes`."""
    stages = [("float", os.path.join(run, "float"))]
    stages.append(("qat", os.path.join(run, "qat")))
    stages += [("ste " + os.path.basename(d), d) for d in ste_folders(run)]
    out = []
    for label, d in stages:
        records, skipped = read_jsonl(os.path.join(d, "metrics.jsonl"), METRICS)
        if notes is not None:
            notes.extend(skipped)
        records = [r for r in records if "epoch" in r]
        if not records:
            continue
        c = {"epoch": [int(r["epoch"]) for r in records]}
        for f in TRAIN_FIELDS:
            if all(f in r for r in records):
                c[f] = [float(r[f]) for r in records]
        out.append((label, c))
    return out
