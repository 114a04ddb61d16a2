#!/usr/bin/env python3
"""Writes the figures report of triseg run folders: OUT/index.html plus one SVG and one PNG per
figure. Called by `triseg report --html OUT` (docs/files.md, "Report folder"); runnable alone:

    /usr/bin/python3 scripts/report/report_html.py --out OUT [--rows report.json]
        [--codes result.json ...] RUN_OR_SWEEP_DIR...

Needs Debian's python3-matplotlib and python3-h5py. Exit 0 when written (figures whose data is
missing are listed as notes in the page), 10 when matplotlib is missing, 2 on bad arguments.
"""

import argparse
import html
import os
import shlex
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

EXIT_MISSING_LIBRARY = 10
INSTALL_HINT = ("install it with `sudo apt-get install --no-install-recommends "
                "python3-matplotlib python3-h5py` (or scripts/bootstrap)")

try:
    import h5py  # noqa: F401  (read lazily by report_data; checked here to fail early)
    import report_figures as figures
except ImportError as e:
    sys.stderr.write("report: cannot draw figures: %s; %s\n" % (e, INSTALL_HINT))
    sys.exit(EXIT_MISSING_LIBRARY)
import report_data as data  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

# Checks, in the browser, that every figure loaded with a size; the result is the body's
# data-images attribute ("ok N" or "broken: file ..."), which the end-to-end test reads from
# a headless browser's DOM. Written without '<' or '&' so the page stays well-formed XML.
CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img');
  var broken = [];
  imgs.forEach(function (img) {
    if (!(img.complete) || !(img.naturalWidth > 0)) { broken.push(img.getAttribute('src')); }
  });
  document.body.setAttribute('data-images',
    broken.length ? 'broken: ' + broken.join(' ') : 'ok ' + imgs.length);
});
"""

CSS = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1250px; color: #222; }
figure { margin: 1.5em 0; border-top: 1px solid #ddd; padding-top: 0.8em; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.92em; color: #444; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { padding: 0.2em 0.7em; border-bottom: 1px solid #eee; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.notes li { color: #7a4b00; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def replace_file(path, write, binary):
    """Writes `path` atomically and never through a link: write(f) fills a new temporary file
    (mkstemp: created new only, O_EXCL | O_NOFOLLOW, under an unpredictable name) in the same
    folder, which then replaces `path` (os.replace replaces a link planted there, not its
    target)."""
    folder, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(dir=folder or ".", prefix="." + name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Report:
    """Collects figures and notes; writes files atomically (temporary name, then rename)."""

    def __init__(self, out):
        self.out = out
        self.figures = []  # (stem, title, caption)
        self.notes = []

    def note(self, text):
        if text not in self.notes:  # a file read for two figures is noted once
            self.notes.append(text)

    def add(self, stem, title, caption, draw):
        """Saves draw()'s figure as stem.svg and stem.png; a None figure or an error is a note."""
        try:
            fig = draw()
        except Exception as e:  # one broken input must not cost the other figures
            self.note("%s: not drawn (%s: %s)" % (title, type(e).__name__, e))
            sys.stderr.write("report: warning: %s not drawn: %r\n" % (stem, e))
            return
        if fig is None:
            return
        for ext in ("svg", "png"):
            replace_file(os.path.join(self.out, stem + "." + ext),
                         lambda f, ext=ext: fig.savefig(
                             f, format=ext, metadata={"Date": None} if ext == "svg" else None),
                         binary=True)
        plt.close(fig)
        self.figures.append((stem, title, caption))

    def write_index(self, runs, table):
        e = html.escape
        parts = ['<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="en">\n<head>',
                 '<meta charset="utf-8"/>', "<title>triseg report</title>",
                 "<style>%s</style>" % CSS, "<script>%s</script>" % CHECK_SCRIPT, "</head>",
                 "<body>", "<h1>triseg report</h1>", "<p>Runs: %s</p>" % ", ".join(
                     "<code>%s</code>" % e(r) for r in runs)]
        if table:
            parts.append(table)
        if self.notes:
            parts.append('<h2>Notes</h2>\n<ul class="notes">')
            parts += ["<li>%s</li>" % e(n) for n in self.notes]
            parts.append("</ul>")
        parts.append("<h2>Figures</h2>")
        if self.figures:
            parts.append("<ol>")
            parts += ['<li><a href="#%s">%s</a></li>' % (s, e(t)) for s, t, _ in self.figures]
            parts.append("</ol>")
        for stem, title, caption in self.figures:
            parts.append('<figure id="%s"><h3>%s</h3>' % (stem, e(title)))
            parts.append('<img src="%s.svg" alt="%s"/>' % (stem, e(title)))
            parts.append('<figcaption>%s Files: <a href="%s.svg">%s.svg</a>, '
                         '<a href="%s.png">%s.png</a>.</figcaption></figure>'
                         % (e(caption), stem, stem, stem, stem))
        parts.append("</body>\n</html>\n")
        path = os.path.join(self.out, "index.html")
        replace_file(path, lambda f: f.write("\n".join(parts)), binary=False)
        return path


def methods_table(rows_file):
    """The comparison table of `triseg report --json` rows, as HTML; '' without rows."""
    rows = data.read_json(rows_file) if rows_file else None
    if not rows or not rows.get("methods"):
        return ""

    def ms(v):
        if not v:
            return "-"
        m = sum(v) / len(v)
        sd = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
        return "%.2f ± %.2f" % (m, sd)

    out = ["<h2>Methods</h2>", "<table><tr><th>method</th><th>seeds</th><th>test drop</th>"
           "<th>test KD (1e-3)</th><th>held-out drop</th><th>evaluations</th>"
           "<th>int8 GMAC</th><th>wall s</th></tr>"]
    for m in rows["methods"]:
        mean = lambda v: sum(v) / len(v) if v else float("nan")  # noqa: E731
        out.append("<tr><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%.0f</td>"
                   "<td>%s</td><td>%.1f</td></tr>" % (
                       html.escape(m["method"]), m.get("searches", 0), ms(m.get("test_drop")),
                       ms([1000 * x for x in m.get("test_kd_loss", [])]),
                       ms(m.get("holdout_drop")), mean(m.get("evaluations", [])),
                       "%.0f" % (mean(m["macs"]) / 1e9) if m.get("macs") else "-",
                       mean(m.get("wall_seconds", []))))
    out.append("</table><p>Mean ± sample sd over seeds; drops in accuracy points against the "
               "INT8 teacher (the same numbers as <code>triseg report</code>'s table).</p>")
    return "\n".join(out)


def fronts_table(rows_file):
    """The "Fronts (test set)" table of `triseg report --json` rows, as HTML; '' without."""
    rows = data.read_json(rows_file) if rows_file else None
    fronts = data.test_fronts(rows)
    if not fronts:
        return ""
    e = html.escape
    (c0, c1, d0, d1), runs = fronts
    out = ["<h2>Fronts (test set)</h2>", "<table><tr><th>run</th><th>label</th><th>seeds</th>"
           "<th>hypervolume</th><th>per seed</th></tr>"]
    for run, labels in runs:
        for lab in labels:
            hv = "-" if lab["hv_mean"] is None else "%.4f" % lab["hv_mean"] + (
                " (1 seed)" if lab["hv_sd"] is None else " ± %.4f" % lab["hv_sd"])
            seeds = ", ".join("%s: %.4f" % (s, v) for s, v, _, _ in lab["per_seed"]
                              if v is not None)
            out.append("<tr><td>%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td></tr>" % (
                e(run), e(lab["label"]), lab["seeds"], hv, e(seeds)))
    out.append("</table>")
    tests = [c for c in rows["fronts"].get("comparisons", []) if isinstance(c, dict)]
    if tests:
        out.append("<table><tr><th>run</th><th>label a</th><th>label b</th><th>seeds</th>"
                   "<th>mean a − b</th><th>p (sign-flip)</th></tr>")
        for c in tests:
            p = c.get("p_value")
            mean = c.get("mean_difference")
            out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td>"
                       "</tr>" % (e(str(c.get("run", ""))), e(str(c.get("a", ""))),
                                  e(str(c.get("b", ""))), len(c.get("seeds") or []),
                                  "-" if not isinstance(mean, (int, float)) else "%.4f" % mean,
                                  "-" if not isinstance(p, (int, float)) else "%.4f" % p))
        out.append("</table>")
    out.append("<p>Hypervolume: the share of the box coverage %g–%g%% × test drop %g–%g points "
               "that a seed's front dominates (points outside the box count at its edge); mean "
               "± sample sd over seeds; p: exact paired sign-flip test over the seeds both "
               "labels have (3 or more). The same numbers as <code>triseg report</code>'s "
               "table.</p>" % (100 * c0, 100 * c1, d0, d1))
    return "\n".join(out)


def run_label(run, runs):
    return os.path.basename(os.path.normpath(run)) if len(runs) > 1 else ""


def per_run_figures(rep, run, prefix, label, searches, chosen):
    """Figures 2, 4, 5, 6b and 7 of one run."""
    at = (" (%s)" % label) if label else ""
    hist, source = data.code_histograms(run)
    if not hist:
        rep.note("%sno code histograms: run `triseg collect-percentiles -r %s` (writes "
                 "acts/percentiles.h5) to draw the codes over them" % (at and label + ": ",
                                                                shlex.quote(run)))
    own = [s for s in searches if s["run"] == run]
    picks = [s for s in chosen] or data.best_per_method(own)[:1]
    if picks:
        main = picks[0]
        codes = dict(data.layer_codes(main["result"]))
        order = [n for n, _ in data.layer_codes(main["result"])]
        value, what = data.score(main)
        name = main.get("name", "")
        stem = prefix + ("codes_" + "".join(ch if ch.isalnum() or ch in "-_" else "_"
                                            for ch in name) if chosen else "codes_best")
        rep.add(stem, "Per-layer codes of %s%s" % (name, at),
                "The table of %s (%s%s) over each layer's code histogram (%s; log scale), with "
                "t1, v1, t2, v2 and tmax marked; codes above tmax pass unchanged." % (
                    name, ("%s %.2f points" % (what, value)) if what else "given codes file",
                    ", " + main.get("method", "") if main.get("method") else "",
                    source or "no histogram"),
                lambda: figures.draw_codes(order, hist, "Codes of %s%s" % (name, at),
                                           [(name, codes)]))
    several = chosen if len(chosen) > 1 else data.best_per_method(own)[:5]
    if len(several) > 1:
        order = [n for n, _ in data.layer_codes(several[0]["result"])]

        def label(s):
            value, what = data.score(s)
            return s["name"] + (" (%s %.2f)" % (what, value) if what else "")

        results = [(label(s), dict(data.layer_codes(s["result"]))) for s in several]
        if len(chosen) > 1:
            title = "Per-layer codes of the given codes files" + at
            caption = "The tables of the --codes files, side by side"
        else:
            title = "Per-layer codes of the best seed of each method" + at
            caption = "The tables of the best seed of the %d best methods (by %s), side by side" % (
                len(several), data.score(several[0])[1])
        rep.add(prefix + "codes_methods", title,
                "%s over each layer's code histogram (%s)." % (caption, source or "no histogram"),
                lambda: figures.draw_codes(order, hist, title, results))
    sens = data.sensitivity(run, rep.notes)
    if sens:
        order = [n for n, _ in data.layer_codes(picks[0]["result"])] if picks else []
        rep.add(prefix + "sensitivity", "Per-layer sensitivity" + at,
                "analysis/sensitivity*.json: KD loss and accuracy drop of approximating one layer "
                "(leave-one-in) or all layers but one (leave-one-out), for each mode analysed.",
                lambda: figures.draw_sensitivity(sens, order))
    else:
        rep.note("%sno sensitivity: run `triseg analyze-sensitivity -r %s --codes "
                 "search/<name>/result.json` (or --heuristic)" % (at and label + ": ",
                                                                 shlex.quote(run)))
    stats = data.activation_stats(run, rep.notes)
    if stats:
        rep.add(prefix + "activations", "Activation statistics" + at,
                "From collect-percentiles (acts/percentiles.h5) and analyze-variance "
                "(analysis/activation_variance.json), whichever exist.",
                lambda: figures.draw_activation_stats(stats))
    else:
        rep.note("%sno activation statistics: run `triseg collect-percentiles -r %s` and "
                 "`triseg analyze-variance -r %s`" % (at and label + ": ", shlex.quote(run),
                                                      shlex.quote(run)))
    ste = []
    for d in data.ste_folders(run):
        records, notes = data.read_jsonl(os.path.join(d, "history.jsonl"), data.STE_HISTORY)
        for n in notes:
            rep.note(n)
        ste.append((os.path.basename(d), data.ste_gradients(records),
                    data.ste_code_trajectories(records)))
    if ste:
        rep.add(prefix + "ste", "STE diagnostics" + at,
                "ste/<variant>-seed<N>/history.jsonl: per epoch the median and 1st-99th "
                "percentile of every parameter's gradient norm, and each layer's rounded codes "
                "per logged step.", lambda: figures.draw_ste(ste))
    train = data.training_curves(run, rep.notes)
    if train:
        rep.add(prefix + "training", "Training curves" + at,
                "metrics.jsonl of float/, qat/ and ste/*/: loss and accuracy per epoch (solid "
                "train, dashed test, dotted validation). STE's loss is its training objective.",
                lambda: figures.draw_training(train))
    else:
        rep.note("%sno training curves: float/metrics.jsonl and qat/metrics.jsonl are "
                 "missing" % (at and label + ": "))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="report folder (created)")
    ap.add_argument("--rows", help="`triseg report --json` rows for the methods table")
    ap.add_argument("--codes", action="append", default=[],
                    help="a result.json to draw in the per-layer codes figure (repeatable)")
    ap.add_argument("runs", nargs="+", help="run folders or sweep folders (folders of runs)")
    args = ap.parse_args(argv)
    runs = data.expand_runs(args.runs)
    if not runs:
        ap.error("no run folder among %s" % " ".join(args.runs))
    if os.path.islink(args.out.rstrip("/") or "/"):
        ap.error("the report folder %s is a symbolic link; triseg never writes through a link "
                 "(someone else may have planted it): remove it or choose another folder" % args.out)
    os.makedirs(args.out, exist_ok=True)
    rep = Report(args.out)
    searches = []
    for run in runs:
        found = data.find_searches(run, rep.notes)
        for s in found:
            _, notes = data.read_jsonl(s["history"], data.SEARCH_HISTORY)
            for n in notes:
                rep.note(n)
        searches += found
    if not searches:
        rep.note("no searches: run `triseg search -r RUN --method ppo` (figures 1-3 need one)")
    curves = data.method_curves(searches)
    rep.add("search_curves", "Search curves",
            "history.jsonl of every search: best reward-set KD so far against evaluations and "
            "int8 MACs (mean over seeds, band min-max), the held-out drop of the best candidate "
            "at each held-out round, and PPO's update statistics (mean over seeds).",
            lambda: figures.draw_search_curves(curves))
    ste_results = [s for run in runs for s in data.find_ste_results(run, rep.notes)]
    rows, metric = data.method_comparison(searches + ste_results)
    refs = data.references(runs, searches, rep.notes)
    rep.add("comparison", "Method comparison",
            "Each seed's constrained best (%s; eval_test.json where present), mean ± sample sd "
            "per method, and the teacher, fixed code sets (codes/eval_*.json) and Lloyd-Max as "
            "reference lines." % ("test set" if metric == "test" else "held-out subset"),
            lambda: figures.draw_comparison(rows, metric, refs))
    if rows and metric != "test":
        rep.note("the comparison shows held-out drops: evaluate each search on the test set with "
                 "`triseg eval-codes -r RUN --codes search/<name>/result.json --out "
                 "search/<name>/eval_test.json`")
    front = data.fronts(searches, rep.notes)
    if front:
        rep.add("nsga2_front", "Accuracy-coverage front (nsga2)",
                "front.json of every nsga2 search: the non-dominated points on (reward KD, "
                "coverage), and the same points' held-out drop.",
                lambda: figures.draw_fronts(front))
    rows_doc = data.read_json(args.rows) if args.rows else None
    test_fronts = data.test_fronts(rows_doc, rep.notes)
    if test_fronts:
        (c0, c1, d0, d1), _ = test_fronts
        rep.add("test_fronts", "Accuracy-coverage fronts on the test set",
                "Every code set measured on the test set (each search folder's eval_test.json "
                "and every point of its eval_front_test.json, from `triseg eval-codes "
                "--all-points`), one colour per label (method, +alloc for the allocation "
                "space). Faint: each seed's points and its front (non-dominated points, pooled "
                "over the seed's folders, e.g. a sweep of approx.tmax). Bold: the label's mean "
                "front, a step curve whose value at coverage x is the mean over seeds of each "
                "seed's lowest test drop at coverage >= x, drawn up to the lowest of the "
                "seeds' highest coverages. Dashed: the box of the hypervolume (coverage "
                "%g-%g%%, drop %g-%g points; HV = the share of it a front dominates, computed "
                "by `triseg report`, mean ± sample sd over seeds)." % (
                    100 * c0, 100 * c1, d0, d1),
                lambda: figures.draw_test_fronts(test_fronts))
    elif searches:
        rep.note("no fronts on the test set: measure each search with `triseg eval-codes -r RUN "
                 "--codes search/<name>/result.json` (eval_test.json) and each front.json with "
                 "`triseg eval-codes -r RUN --codes search/<name>/front.json --all-points`, "
                 "then run `triseg report` again")
    chosen = []
    for path in args.codes:
        r = data.read_json(path, data.RESULT, rep.notes)
        if not data.layer_codes(r):
            rep.note("--codes %s: not a codes file with layers" % path)
            continue
        chosen.append({"name": os.path.basename(os.path.dirname(os.path.abspath(path))),
                       "result": r, "method": (r or {}).get("method", "")})
    for k, run in enumerate(runs):
        label = run_label(run, runs)
        prefix = ("r%d_" % (k + 1)) if len(runs) > 1 else ""
        per_run_figures(rep, run, prefix, label, searches, chosen if k == 0 else [])
    tables = [methods_table(args.rows), fronts_table(args.rows)]
    path = rep.write_index(runs, "\n".join(t for t in tables if t))
    print("report: %d figures, %d notes: %s" % (len(rep.figures), len(rep.notes), path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
