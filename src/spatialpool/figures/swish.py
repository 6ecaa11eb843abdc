"""The swish experiment's figure: the exponent of G_k against A_k as a function of beta, one curve per
noise magnitude (left: zero-mean noise, middle: rectified), with the linear (beta = 0) and ReLU
(beta -> infinity) networks' values at the axis ends; right, the crossover magnitude m* against
beta with the 1/beta scaling for reference. Exact homogeneous-filter network (analysis/swish.py)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from spatialpool.figures.scale_detection import save  # noqa: E402


def figure_swish(exponents: pd.DataFrame, crossovers: pd.DataFrame, stem: str, formats, dpi: int):
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    mags = sorted(exponents.magnitude.unique())
    colours = plt.cm.viridis(np.linspace(0.05, 0.9, len(mags)))
    betas = sorted(exponents.beta.dropna().unique())
    lo, hi = betas[0] / 4, betas[-1] * 4  # where the linear and ReLU limits are drawn
    for ax, noise, title in ((axes[0], "plain", "zero-mean noise"), (axes[1], "rect", "rectified noise")):
        t = exponents[exponents.noise == noise]
        for m, colour in zip(mags, colours):
            s = t[t.magnitude == m]
            swish = s[s.beta.notna()].sort_values("beta")
            lin = s[s.activation == "linear"].exponent
            relu = s[s.activation == "relu"].exponent
            x = [lo] + swish.beta.tolist() + [hi]
            y = [lin.iloc[0] if len(lin) else np.nan] + swish.exponent.tolist() + [relu.iloc[0] if len(relu) else np.nan]
            ax.plot(x, y, "o-", color=colour, markersize=3, lw=1.1, label=f"m = {m:g}")
        ax.set(xscale="log", xlabel=r"$\beta$ (left end: linear, right end: ReLU)", ylabel=r"exponent of $G_k$ vs $A_k$",
               title=f"homogeneous network, {title}")
        ax.axhline(0, color="0.7", lw=0.8)
    axes[0].legend(fontsize=6, title="noise / ||tau x - x||", title_fontsize=6)
    c = crossovers[crossovers.noise == "plain"].dropna(subset=["m_star"])
    ax = axes[2]
    ax.plot(c.beta, c.m_star, "o-", color="k", label="m* (zero-mean noise)")
    if len(c):
        ref = c.m_star.iloc[len(c) // 2] * c.beta.iloc[len(c) // 2]
        b = np.array(betas)
        ax.plot(b, ref / b, "--", color="0.5", label=r"$\propto 1/\beta$")
    ax.set(xscale="log", yscale="log", xlabel=r"$\beta$", ylabel="crossover magnitude m*",
           title="crossover: swish senses noise like ReLU")
    ax.legend(fontsize=7)
    save(fig, stem, formats, dpi)
