"""The reproduction scorecard: each quantitative claim of sections 4, A and B against our numbers.

Every 'measured' value is read from the tables the workflow computed; the paper's values
are predictions (exponents) or statements (zero test error, flat G_k for tanh, ...).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .fits import loglog_slope, window_of

# Section 4 predictions for the exponents against A_k: stride 1 (task 1) and stride F (task 2).
PREDICTED = {"stride 1": {"D": -2.0, "G_rect": 1.0, "R_rect": -3.0},
             "stride F": {"D": -1.0, "G_rect": 1.0, "R_rect": -2.0}}


def _row(section, claim, experiment, paper, measured, passed, ci=(np.nan, np.nan), criterion=""):
    return dict(section=section, claim=claim, experiment=experiment, paper=paper, measured=measured,
                ci_low=ci[0], ci_high=ci[1], criterion=criterion, passed=bool(passed))


def _fit(fits, experiment, state, measure):
    f = fits[(fits.experiment == experiment) & (fits.state == state) & (fits.measure == measure)]
    if f.empty:
        return dict(exponent=np.nan, ci_low=np.nan, ci_high=np.nan, homogeneity=np.nan, k_min=0, k_max=0)
    return f.iloc[0].to_dict()


def within(measured, predicted, rel):
    return bool(np.isfinite(measured) and abs(measured - predicted) <= rel * abs(predicted))


def experiment_rows(name: str, exp: dict, fits: pd.DataFrame, collected: pd.DataFrame,
                    selection: pd.DataFrame, spectra: pd.DataFrame, theory: pd.DataFrame, tol: dict) -> list[dict]:
    rel, flat, hthr = tol["rel_tolerance"], tol["flat_tolerance"], tol["homogeneity_threshold"]
    rows = []
    sec = "4.3" if exp["activation"] == "relu" else "B"
    n_int = int(selection.interpolated.sum())
    rows.append(_row(sec, "every trained net interpolates its training set", name, "all seeds",
                     f"{n_int}/{len(selection)}", n_int == len(selection), criterion="train error 0"))
    sel = selection[selection.selected]
    err = float(sel.test_error.mean()) if len(sel) else np.nan
    rows.append(_row(sec, "trained nets generalise perfectly", name, 0.0, err, err == 0.0,
                     criterion="mean test error over selected seeds == 0"))

    geometry = "stride 1" if exp["net"]["stride"] == 1 else "stride F"
    ff = _fit(fits, name, "final", "D")

    def window(m):
        lo, hi = window_of(m, exp["fit"])
        return f"k = {lo}..{hi}"

    if exp["activation"] == "relu":
        for m, pred in PREDICTED[geometry].items():
            f = _fit(fits, name, "final", m)
            rows.append(_row(sec, f"exponent of {m} against A_k ({geometry}), {window(m)}", name, pred,
                             f["exponent"], within(f["exponent"], pred, rel), (f["ci_low"], f["ci_high"]),
                             f"within {rel:.0%}; filter homogeneity {f['homogeneity']:.3f}"))
        for m in ("D", "G_rect"):
            f = _fit(fits, name, "init", m)
            rows.append(_row("4.1", f"{m} flat in k at initialisation, {window(m)}", name, 0.0, f["exponent"],
                             np.isfinite(f["exponent"]) and abs(f["exponent"]) <= flat,
                             (f["ci_low"], f["ci_high"]), f"|exponent| <= {flat}"))
    else:
        f = _fit(fits, name, "final", "D")
        pred = PREDICTED[geometry]["D"]
        rows.append(_row(sec, f"D_k of tanh follows the spatial-pooling prediction, {window('D')}", name, pred,
                         f["exponent"], within(f["exponent"], pred, rel), (f["ci_low"], f["ci_high"]),
                         f"within {rel:.0%}; filter homogeneity {f['homogeneity']:.3f}"))
        f = _fit(fits, name, "final", "G_plain")
        rows.append(_row(sec, f"G_k of tanh (zero-mean noise) is flat, {window('G_plain')}", name, 0.0, f["exponent"],
                         np.isfinite(f["exponent"]) and abs(f["exponent"]) < flat, (f["ci_low"], f["ci_high"]),
                         f"|exponent| < {flat}"))

    # The asymptotic laws hold for A_k well inside the image (task 1) or the patches (task 2); the
    # homogeneous-filter network on the same probe set gives the exact prediction at this size.
    for m in ("D", "G_rect" if exp["activation"] == "relu" else "G_plain"):
        lo, hi = window_of(m, exp["fit"])
        w = theory[theory.k.between(lo, hi)].sort_values("k")
        pred = loglog_slope(w.A_theory, w[m])
        f = _fit(fits, name, "final", m)
        rows.append(_row(sec, f"exponent of {m} equals the homogeneous-filter network's (finite size), {window(m)}",
                         name, pred, f["exponent"], within(f["exponent"], pred, rel), (f["ci_low"], f["ci_high"]),
                         f"within {rel:.0%} of the exact solution's exponent on the same probe set"))

    if exp["activation"] == "tanh":
        # Appendix B: tanh filters are not fully homogeneous, so the mean channel shows a gap.
        f, g = _fit(fits, name, "final", "D"), _fit(fits, name, "mean_channel", "D")
        rows.append(_row(sec, f"mean-channel net departs from the trained tanh net (D), {window('D')}", name,
                         f["exponent"], g["exponent"], np.isfinite(g["exponent"]) and not within(g["exponent"], f["exponent"], rel),
                         (g["ci_low"], g["ci_high"]), f"exponent differs by more than {rel:.0%}"))
        return rows

    for m in ("D", "G_rect"):
        f, g = _fit(fits, name, "final", m), _fit(fits, name, "mean_channel", m)
        rows.append(_row(sec, f"mean-channel net keeps the exponent of {m}, {window(m)}", name, f["exponent"],
                         g["exponent"], within(g["exponent"], f["exponent"], rel), (g["ci_low"], g["ci_high"]),
                         f"within {rel:.0%} of the trained net's"))

    h_init, h_final = _fit(fits, name, "init", "D")["homogeneity"], ff["homogeneity"]
    rows.append(_row("C (tables C2, C3)", f"mean filters homogeneous after training, {window('D')}", name,
                     f"> init ({h_init:.3f})", h_final, h_final >= hthr and h_final > h_init,
                     criterion=f"constant-mode share of the mean filter >= {hthr}"))

    low = constant_mode_power(spectra, exp["fit"])
    n_modes = spectra["mode"].nunique()
    rows.append(_row("3, B (figs. 4, B1)", f"filters gain a dominant constant mode with training, {window('D')}", name,
                     f"init ~ 1/{n_modes}", float(low.get("final", np.nan)),
                     low.get("final", 0) > max(low.get("init", 1), 0.5),
                     criterion=f"mean B.1 power of mode 0 after training > 0.5 and > init ({low.get('init', np.nan):.3f})"))

    d_lo, d_hi = window_of("D", exp["fit"])
    t = collected[collected.selected & (collected.state == "final")]
    t = t[t.k.between(d_lo, d_hi)]
    slopes = [loglog_slope(g.sort_values("k").A_theory, g.sort_values("k").A_measured) for _, g in t.groupby("seed")]
    slope = float(np.nanmean(slopes)) if slopes else np.nan
    rows.append(_row("4.1-4.2", f"measured A_k grows like the theory's ({geometry}), {window('D')}", name, 1.0, slope,
                     within(slope, 1.0, rel), criterion=f"slope of log A_measured vs log A_theory within {rel:.0%}"))
    return rows


def constant_mode_power(spectra: pd.DataFrame, fit: dict) -> pd.Series:
    """Mean B.1 power of the constant mode over D's layer window, per stage (init, final)."""
    lo, hi = window_of("D", fit)
    s = spectra[(spectra["mode"] == 0) & spectra.k.between(lo, hi)]
    return s.groupby("stage").power.mean()


def relu_vs_tanh_rows(relu: str, tanh: str, fits: pd.DataFrame, spectra: pd.DataFrame, fit: dict,
                      tol: dict) -> list[dict]:
    rows = []
    pr = constant_mode_power(spectra[spectra.experiment == relu], fit).get("final", np.nan)
    pt = constant_mode_power(spectra[spectra.experiment == tanh], fit).get("final", np.nan)
    rows.append(_row("B (fig. B1)", "tanh filters are low-frequency, but less than ReLU's", f"{tanh} vs {relu}",
                     f"0.5 < tanh < relu ({pr:.3f})", pt, 0.5 < pt < pr, criterion="mean B.1 power of mode 0"))
    for m in ("G_plain", "G_rect"):
        r, t = _fit(fits, relu, "final", m), _fit(fits, tanh, "final", m)
        rows.append(_row("B (fig. B2)", f"tanh G_k grows more slowly than ReLU's ({m})", f"{tanh} vs {relu}",
                         f"< {r['exponent']:.3f}", t["exponent"], t["exponent"] < r["exponent"],
                         (t["ci_low"], t["ci_high"]), "tanh exponent below the ReLU exponent"))
    for m in ("R_plain", "R_rect"):
        r, t = _fit(fits, relu, "final", m), _fit(fits, tanh, "final", m)
        rows.append(_row("B (fig. B2)", f"tanh R_k decreases less than ReLU's ({m})", f"{tanh} vs {relu}",
                         f"> {r['exponent']:.3f}", t["exponent"], t["exponent"] > r["exponent"],
                         (t["ci_low"], t["ci_high"]), "tanh exponent above the ReLU exponent"))
    return rows


def appendix_a_rows(table: pd.DataFrame) -> list[dict]:
    rows = []
    for parity, g in table.groupby("parity"):
        last = g.sort_values("k").groupby("F").tail(1)
        for _, r in last.iterrows():
            for coef in ("drift", "diffusion"):
                rows.append(_row("A", f"{coef} coefficient of M^k delta, F = {int(r.F)} ({parity})", "appendix_a",
                                 r[f"paper_{coef}"], r[f"measured_{coef}"],
                                 bool(np.isclose(r[f"paper_{coef}"], r[f"measured_{coef}"], rtol=1e-9, atol=1e-12)),
                                 criterion=f"paper's closed form equals the exact moment (exact: {r[f'exact_{coef}']:.6g})"))
    ks = table.groupby("k").clt_max_err.max()
    rows.append(_row("A", "M^k delta tends to a Gaussian (central limit)", "appendix_a", "error -> 0",
                     float(ks.iloc[-1]), bool(ks.iloc[-1] < ks.iloc[0] and ks.is_monotonic_decreasing),
                     criterion=f"max error of the Gaussian form (exact moments) falls with k, from {ks.iloc[0]:.3g}"))
    return rows
