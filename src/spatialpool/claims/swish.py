"""The swish experiment's scorecard rows (beyond the paper: the conjecture of its sec. 4.1 and
conclusion, README "Swish: between linear and ReLU"), judged on trained task-1 nets.

Section label "S": the referee's summary lists these apart from the paper's own sections.

- every beta's trained nets reach the spatial-pooling solution: the channel-averaged filters of
  the G window are homogeneous (constant-mode share, mean over the window's layers and the seeds,
  >= the scorecard's homogeneity threshold, as for the paper's nets); control: the same nets at
  initialisation;
- G_k's growth increases with beta at fixed noise magnitude: the least-squares slope of the
  per-net exponent of G_k against log beta, with its t-interval (n - 2 degrees of freedom), is
  > 0 at the magnitude where the homogeneous network's exponent depends most on beta over the
  trained betas; control: the magnitude where it depends least (both chosen from the theory
  table, never from the trained nets);
- the crossover magnitude m* scales as the homogeneous network's: the slope of log m* (per net)
  against log beta lies within rel_tolerance of the homogeneous network's slope over the same
  betas, its t-interval inside that band (else: not enough data); control: the same nets with
  their beta labels reversed (m* then rises with beta), which must fail.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from spatialpool.analysis.fits import loglog_slope
from spatialpool.claims.statistics import row

SECTION = "S (swish, conjecture of sec. 4.1)"
NOISE_WORDS = {"plain": "zero-mean", "rect": "rectified"}


def slope_interval(x, y, level: float = 0.95) -> tuple[float, float, float, int]:
    """Least-squares slope of y on x over the finite points, with its two-sided t-interval
    (n - 2 degrees of freedom). Returns (slope, low, high, n); nan where n < 3 or x is constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan"), float("nan"), n
    fit = stats.linregress(x, y)
    half = stats.t.ppf(0.5 + level / 2, n - 2) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half), n


def theory_beta_slopes(theory: pd.DataFrame, betas, noise: str) -> pd.Series:
    """Per magnitude: the slope of the homogeneous network's exponent against log beta over `betas`."""
    t = theory[(theory.noise == noise) & theory.beta.isin(list(betas))]
    return t.groupby("magnitude").apply(lambda s: np.polyfit(np.log(s.beta), s.exponent, 1)[0]
                                        if s.beta.nunique() >= 2 else np.nan, include_groups=False)


def swish_rows(trained: pd.DataFrame, filters: pd.DataFrame, crossovers: pd.DataFrame, theory: pd.DataFrame,
               theory_crossovers: pd.DataFrame, window: tuple[int, int], tol: dict, level: float = 0.95,
               excluded: dict[str, list[int]] | None = None, betas=None) -> list[dict]:
    """trained: analysis.swish.exponents of the trained nets (one row per net, noise, magnitude; the
    ReLU reference nets with beta nan); filters: trained_sweep's filter tables stacked; crossovers:
    analysis.swish.crossovers of `trained`; theory, theory_crossovers: the homogeneous network's
    (rule swish_theory); window: the G fit window; tol: the scorecard settings; excluded: per
    activation, the seeds left out because they do not interpolate at the end (named in the rows);
    betas: the trained betas (default: those in `trained`), each with its rows even without nets."""
    excluded = excluded or {}
    rows = []
    swish = trained[trained.beta.notna()]
    betas = sorted(swish.beta.unique() if betas is None else betas)
    n_min = tol["min_seeds"]
    lo, hi = window

    # -- the protocol reaches the spatial-pooling solution; control: initialisation
    thr = tol["homogeneity_threshold"]
    f = filters[filters.k.between(lo, hi)]
    for beta in betas:
        act = f"swish:{beta:g}"
        g = f[f.activation == act]
        per_seed = {s: g[g.state == s].groupby("seed").homogeneity.mean() for s in ("final", "init")}
        fin, ini = per_seed["final"], per_seed["init"]
        rows.append(row(SECTION, f"trained nets reach the spatial-pooling solution: channel-averaged filters of "
                        f"k = {lo}..{hi} homogeneous", act, f">= {thr}", float(fin.mean()) if len(fin) else np.nan,
                        bool(len(fin)) and bool(fin.mean() >= thr), control="the same nets at initialisation",
                        control_measured=float(ini.mean()) if len(ini) else np.nan,
                        control_passed=bool(ini.mean() >= thr) if len(ini) else None, n=len(fin), n_min=n_min,
                        criterion=f"constant-mode share of the channel-averaged filter >= {thr}, mean over "
                                  f"k = {lo}..{hi} and the seeds (as for the paper's nets, sec. 4.3); per seed: "
                                  + ", ".join(f"{v:.3f}" for v in fin)
                                  + (f"; seeds {excluded[act]} left out of every swish claim: they do not interpolate "
                                     f"at the end of training" if excluded.get(act) else "")))

    if len(betas) < 2:
        return rows
    for noise in ("plain", "rect"):
        word = NOISE_WORDS[noise]
        # -- growth increases with beta at the theory's most (control: least) beta-dependent magnitude
        slopes = theory_beta_slopes(theory, betas, noise).dropna()
        s = swish[swish.noise == noise]
        if len(slopes):
            m_test, m_ctrl = float(slopes.idxmax()), float(slopes.abs().idxmin())
            at = lambda m: s[np.isclose(s.magnitude, m)]
            t_ = at(m_test)
            c_ = at(m_ctrl)
            slope, s_lo, s_hi, n = slope_interval(np.log(t_.beta), t_.exponent, level)
            c_slope, c_lo, _, _ = slope_interval(np.log(c_.beta), c_.exponent, level)
            rows.append(row(SECTION, f"G_k's growth with depth increases with beta ({word} noise, magnitude {m_test:g})",
                            "swish " + ", ".join(f"{b:g}" for b in betas),
                            f"> 0 (homogeneous network: {slopes[m_test]:.3g})", slope, s_lo > 0, ci=(s_lo, s_hi),
                            n=n, n_min=n_min * len(betas),
                            effect=slope, control=f"the same nets at magnitude {m_ctrl:g}, where the homogeneous "
                                                  f"network's exponent depends least on beta ({slopes[m_ctrl]:.3g})",
                            control_measured=c_slope, control_passed=bool(c_lo > 0),
                            criterion=f"slope of the exponent of G_k against A_k (k = {lo}..{hi}) on log beta, "
                                      f"over every net, with its t-interval above 0; magnitudes from the theory table"))
        # -- m* scales as the homogeneous network's
        c = crossovers[(crossovers.noise == noise) & crossovers.beta.isin(betas)]
        pred = _theory_slope(theory_crossovers, noise, betas)
        slope, s_lo, s_hi, n = slope_interval(np.log(c.beta), np.log(c.m_star), level)
        flipped = np.log(betas[0] * betas[-1] / c.beta)
        r_slope, r_lo, r_hi, _ = slope_interval(flipped, np.log(c.m_star), level)
        rel = tol["rel_tolerance"]
        band = (pred - rel * abs(pred), pred + rel * abs(pred)) if np.isfinite(pred) else (np.nan, np.nan)
        inside = lambda v: bool(np.isfinite(v) and band[0] <= v <= band[1])
        n_cross = int(np.isfinite(c.m_star).sum())
        rows.append(row(SECTION, f"crossover magnitude m* scales with beta as the homogeneous network's ({word} noise)",
                        "swish " + ", ".join(f"{b:g}" for b in betas), pred, slope, inside(slope), ci=(s_lo, s_hi),
                        n=n_cross, n_min=n_min * len(betas),
                        too_wide=not (inside(s_lo) and inside(s_hi)), effect=(slope - pred) / abs(pred) if pred else np.nan,
                        control="the same nets with their beta labels reversed", control_measured=r_slope,
                        control_passed=inside(r_slope),
                        criterion=f"slope of log m* against log beta over the nets with a crossover ({n_cross} of "
                                  f"{len(c)}) within {rel:.0%} of the homogeneous network's, its t-interval inside "
                                  f"that band (else: not enough data); m*: where a net's exponent has risen half way "
                                  f"from its smallest-magnitude value to the trained ReLU nets' mean"))
    return rows


def _theory_slope(theory_crossovers: pd.DataFrame, noise: str, betas) -> float:
    c = theory_crossovers[(theory_crossovers.noise == noise) & theory_crossovers.beta.isin(list(betas))]
    c = c[np.isfinite(c.m_star)]
    return loglog_slope(c.beta, c.m_star)
