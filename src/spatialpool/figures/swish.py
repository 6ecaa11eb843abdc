"""The swish experiment's figure: the exponent of G_k against A_k as a function of beta, one curve per
noise magnitude (first panel: zero-mean noise, second: rectified), with the linear (beta = 0) and
ReLU (beta -> infinity) networks' values at the axis ends; third, the crossover magnitude m*
against beta with the 1/beta scaling for reference. Lines: the exact homogeneous-filter network
(analysis/swish.homogeneous_theory); points with t-intervals: the trained nets
(analysis/swish.trained_tables), when there are any, and a fourth panel with their test accuracy."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from spatialpool.figures.scale_detection import save  # noqa: E402


def figure_swish(exponents: pd.DataFrame, crossovers: pd.DataFrame, stem: str, formats, dpi: int,
                 trained: pd.DataFrame | None = None, trained_crossovers: pd.DataFrame | None = None,
                 accuracy: pd.DataFrame | None = None):
    """exponents, crossovers: the homogeneous network's (swish_theory); trained: trained_tables'
    summary, trained_crossovers: its crossovers (one per net), accuracy: its accuracy table."""
    has_trained = trained is not None and len(trained)
    fig, axes = plt.subplots(1, 4 if has_trained else 3, figsize=(16 if has_trained else 12, 3.8))
    mags = sorted(exponents.magnitude.unique())
    colours = dict(zip(mags, plt.cm.viridis(np.linspace(0.05, 0.9, len(mags)))))
    betas = sorted(exponents.beta.dropna().unique())
    lo, hi = betas[0] / 4, betas[-1] * 4  # where the linear and ReLU limits are drawn
    for ax, noise, title in ((axes[0], "plain", "zero-mean noise"), (axes[1], "rect", "rectified noise")):
        t = exponents[exponents.noise == noise]
        for m in mags:
            s = t[t.magnitude == m]
            swish = s[s.beta.notna()].sort_values("beta")
            lin = s[s.activation == "linear"].exponent
            relu = s[s.activation == "relu"].exponent
            x = [lo] + swish.beta.tolist() + [hi]
            y = [lin.iloc[0] if len(lin) else np.nan] + swish.exponent.tolist() + [relu.iloc[0] if len(relu) else np.nan]
            ax.plot(x, y, "-", color=colours[m], lw=1.1, label=f"m = {m:g}")
        if has_trained:
            tr = trained[trained.noise == noise]
            for m in mags:
                s = tr[np.isclose(tr.magnitude, m)]
                x = np.where(s.beta.notna(), s.beta, hi)  # the trained ReLU nets at the right end
                jitter = 1.04 ** (mags.index(m) - len(mags) / 2)  # keep the bars of one beta apart
                ax.errorbar(x * jitter, s.exponent, yerr=[s.exponent - s.ci_low, s.ci_high - s.exponent],
                            fmt="o", color=colours[m], markersize=3.5, elinewidth=0.8, capsize=1.5)
        ax.set(xscale="log", xlabel=r"$\beta$ (left end: linear, right end: ReLU)", ylabel=r"exponent of $G_k$ vs $A_k$",
               title=title if has_trained else f"homogeneous network, {title}")
        ax.axhline(0, color="0.7", lw=0.8)
    axes[0].legend(fontsize=6, title="noise / ||tau x - x||", title_fontsize=6)
    c = crossovers[crossovers.noise == "plain"].dropna(subset=["m_star"])
    ax = axes[2]
    ax.plot(c.beta, c.m_star, "o-", color="k", label="homogeneous net")
    if len(c):
        ref = c.m_star.iloc[len(c) // 2] * c.beta.iloc[len(c) // 2]
        b = np.array(betas)
        ax.plot(b, ref / b, "--", color="0.5", label=r"$\propto 1/\beta$")
    if trained_crossovers is not None and len(trained_crossovers):
        tc = trained_crossovers[trained_crossovers.noise == "plain"]
        ax.plot(tc.beta, tc.m_star, "s", color="C3", alpha=0.6, markersize=4, label="trained nets (one per seed)")
    ax.set(xscale="log", yscale="log", xlabel=r"$\beta$", ylabel="crossover magnitude m*",
           title="crossover m* (zero-mean noise)")
    ax.legend(fontsize=7)
    if has_trained and accuracy is not None and len(accuracy):
        ax = axes[3]
        a = accuracy.assign(x=np.where(accuracy.beta.notna(), accuracy.beta, hi))
        ax.errorbar(a.x, a.test_accuracy, yerr=[a.test_accuracy - a.ci_low.fillna(a.test_accuracy),
                                                a.ci_high.fillna(a.test_accuracy) - a.test_accuracy],
                    fmt="o", color="k", capsize=2)
        ax.set(xscale="log", xlabel=r"$\beta$ (right end: ReLU)", ylabel="test accuracy",
               title="trained nets' test accuracy", ylim=(min(0.5, np.nanmin(np.r_[a.ci_low, a.test_accuracy]) - 0.05), 1.02))
        fig.suptitle("lines: exact homogeneous-filter network; points: trained nets, mean over seeds with t-interval",
                     fontsize=9)
    save(fig, stem, formats, dpi)
