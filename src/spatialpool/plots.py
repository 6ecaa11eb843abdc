"""Figures of sections 4, A and B. Curves are means over the selected seeds; bands span the seeds."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .fits import window_of  # noqa: E402

STATE_STYLE = {  # state -> (label, colour, linestyle)
    "init": ("initialisation", "0.55", "-"),
    "t_star": ("at t*", "tab:green", "-"),
    "final": ("trained", "tab:blue", "-"),
    "mean_channel": ("trained, mean channel", "tab:blue", ":"),
}
MEASURE_LABEL = {"D": "$D_k$", "G_rect": "$G_k$ (rectified noise)", "G_plain": "$G_k$ (zero-mean noise)",
                 "R_rect": "$R_k$ (rectified noise)", "R_plain": "$R_k$ (zero-mean noise)"}
PREDICTIONS = {1: {"D": -2.0, "G_rect": 1.0, "R_rect": -3.0}, 2: {"D": -1.0, "G_rect": 1.0, "R_rect": -2.0}}


def setup(context: str = "paper"):
    sns.set_theme(context=context, style="ticks")


def save(fig, stem: str, formats, dpi: int):
    fig.tight_layout()
    for fmt in formats:
        fig.savefig(f"{stem}.{fmt}", dpi=dpi)
    plt.close(fig)


def _curves(ax, table, x, y, states=("init", "final", "mean_channel"), colour=None, label_prefix=""):
    for state in states:
        d = table[table.state == state]
        if d.empty:
            continue
        label, c, ls = STATE_STYLE[state]
        sns.lineplot(data=d, x=x, y=y, ax=ax, color=colour or c, linestyle=ls, marker="o", markersize=3,
                     errorbar=("pi", 100), estimator="mean", label=label_prefix + label)


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
    """Rows: experiments (task 1, task 2); columns: D_k, G_k, R_k against A_k."""
    measures = ["D", "G_rect", "R_rect"]
    fig, axes = plt.subplots(len(collected), 3, figsize=(12, 3.6 * len(collected)), squeeze=False)
    for row, (name, table) in zip(axes, collected.items()):
        table = table[table.selected]
        stride = fits[name]["stride"]
        for ax, m in zip(row, measures):
            _curves(ax, table, "A_theory", m)
            th = theory[name]
            ax.plot(th.A_theory, th[m], color="k", lw=0.8, alpha=0.6, label="homogeneous filters (exact)")
            _power_law(ax, table, "A_theory", m, PREDICTIONS[1 if stride == 1 else 2][m],
                       window_of(m, fits[name]))
            ax.set(xscale="log", yscale="log", xlabel="$A_k$", ylabel=MEASURE_LABEL[m], title=name)
            ax.legend(fontsize=7)
    save(fig, stem, formats, dpi)


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
            for stage, ls in (("init", "--"), ("final", "-")):
                sns.lineplot(data=d[d.stage == stage], x="mode", y="power", ax=ax, color="tab:blue" if
                             "relu" in name else "tab:orange", linestyle=ls, marker="o", markersize=3,
                             errorbar=("pi", 100))
            ax.set(title=f"{name}\nk = {k}" if k == 1 else f"k = {k}", xlabel="mode $l$",
                   ylabel=r"$\tilde\gamma_{k,l}$", ylim=(0, 1.02))
            ax.set_xticks(sorted(d["mode"].unique()))
    save(fig, stem, formats, dpi)


def figure_b2(collected: dict[str, pd.DataFrame], fits: dict[str, dict], stem: str, formats, dpi: int):
    """ReLU against tanh: D_k, G_k (zero-mean and rectified noise), R_k against k; dotted: mean channel."""
    measures = ["D", "G_plain", "G_rect", "R_plain"]
    colours = {"relu": "tab:blue", "tanh": "tab:orange"}
    fig, axes = plt.subplots(1, len(measures), figsize=(4 * len(measures), 3.6))
    for ax, m in zip(axes, measures):
        for act, (name, table) in zip(("relu", "tanh"), collected.items()):
            table = table[table.selected]
            _curves(ax, table, "k", m, states=("final", "mean_channel"), colour=colours[act],
                    label_prefix=f"{act}, ")
        if m == "D":
            relu = next(iter(collected))
            _power_law(ax, collected[relu][collected[relu].selected], "k", "D", -2.0, fits[relu]["D"])
        ax.set(xscale="log", yscale="log", xlabel="layer $k$", ylabel=MEASURE_LABEL[m])
        ax.legend(fontsize=7)
    save(fig, stem, formats, dpi)


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
