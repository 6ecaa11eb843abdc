"""Correlation of test error with sensitivities across architectures (paper fig. 1 right, fig. C3).

    rho(eps, X) = Cov(log eps, log X) / sqrt(Var(log eps) Var(log X)),

the Pearson coefficient of the logs, computed across architectures at each noise level of the
noisy-CIFAR runs, for X in D_f, G_f, R_f. It is invariant to rescaling eps or X and is +-1 for an
exact power law X = a eps^b. Several rows per (noise, architecture) (seeds) are first averaged.

Intervals resample architectures (pairs (eps, X) together), percentile method. With a handful of
architectures some resamples repeat one architecture only and have no correlation; those are
dropped (and counted), which scipy.stats.bootstrap cannot do, so the resampling is done here.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def log_correlation(eps, x) -> float:
    """rho of log eps and log x; nan unless every value is positive and both vary."""
    eps, x = np.asarray(eps, float), np.asarray(x, float)
    if not (np.all(eps > 0) and np.all(x > 0)):
        return float("nan")
    return float(_rho(np.log(eps)[None], np.log(x)[None])[0])


def _rho(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson coefficient of a, b [R, n]; nan where either row is constant."""
    constant = (np.ptp(a, axis=1) == 0) | (np.ptp(b, axis=1) == 0)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    norm = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return np.where(constant, np.nan, (a * b).sum(1) / np.where(constant, 1.0, norm))


def bootstrap_rho(eps, x, seed: int, n_resamples: int = 2000, level: float = 0.95) -> dict:
    """rho with a percentile interval over resampled architectures; n_dropped: degenerate resamples."""
    a, b = np.log(np.asarray(eps, float)), np.log(np.asarray(x, float))
    rho = float(_rho(a[None], b[None])[0])
    if len(a) < 3 or not np.isfinite(rho):
        return dict(rho=rho, ci_low=np.nan, ci_high=np.nan, n_dropped=0)
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_resamples, len(a)))
    boot = _rho(a[idx], b[idx])
    ok = boot[np.isfinite(boot)]
    lo, hi = np.percentile(ok, [50 * (1 - level), 50 * (1 + level)])
    return dict(rho=rho, ci_low=float(lo), ci_high=float(hi), n_dropped=int(len(boot) - len(ok)))


def correlation_table(runs: pd.DataFrame, measures: Sequence[str] = ("D_f", "G_f", "R_f"),
                      error: str = "error", by: str = "noise", arch: str = "arch", seed: int = 0,
                      n_resamples: int = 2000, level: float = 0.95) -> pd.DataFrame:
    """Tidy rho table: one row per (noise level, measure).

    runs: one row per trained net with columns `by`, `arch`, `error` and the measures (extra rows
    per architecture, e.g. seeds, are averaged first). Returns columns by, measure, rho, ci_low,
    ci_high, n_arch (architectures with positive, finite error and measure), n_dropped.
    """
    # a nan in any seed makes the architecture's mean nan (dropped and visible in n_arch), not a
    # silently smaller average
    mean = runs.groupby([by, arch], sort=True)[[error, *measures]].agg(
        lambda v: v.mean(skipna=False)).reset_index()
    rows = []
    for level_value, g in mean.groupby(by, sort=True):
        for m in measures:
            keep = (g[error] > 0) & (g[m] > 0) & np.isfinite(g[error]) & np.isfinite(g[m])
            res = bootstrap_rho(g[error][keep], g[m][keep], seed, n_resamples, level)
            rows.append({by: level_value, "measure": m, **res, "n_arch": int(keep.sum())})
    return pd.DataFrame(rows, columns=[by, "measure", "rho", "ci_low", "ci_high", "n_arch", "n_dropped"])
