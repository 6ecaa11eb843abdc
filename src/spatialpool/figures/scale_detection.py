"""Figures of sections 4, A and B. Curves are means over the selected seeds where the quantity is
defined; bands span those seeds; undefined seeds are counted on the figure (_curves)."""
from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from spatialpool.analysis.fits import window_of  # noqa: E402
from spatialpool.claims.predictions import predicted  # noqa: E402
from spatialpool.analysis.tables import is_defined  # noqa: E402

STATE_STYLE = {  # state -> (label, colour, linestyle, marker)
    "init": ("initialisation", "0.55", "-", "o"),
    "t_star": ("at t*", "tab:green", "-", "o"),
    "final": ("trained", "tab:blue", "-", "o"),
    # (a) the authors' measurement: the channel mean of the trained net's representation
    "channel_mean": ("(a) trained, channel mean of $f_k$", "tab:blue", ":", "s"),
    # (b) the ablation: every layer's filters and biases replaced by their mean
    "mean_channel": ("(b) mean-filter net", "tab:blue", "-.", "^"),
}
MEASURE_LABEL = {"D": "$D_k$", "G_rect": "$G_k$ (rectified noise)", "G_plain": "$G_k$ (zero-mean noise)",
                 "R_rect": "$R_k$ (rectified noise)", "R_plain": "$R_k$ (zero-mean noise)"}


def setup(context: str = "paper"):
    sns.set_theme(context=context, style="ticks")


def save(fig, stem: str, formats, dpi: int):
    fig.tight_layout()
    for fmt in formats:
        fig.savefig(f"{stem}.{fmt}", dpi=dpi)
    plt.close(fig)


def _runs(counts: pd.DataFrame):
    """Runs of consecutive layers with the same (n_defined, n_seeds): [(k_lo, k_hi, n, N)]."""
    runs = []
    for k, n, big_n in zip(counts.index, counts.n_defined, counts.n_seeds):
        if runs and runs[-1][3] == big_n and runs[-1][2] == n and runs[-1][1] == k - 1:
            runs[-1][1] = k
        else:
            runs.append([k, k, n, big_n])
    return [tuple(r) for r in runs]


def count_note(counts: pd.DataFrame) -> str:
    """'' when every seed is defined at every layer, else e.g. 'defined for 4/4 seeds at k = 1-4,
    2/4 at k = 5-12'. counts: indexed by k, columns n_defined and n_seeds."""
    if (counts.n_defined == counts.n_seeds).all():
        return ""
    parts = [f"{n}/{big_n}" + (" seeds" if i == 0 else "") + f" at k = {lo}" + (f"-{hi}" if hi > lo else "")
             for i, (lo, hi, n, big_n) in enumerate(_runs(counts))]
    return "defined for " + ", ".join(parts)


def layer_stats(d: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per layer k of one state: x, the mean, min and max of y over the seeds where y is defined,
    n_defined and n_seeds. Sensitivities count as defined where tables.is_defined says so (the
    representation varies over the probe set); other columns where they are finite."""
    ok = np.isfinite(d[y].astype(float))
    if y in MEASURE_LABEL:
        ok &= is_defined(d)
    good = d[ok]
    ks = np.sort(d.k.unique())
    stats = pd.DataFrame(index=pd.Index(ks, name="k"))
    stats["x"] = ks if x == "k" else d.groupby("k")[x].first().reindex(ks).to_numpy()
    stats["n_seeds"] = d.groupby("k").seed.nunique().reindex(ks).to_numpy()
    stats["n_defined"] = good.groupby("k").seed.nunique().reindex(ks).fillna(0).astype(int).to_numpy()
    g = good.groupby("k")[y]
    stats["mean"], stats["lo"], stats["hi"] = g.mean(), g.min(), g.max()
    return stats


def _curves(ax, table, x, y, states=("init", "final", "channel_mean", "mean_channel"), colour=None,
            label_prefix="") -> list[str]:
    """Mean over the seeds where y is defined, band min-max over them. Never silent about the rest:
    where some seeds are undefined ("dead") the points are ringed and annotated n/N, every seed is
    also drawn thin (its undefined layers left out), layers where none is defined get an x on the
    bottom axis, and the legend entry states the counts (count_note). Returns the labels drawn."""
    labels = []
    for state in states:
        d = table[table.state == state]
        if d.empty:
            continue
        label, c, ls, marker = STATE_STYLE[state]
        c = colour or c
        stats = layer_stats(d, x, y)
        note = count_note(stats)
        wrapped = textwrap.fill(note.replace("k = ", "k\u00a0=\u00a0"), 48, initial_indent="  ",
                                subsequent_indent="    ", break_on_hyphens=False)  # never inside "k = 1-2"
        labels.append(label_prefix + label + (f"\n{wrapped}" if note else ""))
        ax.plot(stats.x, stats["mean"], color=c, linestyle=ls, marker=marker, markersize=3, label=labels[-1])
        ax.fill_between(stats.x, stats.lo, stats.hi, color=c, alpha=0.15, linewidth=0)
        if not note:
            continue
        ok = np.isfinite(d[y].astype(float)) & (is_defined(d) if y in MEASURE_LABEL else True)
        for _, s in d.assign(_y=d[y].where(ok)).groupby("seed"):
            s = s.sort_values("k")
            ax.plot(s[x], s["_y"], color=c, linestyle=ls, linewidth=0.5, alpha=0.5)
        partial = stats[(stats.n_defined > 0) & (stats.n_defined < stats.n_seeds)]
        if len(partial):
            ax.plot(partial.x, partial["mean"], linestyle="none", marker="o", markersize=7,
                    markerfacecolor="none", markeredgecolor=c, markeredgewidth=0.8)
        none = stats[stats.n_defined == 0]
        if len(none):
            ax.plot(none.x, np.full(len(none), 0.03), transform=ax.get_xaxis_transform(), linestyle="none",
                    marker="x", markersize=5, color=c)
        for lo, _, n, big_n in _runs(stats):
            if n == big_n:
                continue
            row = stats.loc[lo]
            if n > 0:
                ax.annotate(f"{n}/{big_n}", (row.x, row["mean"]), textcoords="offset points", xytext=(4, 4),
                            fontsize=6, color=c)
            else:
                ax.annotate(f"0/{big_n}", (row.x, 0.03), xycoords=ax.get_xaxis_transform(),
                            textcoords="offset points", xytext=(4, 3), fontsize=6, color=c)
    return labels


def _legends(row, key_ax, state_labels):
    """Per axis: a legend of its own lines (theory); in key_ax (an empty axis right of the row):
    the states, whose labels (with their defined-seed counts) are the same in every column."""
    states = {}
    for ax in row:
        handles, labels = ax.get_legend_handles_labels()
        own = [(h, lab) for h, lab in zip(handles, labels) if lab not in state_labels]
        if own:
            ax.legend(*zip(*own), fontsize=6, loc="best")
        states |= {lab: h for h, lab in zip(handles, labels) if lab in state_labels and lab not in states}
    key_ax.axis("off")
    if states:
        key = key_ax.legend(states.values(), states.keys(), fontsize=7, loc="center left", borderaxespad=0)
        key.set_in_layout(False)  # it has the key axis' room; tight_layout would squeeze the plots for it


def _power_law(ax, table, x, y, exponent, window):
    """Prediction y ~ A_k^exponent through the trained mean at the window's start, drawn against x."""
    cols = list(dict.fromkeys(["A_theory", x, y]))
    m = table[(table.state == "final")].groupby("k")[cols].mean().loc[window[0]:window[1]]
    if m.empty or not np.isfinite(m[y].iloc[0]):
        return
    a = m.A_theory.to_numpy()
    ax.plot(m[x], m[y].iloc[0] * (a / a[0]) ** exponent, "k--", lw=1.2, label=f"theory $A_k^{{{exponent:g}}}$")


def figure7(collected: dict[str, pd.DataFrame], theory: dict[str, pd.DataFrame], fits: dict[str, dict],
            stem: str, formats, dpi: int):
    """Rows: experiments (task 1, task 2); columns: D_k, G_k, R_k against A_k.

    Grey: init; blue solid: trained; blue dotted: (a) the channel mean of the trained net's
    representation (state channel_mean); blue dash-dotted: (b) the mean-filter net (state
    mean_channel). Each curve is the mean over the selected seeds where it is defined; undefined
    (dead) seeds are counted in the legend and marked on the axes. Returns the figure."""
    measures = ["D", "G_rect", "R_rect"]
    fig, axes = plt.subplots(len(collected), 4, figsize=(17, 3.6 * len(collected)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1, 1]})
    for row, (name, table) in zip(axes, collected.items()):
        row, key_ax = row[:3], row[3]
        table = table[table.selected]
        stride = fits[name]["stride"]
        state_labels = set()
        for ax, m in zip(row, measures):
            state_labels.update(_curves(ax, table, "A_theory", m))
            th = theory[name]
            ax.plot(th.A_theory, th[m], color="k", lw=0.8, alpha=0.6, label="homogeneous filters (exact)")
            _power_law(ax, table, "A_theory", m, predicted(stride, m),
                       window_of(m, fits[name]))
            ax.set(xscale="log", yscale="log", xlabel="$A_k$", ylabel=MEASURE_LABEL[m], title=name)
        _legends(row, key_ax, state_labels)
    save(fig, stem, formats, dpi)
    return fig


def figure_b1(spectra: dict[str, pd.DataFrame], stem: str, formats, dpi: int, max_layers: int = 12):
    """Normalised filter spectra (eq. B.1) per layer; rows ReLU and tanh; dashed init, solid trained."""
    names = list(spectra)
    depth = min(max_layers, int(max(s.k.max() for s in spectra.values())))
    fig, axes = plt.subplots(len(names), depth, figsize=(1.6 * depth, 2.4 * len(names)), squeeze=False,
                             sharey=True)
    for row, name in zip(axes, names):
        s = spectra[name]
        for k, ax in zip(range(1, depth + 1), row):
            d = s[s.k == k]
            for state, ls in (("init", "--"), ("final", "-")):
                sns.lineplot(data=d[d.state == state], x="mode", y="power", ax=ax, color="tab:blue" if
                             "relu" in name else "tab:orange", linestyle=ls, marker="o", markersize=3,
                             errorbar=("pi", 100))
            ax.set(title=f"{name}\nk = {k}" if k == 1 else f"k = {k}", xlabel="mode $l$",
                   ylabel=r"$\tilde\gamma_{k,l}$", ylim=(0, 1.02))
            ax.set_xticks(sorted(d["mode"].unique()))
    save(fig, stem, formats, dpi)


def figure_b2(collected: dict[str, pd.DataFrame], fits: dict[str, dict], stem: str, formats, dpi: int):
    """ReLU against tanh: D_k, G_k (zero-mean and rectified noise), R_k against k; dotted: (a) channel
    mean of the trained representation, dash-dotted: (b) mean-filter net; undefined seeds counted
    as in figure7. Returns the figure."""
    measures = ["D", "G_plain", "G_rect", "R_plain"]
    colours = {"relu": "tab:blue", "tanh": "tab:orange"}
    fig, axes = plt.subplots(1, len(measures) + 1, figsize=(4 * len(measures) + 4.5, 3.6),
                             gridspec_kw={"width_ratios": [1] * len(measures) + [1.1]})
    axes, key_ax = axes[:-1], axes[-1]
    state_labels = set()
    for ax, m in zip(axes, measures):
        for act, (name, table) in zip(("relu", "tanh"), collected.items()):
            table = table[table.selected]
            state_labels.update(_curves(ax, table, "k", m, states=("final", "channel_mean", "mean_channel"),
                                        colour=colours[act], label_prefix=f"{act}, "))
        if m == "D":
            relu = next(iter(collected))
            _power_law(ax, collected[relu][collected[relu].selected], "k", "D", -2.0, fits[relu]["D"])
        ax.set(xscale="log", yscale="log", xlabel="layer $k$", ylabel=MEASURE_LABEL[m])
    _legends(axes, key_ax, state_labels)
    save(fig, stem, formats, dpi)
    return fig


def figure_receptive_field(collected: dict[str, pd.DataFrame], stem: str, formats, dpi: int):
    fig, axes = plt.subplots(1, len(collected), figsize=(4.2 * len(collected), 3.6), squeeze=False)
    for ax, (name, table) in zip(axes[0], collected.items()):
        t = table[table.selected & table.state.isin(["final", "init"])]
        _curves(ax, t, "k", "A_measured", states=("init", "final"))
        th = t.groupby("k").A_theory.first()
        ax.plot(th.index, th.values, "k--", label="theory (homogeneous filters)")
        ax.set(yscale="log", xlabel="layer $k$", ylabel="effective receptive field $A_k$", title=name)
        ax.legend(fontsize=7)
    save(fig, stem, formats, dpi)


def figure_training(histories: dict[str, pd.DataFrame], stem: str, formats, dpi: int):
    fig, axes = plt.subplots(2, len(histories), figsize=(4.2 * len(histories), 6), squeeze=False)
    for col, (name, h) in enumerate(histories.items()):
        for row, y in enumerate(("train_loss", "test_error")):
            ax = axes[row, col]
            sns.lineplot(data=h, x="decay_times", y=y, hue="seed", ax=ax, palette="viridis", legend=row == 0)
            ax.set(title=name if row == 0 else "", xlabel="training time (weight-decay times $u$)",
                   yscale="symlog", ylabel=y.replace("_", " "))
            if row == 0:
                ax.set_yscale("symlog", linthresh=1e-4)
            else:
                ax.set_yscale("symlog", linthresh=1e-2)
    save(fig, stem, formats, dpi)


def figure_windows(windows: dict[str, pd.DataFrame], stem: str, formats, dpi: int,
                   measures=("D", "G_rect", "R_rect"), configured: dict | None = None):
    """The window scan: trained nets' mean exponent for every fit window [k_min, k_max].

    Rows: experiments; columns: measures. Cells hold the mean exponent over seeds; windows where
    the exact homogeneous-filter network follows the asymptotic law (the justified windows, on
    which the scorecard judges the scaling claims) are framed, and the configured window of each
    measure (configured: experiment -> measure -> (k_min, k_max)) carries a star. Colours are
    centred on the prediction, which the title gives.
    """
    configured = configured or {}
    fig, axes = plt.subplots(len(windows), len(measures), figsize=(4.2 * len(measures), 3.6 * len(windows)),
                             squeeze=False)
    for row, (name, w) in zip(axes, windows.items()):
        for ax, m in zip(row, measures):
            d = w[(w.state == "final") & (w.measure == m)]
            if d.empty:
                ax.set_axis_off()
                continue
            grid = d.pivot(index="k_min", columns="k_max", values="exponent")
            pred = float(d.predicted.iloc[0])
            sns.heatmap(grid, ax=ax, annot=True, fmt=".2f", annot_kws={"size": 6}, cmap="coolwarm", center=pred,
                        cbar_kws={"label": "exponent", "shrink": 0.8})
            just = d[d.justified.astype(bool)]
            for r in just.itertuples():
                i, j = list(grid.index).index(r.k_min), list(grid.columns).index(r.k_max)
                ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, edgecolor="k", lw=1.5))
            lo, hi = configured.get(name, {}).get(m, (None, None))
            if lo in list(grid.index) and hi in list(grid.columns):
                ax.plot(list(grid.columns).index(hi) + 0.85, list(grid.index).index(lo) + 0.2, "k*", ms=6)
            n = len(just)
            ax.set_title(f"{name}: {MEASURE_LABEL[m]}, predicted {pred:g}\n"
                         f"(framed: {n} justified window{'s' if n != 1 else ''}; *: configured)", fontsize=9)
            ax.set_xlabel("$k_{max}$")
            ax.set_ylabel("$k_{min}$")
    save(fig, stem, formats, dpi)
