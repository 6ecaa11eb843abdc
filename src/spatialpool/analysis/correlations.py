"""Correlation of test error with sensitivities across architectures (paper fig. 1 right, fig. C3).

    rho(eps, X) = Cov(log eps, log X) / sqrt(Var(log eps) Var(log X)),

the Pearson coefficient of the logs, computed across architectures at each noise level of the
noisy-CIFAR runs, for X in D_f, G_f, R_f. It is invariant to rescaling eps or X and is +-1 for an
exact power law X = a eps^b. Several rows per (noise, architecture) (seeds) are first averaged.

Intervals resample architectures (pairs (eps, X) together), percentile method. With a handful of
architectures some resamples repeat one architecture only and have no correlation; those are
dropped (and counted), which scipy.stats.bootstrap cannot do, so the resampling is done here.

Only architectures that *learned* enter (``learned_fraction``): mean test error below
``learned_fraction x (1 - 1/n_classes)``, chance being 1 - 1/n_classes. A net at chance has
arbitrary sensitivities (the FCN that never learned 2D scale detection flips rho(eps, D_f) from
-0.99 to +0.69), so it is excluded and listed (``excluded``: 'arch (error)').

Permutation null: the probability that a random pairing of the errors with the sensitivities
gives a rho at least as large (``p_greater``) / at least as small (``p_less``) as the observed
one. Exact over all n! pairings for n <= ``exact_max`` (the smallest attainable one-sided p is
1/n!: 1/24 with 4 architectures), seeded Monte Carlo otherwise, p = (1 + hits) / (1 + draws).
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations
from math import factorial

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
    if len(a) < 2:  # no architecture (or one) learned: no correlation to speak of
        return dict(rho=np.nan, ci_low=np.nan, ci_high=np.nan, n_dropped=0)
    rho = float(_rho(a[None], b[None])[0])
    if len(a) < 3 or not np.isfinite(rho):
        return dict(rho=rho, ci_low=np.nan, ci_high=np.nan, n_dropped=0)
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_resamples, len(a)))
    boot = _rho(a[idx], b[idx])
    ok = boot[np.isfinite(boot)]
    lo, hi = np.percentile(ok, [50 * (1 - level), 50 * (1 + level)])
    return dict(rho=rho, ci_low=float(lo), ci_high=float(hi), n_dropped=int(len(boot) - len(ok)))


EXACT_MAX = 8  # 8! = 40320 pairings: enumerated; above, Monte Carlo


def permutation_p(eps, x, seed: int = 0, n_permutations: int = 10000, exact_max: int = EXACT_MAX) -> dict:
    """One-sided permutation p-values of rho(log eps, log x) under random pairings.

    Returns p_greater = P(rho_perm >= rho), p_less = P(rho_perm <= rho), n_perm (pairings used)
    and exact (all n! pairings enumerated). nan p-values with fewer than 3 points or no rho.
    """
    a, b = np.log(np.asarray(eps, float)), np.log(np.asarray(x, float))
    n = len(a)
    rho = float(_rho(a[None], b[None])[0]) if n >= 2 else float("nan")
    if n < 3 or not np.isfinite(rho):
        return dict(p_greater=np.nan, p_less=np.nan, n_perm=0, exact=False)
    tie = 1e-12 * max(1.0, abs(rho))
    if n <= exact_max:
        idx = np.array(list(permutations(range(n))))
        null = _rho(np.broadcast_to(a, idx.shape), b[idx])
        return dict(p_greater=float(np.mean(null >= rho - tie)), p_less=float(np.mean(null <= rho + tie)),
                    n_perm=int(factorial(n)), exact=True)
    rng = np.random.default_rng(seed)
    idx = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
    null = _rho(np.broadcast_to(a, idx.shape), b[idx])
    return dict(p_greater=float((1 + np.sum(null >= rho - tie)) / (1 + n_permutations)),
                p_less=float((1 + np.sum(null <= rho + tie)) / (1 + n_permutations)),
                n_perm=int(n_permutations), exact=False)


def learned(error, n_classes, learned_fraction: float | None) -> np.ndarray:
    """Error clearly below chance: error < learned_fraction x (1 - 1/n_classes); all True if None.

    n_classes is the number of outputs as the nets' summaries record it: 1 for a single-output
    (hinge) classifier, which is a binary task, so at least 2 classes are counted."""
    error = np.asarray(error, float)
    if learned_fraction is None:
        return np.ones(error.shape, bool)
    chance = 1.0 - 1.0 / np.maximum(np.asarray(n_classes, float), 2.0)
    return error < learned_fraction * chance


COLUMNS = ["measure", "rho", "ci_low", "ci_high", "n_arch", "n_dropped", "p_greater", "p_less", "n_perm",
           "exact", "n_learned", "n_excluded", "excluded", "learned_fraction", "rho_by_seed", "rho_seed_min",
           "rho_seed_max"]


def correlation_table(runs: pd.DataFrame, measures: Sequence[str] = ("D_f", "G_f", "R_f"),
                      error: str = "error", by: str = "noise", arch: str = "arch", seed: int = 0,
                      n_resamples: int = 2000, level: float = 0.95, learned_fraction: float | None = None,
                      n_classes: int | str = "num_classes", n_permutations: int = 10000,
                      exact_max: int = EXACT_MAX, seed_column: str | None = None) -> pd.DataFrame:
    """Tidy rho table: one row per (noise level, measure).

    runs: one row per trained net with columns `by`, `arch`, `error` and the measures (extra rows
    per architecture, e.g. seeds, are averaged first). learned_fraction: keep only architectures
    whose mean error is below learned_fraction x (1 - 1/n_classes) (None: keep all); n_classes: a
    number or the column holding it. Returns columns by, measure, rho, ci_low, ci_high, n_arch
    (learned architectures with positive, finite error and measure: the points of rho), n_dropped
    (degenerate bootstrap resamples), p_greater, p_less, n_perm, exact (permutation null, see
    permutation_p), n_learned, n_excluded and excluded ('arch (error)' of those that did not
    learn, ';'-separated), learned_fraction.

    seed_column: the runs' column naming the training seed. When given, rho is also computed on
    each seed's nets alone, over the same architectures (a seed that some of them lack is left
    out): rho_by_seed ('seed: rho', ';'-separated), rho_seed_min, rho_seed_max. They show how much
    of rho is one training draw (README, "Real images"); no verdict reads them. Without it they
    are '' and nan.
    """
    # a nan in any seed makes the architecture's mean nan (dropped and visible in n_arch), not a
    # silently smaller average
    mean = runs.groupby([by, arch], sort=True)[[error, *measures]].agg(
        lambda v: v.mean(skipna=False)).reset_index()
    if learned_fraction is not None:
        classes = (runs.groupby([by, arch], sort=True)[n_classes].first().to_numpy(float)
                   if isinstance(n_classes, str) else float(n_classes))
        # a nan error is not 'did not learn': such an architecture is dropped below (visible in n_arch)
        mean["learned"] = learned(mean[error], classes, learned_fraction) | ~np.isfinite(mean[error])
    else:
        mean["learned"] = True
    rows = []
    for level_value, g in mean.groupby(by, sort=True):
        out = g[~g.learned]
        excluded = "; ".join(f"{a} ({e:.3g})" for a, e in zip(out[arch], out[error]))
        g = g[g.learned]
        level_runs = runs[runs[by] == level_value] if seed_column is not None else None
        for m in measures:
            keep = (g[error] > 0) & (g[m] > 0) & np.isfinite(g[error]) & np.isfinite(g[m])
            res = bootstrap_rho(g[error][keep], g[m][keep], seed, n_resamples, level)
            perm = permutation_p(g[error][keep], g[m][keep], seed, n_permutations, exact_max)
            by_seed = (_rho_by_seed(level_runs, g[arch][keep], arch, seed_column, error, m)
                       if seed_column is not None else {})
            rows.append({by: level_value, "measure": m, **res, "n_arch": int(keep.sum()), **perm,
                         "n_learned": len(g), "n_excluded": len(out), "excluded": excluded,
                         "learned_fraction": np.nan if learned_fraction is None else float(learned_fraction),
                         "rho_by_seed": "; ".join(f"{s}: {r:+.3f}" for s, r in by_seed.items()),
                         "rho_seed_min": min(by_seed.values(), default=np.nan),
                         "rho_seed_max": max(by_seed.values(), default=np.nan)})
    return pd.DataFrame(rows, columns=[by, *COLUMNS])


def _rho_by_seed(runs: pd.DataFrame, archs: pd.Series, arch: str, seed_column: str, error: str,
                 measure: str) -> dict:
    """{seed: rho of log error and log measure over `archs`, from that seed's runs alone}, for the
    seeds that every one of `archs` has; seeds whose rho is nan are left out."""
    out = {}
    wanted = set(archs)
    for s, g in runs[runs[arch].isin(wanted)].groupby(seed_column, sort=True):
        if set(g[arch]) == wanted and len(g) == len(wanted):
            r = log_correlation(g[error], g[measure])
            if np.isfinite(r):
                out[s.item() if hasattr(s, "item") else s] = r
    return out
