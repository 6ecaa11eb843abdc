"""Power-law exponents by least squares in log-log, with Student-t intervals over seeds.

An exponent is fitted per seed over a layer window [k_min, k_max]; seeds are the independent
replicates, so the interval of the mean exponent is the Student-t interval over the per-seed
values (n - 1 degrees of freedom). With 4 seeds a percentile bootstrap is far too narrow: it
cannot reach beyond the extreme seeds and has a coverage well under its nominal level (the
values 1.03, 1.07, 0.95, 0.29 give a bootstrap interval [0.48, 1.05] but a t-interval
[0.26, 1.42]). The per-seed values are printed beside every interval.
"""
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


def t_interval(values, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """Mean of the finite values, its two-sided Student-t interval, their sd and count.

    Returns (mean, low, high, sd, n); the interval is nan for n < 2 (no spread to estimate)
    and collapses to the mean when every value is equal.
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), float("nan"), 0
    mean = float(v.mean())
    if n == 1:
        return mean, float("nan"), float("nan"), float("nan"), 1
    sd = float(v.std(ddof=1))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
    return mean, mean - half, mean + half, sd, n


MEASURES = ("D", "G_rect", "G_plain", "R_rect", "R_plain")


def window_of(measure: str, fit: dict) -> tuple[int, int]:
    """Fit window of a measure: G_* use fit['G']; D and R_* (which inherit D's layer limit) fit['D']."""
    return tuple(fit["G"] if measure.startswith("G") else fit["D"])


def exponents(sens: pd.DataFrame, fit: dict, x: str = "A_theory", measures=MEASURES) -> pd.DataFrame:
    """Per-seed exponents of each measure against x over its layer window (inclusive).

    sens: tidy table with columns seed, state, k, x and the measures. A seed whose measure is
    undefined (nan, e.g. a dead net) at any layer of the window gets a nan exponent: it is
    counted as undefined, never fitted on the remaining layers.
    """
    rows = []
    for (seed, state), g in sens.groupby(["seed", "state"]):
        for m in measures:
            lo, hi = window_of(m, fit)
            w = g[g.k.between(lo, hi)].sort_values("k")
            rows.append(dict(seed=seed, state=state, measure=m, k_min=lo, k_max=hi,
                             exponent=loglog_slope(w[x], w[m])))
    return pd.DataFrame(rows, columns=["seed", "state", "measure", "k_min", "k_max", "exponent"])


def window_exponents(sens: pd.DataFrame, min_layers: int, x: str = "A_theory", measures=MEASURES) -> pd.DataFrame:
    """Per-seed exponents over every window [k_min, k_max] of at least min_layers layers.

    Same input as exponents(); sens may also be a one-'seed' table of the exact homogeneous-
    filter network. Columns: seed, state, measure, k_min, k_max, exponent.
    """
    rows = []
    ks = sorted(sens.k.unique())
    for (seed, state), g in sens.groupby(["seed", "state"]):
        g = g.set_index("k").sort_index()
        for lo in ks:
            for hi in ks:
                if hi - lo + 1 < min_layers:
                    continue
                w = g.loc[lo:hi]
                for m in measures:
                    rows.append(dict(seed=seed, state=state, measure=m, k_min=lo, k_max=hi,
                                     exponent=loglog_slope(w[x], w[m])))
    return pd.DataFrame(rows, columns=["seed", "state", "measure", "k_min", "k_max", "exponent"])


def _per_seed_text(values) -> str:
    return ", ".join("nan" if not np.isfinite(v) else f"{v:.3g}" for v in values)


def summarise(per_seed: pd.DataFrame, level: float, by=("state", "measure")) -> pd.DataFrame:
    """Mean exponent over seeds with its t-interval, per group (default: state, measure).

    Columns: the group keys, exponent (mean over seeds where it is defined), ci_low, ci_high,
    sd, n_seeds (defined), n_undefined (seeds whose exponent is nan: a dead or constant
    representation somewhere in the window), per_seed (the values, in seed order), k_min, k_max.
    """
    by = list(by)
    cols = by + [c for c in ("exponent", "ci_low", "ci_high", "sd", "n_seeds", "n_undefined", "per_seed",
                             "k_min", "k_max") if c not in by]
    rows = []
    for key, g in per_seed.groupby(by, sort=False):
        g = g.sort_values("seed")
        mean, lo, hi, sd, n = t_interval(g.exponent, level)
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,)), exponent=mean, ci_low=lo, ci_high=hi,
                         sd=sd, n_seeds=n, n_undefined=int(g.exponent.isna().sum()),
                         per_seed=_per_seed_text(g.exponent), k_min=g.k_min.iloc[0], k_max=g.k_max.iloc[0]))
    return pd.DataFrame(rows, columns=cols)


def window_table(sens: pd.DataFrame, exact: pd.DataFrame, stride: int, min_layers: int, level: float,
                 rel_tolerance: float, flat_tolerance: float, premise=None) -> pd.DataFrame:
    """Exponents over every window, beside the exact homogeneous-filter network's and the prediction.

    sens: the selected seeds' tidy table (seed, state, k, A_theory, measures); exact: the exact
    network's table on the same probe set (k, A_theory, measures; theory_curves rule); premise:
    the layers k where the theory's premise holds for the trained nets (sec. 4: homogeneous
    mean filters), None for every layer. A window is *justified* for a measure when every layer
    of it satisfies the premise and the exact spatial-pooling network itself follows the
    asymptotic law there (its exponent agrees with the prediction, predictions.agrees): only
    there can the trained nets be asked to follow it. Columns: state, measure, k_min, k_max,
    exponent, ci_low, ci_high, sd, n_seeds, n_undefined, per_seed, exact, predicted, premise,
    justified.
    """
    from spatialpool.claims.predictions import agrees, predicted

    per_seed = window_exponents(sens, min_layers)
    out = summarise(per_seed, level, by=("state", "measure", "k_min", "k_max"))
    ex = window_exponents(exact.assign(seed=0, state="exact"), min_layers)
    ex = ex.rename(columns={"exponent": "exact"})[["measure", "k_min", "k_max", "exact"]]
    out = out.merge(ex, on=["measure", "k_min", "k_max"], how="left")
    out["predicted"] = [predicted(stride, m) for m in out.measure]
    ok = set(sens.k.unique()) if premise is None else set(premise)
    out["premise"] = [all(k in ok for k in range(lo, hi + 1)) for lo, hi in zip(out.k_min, out.k_max)]
    out["justified"] = out.premise & np.array([agrees(e, p, rel_tolerance, flat_tolerance)
                                               for e, p in zip(out.exact, out.predicted)], dtype=bool)
    return out
