"""Scorecard rows for the real-image claims (paper sec. 2-3, app. C), computed from the run's tables.

Claims, each per (group, architecture) or per (group, noise level):
- R_k falls with depth after training and not at initialisation (figs 3, C2, C4): at the output,
  R_K / R_0 of the trained nets is below `fall_factor`, and below `init_gap` x its value at init.
- Shuffled curves lie between the original and flat (figs 3, C2, C4): with m = mean over layers
  1..K of log R_k, the shuffled nets undo a fraction (m_shuffled - m_trained) / (0 - m_trained) of
  the trained nets' change from flat (log R_0 = 0); it must lie in [-tol, 1 + tol]. 0: shuffling
  changes nothing (pure spatial pooling); 1: shuffled nets are flat (pure channel pooling).
- Filters of middle layers become low-frequency (figs 4, C5-C7): the fig. C5 aggregate frequency
  (1 for i.i.d. filters, 0 for constant ones), averaged over the conv layers with relative depth
  in `middle`, falls below (1 - margin) x its value at init (nets with at least 3 conv layers).
- rho(eps, D_f) > 0, rho(eps, G_f) < 0, rho(eps, R_f) > 0 and the largest of the three (figs 1
  right, C1, C3), per noise level, across architectures (point estimate; the bootstrap interval is
  reported beside it).
Means over seeds (and permutations) are geometric for R (log R averaged).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MIN_CONVS = 3  # the filter claim needs a first, a middle and a last conv layer
COLUMNS = ["section", "claim", "experiment", "paper", "measured", "ci_low", "ci_high", "criterion", "passed"]


def _row(section, claim, experiment, paper, measured, passed, ci=(np.nan, np.nan), criterion=""):
    return dict(section=section, claim=claim, experiment=experiment, paper=paper, measured=measured,
                ci_low=ci[0], ci_high=ci[1], criterion=criterion, passed=bool(passed))


def _log_mean(values) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.log(v).mean())) if len(v) else np.nan


def conv_archs(layers: pd.DataFrame) -> list[str]:
    """Architectures with a shuffled state, i.e. with convolutions, in table order."""
    return list(dict.fromkeys(layers[layers.state == "shuffled"].arch))


def output_ratio(layers: pd.DataFrame, arch: str, state: str) -> float:
    """Geometric mean over nets of R at the output over R at the input."""
    t = layers[(layers.arch == arch) & (layers.state == state)]
    r0 = t[t.kind == "input"].R.mean()  # the same probe for every net of one noise level
    return _log_mean(t[t.name == "output"].R / r0)


def mean_log_r(layers: pd.DataFrame, arch: str, state: str) -> float:
    """Mean over layers 1..K (and nets) of log(R_k / R_0)."""
    t = layers[(layers.arch == arch) & (layers.state == state) & layers.is_layer]
    r0 = t[t.kind == "input"].R.mean()
    t = t[t.kind != "input"]
    v = t.R.to_numpy(float) / r0
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.log(v).mean()) if len(v) else np.nan


def depth_rows(group: str, section: str, layers: pd.DataFrame, tol: dict, noise: str | float = 0) -> list[dict]:
    rows = []
    layers = layers[layers.noise.astype(float) == float(noise)]
    fall, gap, shuffle_tol = tol["fall_factor"], tol["init_gap"], tol["shuffle_tolerance"]
    for arch in conv_archs(layers):
        tr, ini = output_ratio(layers, arch, "trained"), output_ratio(layers, arch, "init")
        ok = np.isfinite(tr) and np.isfinite(ini) and tr <= fall and tr <= gap * ini
        rows.append(_row(section, "R_k falls with depth after training and not at initialisation",
                         f"{group}/{arch}", f"R_K/R_0 < {fall:g} and < {gap:g} x init", tr, ok,
                         criterion=f"R at the output over R at the input, trained (init: {ini:.3g})"))
        m_t, m_s = mean_log_r(layers, arch, "trained"), mean_log_r(layers, arch, "shuffled")
        frac = (m_s - m_t) / (0.0 - m_t) if np.isfinite(m_t) and abs(m_t) > 1e-12 else np.nan
        rows.append(_row(section, "shuffled-channel R_k lies between the original and flat",
                         f"{group}/{arch}", "0 <= fraction undone <= 1", frac,
                         np.isfinite(frac) and -shuffle_tol <= frac <= 1 + shuffle_tol,
                         criterion=f"(m_shuffled - m_trained) / (0 - m_trained), m = mean_k log(R_k/R_0) "
                                   f"(trained {m_t:.3g}, shuffled {m_s:.3g}); within [-{shuffle_tol:g}, "
                                   f"1 + {shuffle_tol:g}]"))
    return rows


def spectra_rows(group: str, section: str, aggregates: pd.DataFrame, tol: dict, noise: str | float = 0) -> list[dict]:
    rows = []
    lo, hi = tol["middle"]
    margin = tol["low_frequency_margin"]
    a = aggregates[aggregates.noise.astype(float) == float(noise)] if "noise" in aggregates else aggregates
    for arch, g in a.groupby("arch", sort=False):
        mid = g[(g.rel_depth > lo) & (g.rel_depth <= hi)]
        if mid.empty or g.n_convs.max() < MIN_CONVS:
            continue  # a net with fewer than 3 conv layers has no middle layers
        m = mid.groupby("stage").aggregate_frequency.mean()
        tr, ini = m.get("trained", np.nan), m.get("init", np.nan)
        layers = sorted(mid.k.unique())
        rows.append(_row(section, "filters of middle layers become low-frequency", f"{group}/{arch}",
                         f"< (1 - {margin:g}) x init ({ini:.3f})", tr,
                         np.isfinite(tr) and tr < (1 - margin) * ini,
                         criterion=f"fig. C5 aggregate frequency, mean over conv layers k = "
                                   f"{layers[0]}..{layers[-1]} of {int(g.n_convs.max())} (relative depth in "
                                   f"({lo:g}, {hi:g}]); 1 = i.i.d., 0 = constant filters"))
    return rows


def correlation_rows(group: str, section: str, correlations: pd.DataFrame) -> list[dict]:
    rows = []
    for noise, g in correlations.groupby("noise", sort=True):
        r = g.set_index("measure")
        rho = {m: r.rho.get(m, np.nan) for m in ("D_f", "G_f", "R_f")}
        cis = {m: (r.ci_low.get(m, np.nan), r.ci_high.get(m, np.nan)) for m in rho}
        get, ci = rho.get, cis.get
        n = int(r.n_arch.max()) if len(r) else 0
        where = f"{group}, noise {noise:g}"
        crit = f"Pearson rho of log eps and log X across {n} architectures (mean over seeds); 95% bootstrap interval"
        rows.append(_row(section, "rho(eps, D_f) > 0", where, "> 0", get("D_f"), get("D_f") > 0, ci("D_f"), crit))
        rows.append(_row(section, "rho(eps, G_f) < 0", where, "< 0", get("G_f"), get("G_f") < 0, ci("G_f"), crit))
        largest = get("R_f") >= np.nanmax([get("D_f"), get("G_f")])
        rows.append(_row(section, "rho(eps, R_f) > 0 and the largest of the three", where,
                         f"> 0 and >= rho(eps, D_f) ({get('D_f'):.3f})", get("R_f"),
                         get("R_f") > 0 and bool(largest), ci("R_f"), crit))
    return rows


def imagenet_rows(layers: pd.DataFrame, aggregates: pd.DataFrame, tol: dict) -> list[dict]:
    layers = layers.assign(noise=0.0, seed=0)
    rows = depth_rows("imagenet", "2 (figs 3, C4 right)", layers, tol)
    rows += spectra_rows("imagenet", "2 (figs 4, C5, C6)", aggregates.assign(noise=0.0), tol)
    return rows


def table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)
