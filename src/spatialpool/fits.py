"""Power-law exponents by least squares in log-log, with bootstrap intervals over seeds."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def loglog_slope(x, y) -> float:
    """Slope of log y against log x; nan unless every point is finite and positive."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or not (np.all(np.isfinite(y)) and np.all(y > 0) and np.all(x > 0)):
        return float("nan")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def bootstrap_mean(values, seed: int, n_resamples: int = 2000, level: float = 0.95) -> tuple[float, float, float]:
    """Mean over seeds and a percentile bootstrap interval (resampling seeds)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    if len(v) == 1 or np.all(v == v[0]):
        return float(v.mean()), float(v[0]) if len(v) == 1 else float(v.mean()), float(v.mean())
    res = stats.bootstrap((v,), np.mean, n_resamples=n_resamples, confidence_level=level,
                          method="percentile", rng=np.random.default_rng(seed))
    return float(v.mean()), float(res.confidence_interval.low), float(res.confidence_interval.high)


MEASURES = ("D", "G_rect", "G_plain", "R_rect", "R_plain")


def window_of(measure: str, fit: dict) -> tuple[int, int]:
    """Fit window of a measure: G_* use fit['G']; D and R_* (which inherit D's layer limit) fit['D']."""
    return tuple(fit["G"] if measure.startswith("G") else fit["D"])


def exponents(sens: pd.DataFrame, fit: dict, x: str = "A_theory", measures=MEASURES) -> pd.DataFrame:
    """Per-seed exponents of each measure against x over its layer window (inclusive).

    sens: tidy table with columns seed, state, k, x and the measures.
    """
    rows = []
    for (seed, state), g in sens.groupby(["seed", "state"]):
        for m in measures:
            lo, hi = window_of(m, fit)
            w = g[g.k.between(lo, hi)].sort_values("k")
            rows.append(dict(seed=seed, state=state, measure=m, k_min=lo, k_max=hi,
                             exponent=loglog_slope(w[x], w[m])))
    return pd.DataFrame(rows, columns=["seed", "state", "measure", "k_min", "k_max", "exponent"])


def summarise(per_seed: pd.DataFrame, seed: int, n_resamples: int, level: float) -> pd.DataFrame:
    """Mean exponent over seeds with its bootstrap interval, per (state, measure)."""
    rows = []
    for (state, measure), g in per_seed.groupby(["state", "measure"], sort=False):
        mean, lo, hi = bootstrap_mean(g.exponent, seed, n_resamples, level)
        rows.append(dict(state=state, measure=measure, exponent=mean, ci_low=lo, ci_high=hi,
                         n_seeds=int(g.exponent.notna().sum()), k_min=g.k_min.iloc[0], k_max=g.k_max.iloc[0]))
    return pd.DataFrame(rows, columns=["state", "measure", "exponent", "ci_low", "ci_high", "n_seeds",
                                       "k_min", "k_max"])
