"""Draws the report's figures with matplotlib (data from report_data.py).

Each draw_* function returns a Figure, or None when its data is absent; report_html.py saves
it as SVG and PNG. Figures are sized to be read on their own (papers, slides) at 100 dpi.
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import LogFormatterSciNotation, MaxNLocator  # noqa: E402

import report_data as data  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.titlesize": 11,
    "axes.labelsize": 10, "legend.fontsize": 8.5, "axes.grid": True, "grid.alpha": 0.3,
    "svg.hashsalt": "triseg",  # deterministic SVG ids
})
PALETTE = plt.get_cmap("tab10").colors
CODE_STYLE = {  # how each code is marked over a histogram
    "t1_code": ("t1", "--", "#d62728"), "v1_code": ("v1", ":", "#ff7f0e"),
    "t2_code": ("t2", "-.", "#2ca02c"), "v2_code": ("v2", (0, (1, 3)), "#9467bd"),
    "tmax_code": ("tmax", "-", "#000000"),
}


def color_of(i):
    return PALETTE[i % len(PALETTE)]


def label_log_minor(axis):
    """Labels minor ticks of a log axis that spans about one decade (else one label only)."""
    axis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False,
                                                     minor_thresholds=(2, 0.5)))


def grid_shape(n, cols=4):
    return max(1, math.ceil(n / cols)), min(cols, max(1, n))


def draw_search_curves(curves):
    """Fig. 1: best-so-far reward KD vs evaluations and vs int8 MACs (mean over seeds, min-max
    band), held-out drop, and PPO's update statistics."""
    if not curves:
        return None
    has_macs = any(c["macs"] for c in curves.values())
    has_ppo = any("updates" in c for c in curves.values())
    has_hold = any(c["holdout_evals"] for c in curves.values())
    rows = 1 + (1 if has_hold else 0) + (1 if has_ppo else 0)
    fig = plt.figure(figsize=(12, 4.2 * rows), layout="constrained")
    sub = fig.subfigures(rows, 1)
    sub = sub if rows > 1 else [sub]
    top = sub[0].subplots(1, 2 if has_macs else 1, squeeze=False)[0]
    ax = top[0]
    for i, (method, c) in enumerate(curves.items()):
        label = "%s (%d seed%s)" % (method, c["seeds"], "s" if c["seeds"] > 1 else "")
        if len(c["evals"]) == 1:
            ax.errorbar(c["evals"], c["mean"], yerr=[[c["mean"][0] - c["lo"][0]],
                                                     [c["hi"][0] - c["mean"][0]]],
                        fmt="o", color=color_of(i), label=label)
        else:
            ax.plot(c["evals"], c["mean"], color=color_of(i), label=label)
            ax.fill_between(c["evals"], c["lo"], c["hi"], color=color_of(i), alpha=0.15, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("evaluations (candidates scored on the reward set)")
    ax.set_ylabel("best reward-set KD loss so far")
    label_log_minor(ax.yaxis)
    ax.set_title("Search progress (mean over seeds, band = min-max)")
    if not has_macs:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    if has_macs:
        ax = top[1]
        for i, (method, c) in enumerate(curves.items()):
            if not c["macs"]:
                continue
            gmacs = [m / 1e9 for m in c["macs"]]
            if len(gmacs) == 1:
                ax.plot(gmacs, c["macs_mean"], "o", color=color_of(i), label=method)
            else:
                ax.plot(gmacs, c["macs_mean"], color=color_of(i), label=method, drawstyle="steps-post")
                ax.fill_between(gmacs, c["macs_lo"], c["macs_hi"], color=color_of(i), alpha=0.15,
                                lw=0, step="post")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("int8 multiply-accumulates spent by the search (GMAC)")
        ax.set_ylabel("best reward-set KD loss so far")
        label_log_minor(ax.yaxis)
        ax.set_title("Search progress against compute")
        ax.legend(*top[0].get_legend_handles_labels(), loc="center left",
                  bbox_to_anchor=(1.01, 0.5))
    row = 1
    if has_hold:
        ax = sub[row].subplots(1, 1)
        for i, (method, c) in enumerate(curves.items()):
            xs = c["holdout_evals"]
            if len(xs) == 1:
                ax.errorbar(xs, c["holdout_mean"], yerr=[[c["holdout_mean"][0] - c["holdout_lo"][0]],
                                                         [c["holdout_hi"][0] - c["holdout_mean"][0]]],
                            fmt="o", color=color_of(i), label=method)
            elif xs:
                ax.plot(xs, c["holdout_mean"], color=color_of(i), drawstyle="steps-post",
                        label=method)
                ax.fill_between(xs, c["holdout_lo"], c["holdout_hi"], color=color_of(i),
                                alpha=0.07, lw=0, step="post")
        ax.set_xlabel("evaluations")
        ax.set_ylabel("held-out accuracy drop (points)")
        ax.set_title("Held-out drop of the best-reward candidate at each held-out round "
                     "(mean over seeds, band = min-max)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
        row += 1
    if has_ppo:
        axes = sub[row].subplots(1, 3)
        names = {"entropy": "policy entropy (nats)", "approx_kl": "approx. KL (nats)",
                 "clip_fraction": "clip fraction (share of samples)"}
        for ax, f in zip(axes, data.PPO_UPDATE_FIELDS):
            for i, (method, c) in enumerate(curves.items()):
                if "updates" in c:
                    ax.plot(c["updates"]["episode"], c["updates"][f], color=color_of(i),
                            label=method)
            ax.set_xlabel("episode (evaluations)")
            ax.set_ylabel(names[f])
            ax.set_title("PPO update: " + {"approx_kl": "approximate KL"}.get(f, f.replace("_", " ")))
        axes[0].legend(loc="best")
    return fig


def draw_codes(layers, hist, title, results):
    """Fig. 2: per layer, the code histogram (log scale) with each result's table drawn over
    it (output code against input code) and its t1, v1, t2, v2, tmax marked.

    `layers`: layer names in forward order; `results`: [(label, {layer: codes})]; a single
    result also gets vertical lines at its codes."""
    rows, cols = grid_shape(len(layers))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows + 0.6),
                             layout="constrained", squeeze=False)
    single = len(results) == 1
    for ax, name in zip(axes.flat, layers):
        tops = [codes[name]["tmax_code"] for _, codes in results if name in codes]
        top = min(256, max(tops + [16]) + 12)
        h = hist.get(name)
        if h:
            # One filled step artist per panel (not one bar per code): fast to draw and save.
            # The log axis starts at half the smallest count shown; zero counts sit there.
            seen = [v for v in h[:top] if v > 0]
            floor = max(0.5, min(seen) / 2) if seen else 0.5
            ax.stairs([max(v, floor) for v in h[:top]], [c - 0.5 for c in range(top + 1)],
                      fill=True, color="#bbbbbb", baseline=floor, label="codes seen")
            ax.set_yscale("log")
            ax.set_ylabel("count (log)")
        else:
            ax.set_yticks([])
        ax.set_xlim(-0.5, top - 0.5)
        ax.set_title(name if not single or name not in results[0][1] else
                     "%s: t1 %d, v1 %d, t2 %d, v2 %d, tmax %d" % (
                         (name,) + tuple(results[0][1][name][k] for k in data.CODE_KEYS)),
                     fontsize=9.5)
        ax.set_xlabel("input code")
        twin = ax.twinx()
        twin.grid(False)
        for i, (label, codes) in enumerate(results):
            if name not in codes:
                continue
            c = codes[name]
            # Several tables: each lifted by 0.3 codes so that identical tables stay visible.
            lift = 0.0 if single else 0.3 * i
            twin.plot(range(top), [y + lift for y in data.lut(c, top)],
                      color=color_of(i) if not single else "#1f77b4",
                      drawstyle="steps-mid", lw=1.4, label=label if not single else "table")
            if single:
                for k, (short, ls, col) in CODE_STYLE.items():
                    if k in ("v1_code", "v2_code"):  # values: levels on the output axis
                        twin.axhline(c[k], ls=ls, color=col, lw=1.1)
                    else:  # thresholds: positions on the input axis
                        ax.axvline(c[k], ls=ls, color=col, lw=1.1)
        twin.set_ylim(0, top)
        twin.set_ylabel("output code")
    spare = list(axes.flat)[len(layers):]
    for ax in spare:
        ax.set_visible(False)
    if single:
        handles = [plt.Rectangle((0, 0), 1, 1, color="#bbbbbb"),
                   plt.Line2D([], [], color="#1f77b4", lw=1.6)]
        labels = ["codes seen (left axis, log)", "table: output code (right axis)"]
        handles += [plt.Line2D([], [], ls=ls, color=col) for _, ls, col in CODE_STYLE.values()]
        labels += ["t1 (input)", "v1 (output)", "t2 (input)", "v2 (output)", "tmax (input)"]
    else:
        handles = [plt.Rectangle((0, 0), 1, 1, color="#bbbbbb")]
        handles += [plt.Line2D([], [], color=color_of(i), lw=1.6) for i in range(len(results))]
        labels = ["codes seen (left axis, log)"] + [label for label, _ in results]
    legend_ax = spare[0] if spare else axes.flat[0]
    legend_ax.set_visible(True)
    if spare:
        legend_ax.axis("off")
    legend_ax.legend(handles, labels, loc="center",
                     title=None if single else "tables (output code, right axis)")
    fig.suptitle(title)
    return fig


def draw_comparison(rows, metric, refs):
    """Fig. 3: drop per method and seed (points), mean +- sd, reference lines."""
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(rows) + 4), 4.8), layout="constrained")
    for i, r in enumerate(rows):
        n = len(r["values"])
        xs = [i + (j - (n - 1) / 2) * 0.07 for j in range(n)]
        ax.plot(xs, r["values"], "o", color=color_of(i), alpha=0.55, ms=5)
        ax.errorbar([i + 0.3], [r["mean"]], yerr=[r["sd"]], fmt="D", color="black", ms=5,
                    capsize=4, label="mean ± sd over seeds" if i == 0 else None)
    styles = ["-", "--", "-.", ":", (0, (5, 1))]
    for j, (label, y) in enumerate(refs):
        ax.axhline(y, ls=styles[j % len(styles)], color="#555555" if j else "black", lw=1.1,
                   label="%s (%.2f)" % (label, y))
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(["%s\n(n=%d)" % (r["method"], len(r["values"])) for r in rows])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    what = "test-set" if metric == "test" else "held-out"
    ax.set_ylabel("%s accuracy drop vs INT8 teacher (points)" % what)
    ax.set_title("Methods compared: %s drop of each seed's constrained best" % what)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def draw_sensitivity(modes, order):
    """Fig. 4: per-layer KD loss and accuracy drop as bars, one bar group per mode."""
    if not modes:
        return None
    layers = [n for n in order if any(n in m for _, m in modes)]
    layers += sorted({n for _, m in modes for n in m if n not in layers}, key=data.natural_key)
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 0.7 * len(layers) + 2), 6.5),
                             layout="constrained", sharex=True)
    width = 0.8 / len(modes)
    for k, (mode, m) in enumerate(modes):
        xs = [i + (k - (len(modes) - 1) / 2) * width for i in range(len(layers))]
        axes[0].bar(xs, [m.get(n, {}).get("kd_loss", 0.0) for n in layers], width,
                    color=color_of(k), label=mode)
        axes[1].bar(xs, [m.get(n, {}).get("acc_drop", 0.0) for n in layers], width,
                    color=color_of(k), label=mode)
    axes[0].set_ylabel("KD loss vs teacher")
    axes[1].set_ylabel("accuracy drop (points)")
    axes[0].set_title("Per-layer sensitivity (leave-one-in: only this layer approximated; "
                      "leave-one-out: all but this layer)", fontsize=10)
    axes[1].set_xticks(range(len(layers)))
    axes[1].set_xticklabels(layers, rotation=45, ha="right")
    axes[1].set_xlabel("layer (forward order)")
    axes[0].legend(loc="upper right")
    return fig


def draw_activation_stats(stats):
    """Fig. 5: per-layer code percentiles, the share of codes <= tmax, and (when analysed) the
    real activations' standard deviation and zero fraction."""
    if not stats:
        return None
    p, v = stats["percentiles"], stats["variance"]
    panels = (2 if p else 0) + (1 if v else 0)
    fig, axes = plt.subplots(panels, 1, figsize=(10, 3.3 * panels + 0.3), layout="constrained",
                             squeeze=False)
    axes = list(axes[:, 0])
    if p:
        ax = axes.pop(0)
        x = range(len(p["layers"]))
        show = [i for i, q in enumerate(p["levels"]) if q in (1, 10, 25, 50, 75, 90, 99, 99.9)]
        for j, i in enumerate(show):
            ax.plot(x, [row[i] for row in p["percentiles"]], marker="o", ms=3,
                    color=plt.get_cmap("viridis")(j / max(1, len(show) - 1)),
                    label="p%g" % p["levels"][i])
        if p["tmax"]:
            ax.axhline(p["tmax"], color="black", ls="--", lw=1, label="tmax = %d" % p["tmax"])
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylim(0, 300)
        ax.set_yticks([0, 1, 3, 10, 30, 100, 255])
        ax.set_yticklabels(["0", "1", "3", "10", "30", "100", "255"])
        ax.set_ylabel("uint8 code (symlog)")
        ax.set_xticks(list(x))
        ax.set_xticklabels(p["layers"], rotation=45, ha="right")
        ax.set_title("Code percentiles per layer (%d images)" % p["images"])
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax = axes.pop(0)
        ax.bar(list(x), [100 * f for f in p["fraction_le_tmax"]], color="#1f77b4")
        ax.set_ylim(0, 100)
        ax.set_ylabel("codes <= tmax (%)")
        ax.set_xticks(list(x))
        ax.set_xticklabels(p["layers"], rotation=45, ha="right")
        ax.set_title("Share of codes the table covers (code <= tmax = %d)" % p["tmax"])
    if v:
        ax = axes.pop(0)
        names = sorted(v, key=data.natural_key) if not p else [n for n in p["layers"] if n in v]
        x = list(range(len(names)))
        ax.bar(x, [v[n]["std"] for n in names], color="#2ca02c", label="std")
        ax.set_ylabel("activation std (real units)")
        twin = ax.twinx()
        twin.grid(False)
        twin.plot(x, [100 * v[n]["zero_fraction"] for n in names], "o-", color="#d62728",
                  label="zeros (%)")
        twin.set_ylim(0, 130)
        twin.set_yticks([0, 20, 40, 60, 80, 100])
        twin.set_ylabel("zero activations (%)")
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=45, ha="right")
        ax.set_title("Activation spread per layer (analyze-variance)")
        ax.set_ylim(0, 1.3 * max([v[n]["std"] for n in names] + [1e-9]))  # room for the legend
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper left", ncol=2)
    return fig


def draw_fronts(fronts):
    """Fig. 6a: nsga2's accuracy-coverage fronts (reward KD and held-out drop vs coverage)."""
    if not fronts:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for i, (label, pts) in enumerate(fronts):
        cov = [100 * p[0] for p in pts]
        axes[0].plot(cov, [p[1] for p in pts], "o-", ms=3.5, color=color_of(i), label=label)
        axes[1].plot(cov, [p[2] for p in pts], "o-", ms=3.5, color=color_of(i), label=label)
    axes[0].set_ylabel("reward-set KD loss")
    axes[1].set_ylabel("held-out accuracy drop (points)")
    for ax in axes:
        ax.set_xlabel("covered: share of block output codes <= tmax (%)")
    axes[0].set_title("nsga2 non-dominated front")
    axes[1].set_title("The front's points on the held-out subset")
    axes[0].legend(loc="upper left")
    return fig


def draw_test_fronts(fronts):
    """Fig. 6c: the accuracy-coverage fronts on the test set (report_data.test_fronts): per
    run one panel; per label one colour, each seed's points and front (a step curve) faint,
    the label's mean front over seeds bold (a step curve: at coverage x, the mean over seeds of
    each seed's lowest drop at coverage >= x), and the hypervolume's reference box dashed."""
    if not fronts:
        return None
    (c0, c1, d0, d1), runs = fronts
    cols = min(2, len(runs))
    rows = math.ceil(len(runs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols, 5.2 * rows), layout="constrained",
                             squeeze=False)
    for ax, (run, labels) in zip(axes.flat, runs):
        xs, ys = [100 * c0, 100 * c1], [d0, d1]
        for i, lab in enumerate(labels):
            color = color_of(i)
            for _, _, points, front in lab["per_seed"]:
                if points:
                    ax.plot([100 * c for c, _ in points], [d for _, d in points], "o",
                            color=color, alpha=0.3, ms=3.5, mew=0)
                    xs += [100 * c for c, _ in points]
                    ys += [d for _, d in points]
                if len(front) > 1:
                    ax.plot([100 * c for c, _ in front], [d for _, d in front], color=color,
                            alpha=0.3, lw=0.9, drawstyle="steps-pre")
            hv = "" if lab["hv_mean"] is None else (
                ", HV %.3f" % lab["hv_mean"] + ("" if lab["hv_sd"] is None else
                                                 " ± %.3f" % lab["hv_sd"]))
            name = "%s (%d seed%s%s)" % (lab["label"], lab["seeds"],
                                         "s" if lab["seeds"] != 1 else "", hv)
            mean = lab["mean_front"]
            if mean:
                # From the left edge of the box (or the first point) the first value holds.
                mx = [min(100 * c0, 100 * mean[0][0])] + [100 * c for c, _ in mean]
                my = [mean[0][1]] + [d for _, d in mean]
                ax.plot(mx, my, color=color, lw=2.3, drawstyle="steps-pre", label=name)
            else:
                ax.plot([], [], color=color, lw=2.3, label=name)
        ax.add_patch(plt.Rectangle((100 * c0, d0), 100 * (c1 - c0), d1 - d0, fill=False,
                                   ls="--", lw=1.1, color="#444444",
                                   label="hypervolume box"))
        # The axes show the hypervolume box with a margin (where fronts differ); a front's
        # far end (drops of 10+ points near 99% coverage) would squeeze it into a line.
        xpad = 0.04 * 100 * (c1 - c0)
        ypad = 0.06 * (d1 - d0)
        ax.set_xlim(100 * c0 - xpad, max(100 * c1, min(100.0, max(xs))) + xpad)
        ax.set_ylim(min(d0, min(ys)) - ypad, d1 + 2 * ypad)
        ax.set_xlabel("coverage: share of block output codes <= tmax, test set (%); "
                      "axes: the box, points beyond it cut off")
        ax.set_ylabel("test accuracy drop vs INT8 teacher (points)")
        ax.set_title("Fronts on the test set" + (" (%s)" % run if len(runs) > 1 else ""))
        ax.legend(loc="upper left", fontsize=8)
    for ax in list(axes.flat)[len(runs):]:
        ax.set_visible(False)
    return fig


def draw_ste(diagnostics):
    """Fig. 6b: STE gradient-norm percentiles per epoch (log scale) and code trajectories.

    `diagnostics`: [(label, gradients, trajectories)] (report_data.ste_gradients /
    ste_code_trajectories)."""
    diagnostics = [d for d in diagnostics if d[1]["epoch"] or d[2]]
    if not diagnostics:
        return None
    layers = []
    for _, _, traj in diagnostics:
        layers += [n for n in traj if n not in layers]
    rows, cols = grid_shape(len(layers))
    fig = plt.figure(figsize=(14, 4 + 2.6 * rows), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[4, 2.6 * rows])
    ax = top.subplots(1, 1)
    for i, (label, g, _) in enumerate(diagnostics):
        if g["epoch"]:
            ax.plot(g["epoch"], g["p50"], "o-", color=color_of(i), label=label + " median")
            ax.fill_between(g["epoch"], g["p1"], g["p99"], color=color_of(i), alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("per-parameter gradient norm")
    ax.set_title("STE gradient norms: median, band = 1st-99th percentile")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")
    if layers:
        axes = bottom.subplots(rows, cols, squeeze=False)
        for ax, name in zip(axes.flat, layers):
            for i, (label, _, traj) in enumerate(diagnostics):
                t = traj.get(name)
                if not t:
                    continue
                for k, (short, ls, _) in CODE_STYLE.items():
                    ax.plot(t["step"], t[k], ls=ls, color=color_of(i), lw=1)
            ax.set_title(name)
            ax.set_xlabel("step")
            ax.set_ylabel("code")
        spare = list(axes.flat)[len(layers):]
        for ax in spare:
            ax.set_visible(False)
        handles = [plt.Line2D([], [], ls=ls, color="black") for _, ls, _ in CODE_STYLE.values()]
        labels = [s for s, _, _ in CODE_STYLE.values()]
        handles += [plt.Line2D([], [], color=color_of(i)) for i in range(len(diagnostics))]
        labels += [d[0] for d in diagnostics]
        legend_ax = spare[0] if spare else axes.flat[0]
        legend_ax.set_visible(True)
        if spare:
            legend_ax.axis("off")
        legend_ax.legend(handles, labels, loc="center", fontsize=7.5)
    return fig


def draw_training(curves):
    """Fig. 7: loss and accuracy per epoch of train-float, train-qat and train-ste."""
    if not curves:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3), layout="constrained")
    for i, (label, c) in enumerate(curves):
        for split, ls in (("train", "-"), ("val", ":"), ("test", "--")):
            if split + "_loss" in c:
                axes[0].plot(c["epoch"], c[split + "_loss"], ls, color=color_of(i), marker=".",
                             label="%s %s" % (label, split))
            if split + "_acc" in c:
                axes[1].plot(c["epoch"], c[split + "_acc"], ls, color=color_of(i), marker=".",
                             label="%s %s" % (label, split))
    stes = any(label.startswith("ste") for label, _ in curves)
    axes[0].set_ylabel("loss (cross-entropy%s)" % ("; STE: its objective" if stes else ""))
    axes[1].set_ylabel("accuracy (%)")
    axes[0].set_title("Training loss per epoch")
    axes[1].set_title("Accuracy per epoch")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="best")
    return fig
