"""The reproduction scorecard of sections 4, A and B: each claim judged on our data and on a control.

Every row is built by claims.row: one criterion applied to the trained nets and to a control
where the claim should not hold (mostly the same nets at initialisation), with the number of
valid seeds and the minimum the claim needs. Every 'measured' value is read from tables the
workflow computed (fits, window scan, per-seed tables, the exact homogeneous-filter network on
the same probe set, selection, training history, filter spectra, appendix A).

Criteria (tolerances from config `scorecard`):
- exponent against A_k: the mean over seeds agrees with the prediction (within rel_tolerance,
  predictions.agrees) on the configured window *and on every justified window* (those where the
  exact homogeneous-filter network itself follows the asymptotic law; fits.window_table);
- flat: the t-interval of the exponent lies inside +-flat_tolerance (an equivalence test: an
  interval that excludes 0 by more than the tolerance is not flat);
- equal to the exact finite-size network: its t-interval contains the exact network's exponent;
- per-layer agreement (exact network, mean channel, A_k): the seed-mean of log(ours / reference)
  stays within log(1 + layer_tolerance) at every layer of the window.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from spatialpool.claims.statistics import row
from spatialpool.analysis.fits import t_interval, window_of
from spatialpool.claims.predictions import agrees, geometry, predicted

INIT_CONTROL = "the same nets at initialisation"
# The two readings of the paper's "replacing each layer with the mean channel" (fig. 7 dotted, B2):
# (state measured on the trained net, the same operation on the init net, what it is)
MEAN_CHANNEL = (("channel_mean", "init_channel_mean", "channel mean of the trained representation"),
                ("mean_channel", "init_mean_channel", "net with every filter replaced by the layer's mean filter"))


def _factor(log_gap):
    return float(np.exp(log_gap)) if np.isfinite(log_gap) else np.nan


def mean_channel_gap(collected: pd.DataFrame, state: str, reference_state: str, measure: str, window):
    """per_layer_gap of an ablation state against the state it was made from."""
    ref = collected[collected.state == reference_state][["seed", "k", measure]]
    return per_layer_gap(collected[collected.state == state], ref, measure, window)


def _fit(fits, experiment, state, measure):
    f = fits[(fits.experiment == experiment) & (fits.state == state) & (fits.measure == measure)]
    if f.empty:
        return dict(exponent=np.nan, ci_low=np.nan, ci_high=np.nan, homogeneity=np.nan, k_min=0, k_max=0,
                    n_seeds=0, per_seed="")
    return f.iloc[0].to_dict()


def flat(ci_low, ci_high, tolerance) -> bool:
    """Equivalence to a flat curve: the whole interval lies within +-tolerance."""
    return bool(np.isfinite(ci_low) and np.isfinite(ci_high) and -tolerance <= ci_low and ci_high <= tolerance)


def scaling(windows: pd.DataFrame, state: str, measure: str, configured: tuple[int, int], tol: dict,
            as_measure: str | None = None):
    """Whether a state's exponent agrees with the prediction on the configured window and on
    every justified window. Returns (passed, n_justified, (min, max) exponent over them).

    as_measure: judge `measure`'s exponents on the windows and prediction of another measure
    (a control: rectified-noise G_k judged against the zero-mean-noise prediction)."""
    ref = windows[(windows.state == state) & (windows.measure == (as_measure or measure))]
    w = windows[(windows.state == state) & (windows.measure == measure)]
    just = w.merge(ref.loc[ref.justified.astype(bool), ["k_min", "k_max"]], on=["k_min", "k_max"])
    pred = predicted_of(ref)
    conf = w[(w.k_min == configured[0]) & (w.k_max == configured[1])]
    values = list(just.exponent) + list(conf.exponent)
    if not len(just) or pred is None:
        return False, 0, (np.nan, np.nan)
    ok = all(agrees(v, pred, tol["rel_tolerance"], tol["flat_tolerance"]) for v in values)
    return ok, len(just), (float(just.exponent.min()), float(just.exponent.max()))


def unjustified_reason(windows: pd.DataFrame, state: str, measure: str) -> str:
    """Why no window is justified for a state's measure (fits.window_table's definition): the first
    of no window scanned (no selected seed), the premise failing in every window (the trained
    mean filters are not homogeneous there), or the exact network off the law wherever the premise holds."""
    w = windows[(windows.state == state) & (windows.measure == measure)]
    if w.empty:
        return "no fit window scanned: no seed was selected (no trained net interpolated)"
    if not w.premise.astype(bool).any():
        return "no window where the trained nets' mean filters are homogeneous (the theory's premise)"
    return "no window where the exact spatial-pooling network follows the law"


def holding(windows: pd.DataFrame, state: str, measure: str, tol: dict) -> tuple[int, int]:
    """(justified windows where the state's exponent agrees with the prediction, justified windows)."""
    w = windows[(windows.state == state) & (windows.measure == measure) & windows.justified.astype(bool)]
    return sum(agrees(e, p, tol["rel_tolerance"], tol["flat_tolerance"]) for e, p in zip(w.exponent, w.predicted)), len(w)


def predicted_of(w: pd.DataFrame):
    return float(w.predicted.iloc[0]) if len(w) else None


def per_layer_gap(ours: pd.DataFrame, reference: pd.DataFrame, measure: str, window: tuple[int, int]):
    """Largest |seed-mean of log(ours_k / reference_k)| over the window's layers.

    ours: per-seed rows (seed, k, measure); reference: one row per k, or per (seed, k) when it
    has a seed column. Returns (gap, worst k, n seeds defined at every layer, n seeds in all).
    A seed with an undefined (nan or non-positive) value at any layer of the window does not
    count as defined; it is never averaged in.
    """
    lo, hi = window
    o = ours[ours.k.between(lo, hi)]
    keys = ["seed", "k"] if "seed" in reference.columns else ["k"]
    m = o.merge(reference[keys + [measure]].rename(columns={measure: "ref"}), on=keys, how="left")
    m["log_ratio"] = np.log(m[measure].where(m[measure] > 0) / m.ref.where(m.ref > 0))
    ok = m.groupby("seed").log_ratio.apply(lambda v: bool(np.isfinite(v).all()))
    good = m[m.seed.isin(ok[ok].index)]
    n, n_all = int(ok.sum()), int(len(ok))
    if good.empty:
        return np.nan, None, n, n_all
    per_k = good.groupby("k").log_ratio.mean().abs()
    return float(per_k.max()), int(per_k.idxmax()), n, n_all


def _init_rows(history: pd.DataFrame) -> pd.DataFrame:
    return history[history.event == "init"] if "event" in history else history.iloc[:0]


def experiment_rows(name: str, exp: dict, fits: pd.DataFrame, windows: pd.DataFrame, collected: pd.DataFrame,
                    selection: pd.DataFrame, history: pd.DataFrame, spectra: pd.DataFrame, theory: pd.DataFrame,
                    tol: dict) -> list[dict]:
    rel, hthr, ltol, n_min = tol["rel_tolerance"], tol["homogeneity_threshold"], tol["layer_tolerance"], tol["min_seeds"]
    relu = exp["activation"] == "relu"
    sec = "4.3" if relu else "B"
    stride = exp["net"]["stride"]
    geo = geometry(stride)
    rows = []

    def window(m):
        lo, hi = window_of(m, exp["fit"])
        return f"k = {lo}..{hi}"

    # -- training outcome; control: the same nets at initialisation (history's 'init' rows)
    init = _init_rows(history)
    n_int = int(selection.interpolated.sum())
    init_int = bool(len(init)) and bool((init.train_error == 0).all())
    rows.append(row(sec, "every trained net interpolates its training set", name, "all seeds",
                    f"{n_int}/{len(selection)}", n_int == len(selection), control=INIT_CONTROL,
                    control_measured=f"{int((init.train_error == 0).sum())}/{len(init)}",
                    control_passed=init_int if len(init) else None, n=len(selection), n_min=n_min,
                    criterion="train error 0 for every seed"))
    sel = selection[selection.selected]
    err = float(sel.test_error.mean()) if len(sel) else np.nan
    init_err = float(init.test_error.mean()) if len(init) else np.nan
    rows.append(row(sec, "trained nets generalise perfectly", name, 0.0, err, err == 0.0, control=INIT_CONTROL,
                    control_measured=init_err, control_passed=(init_err == 0.0) if len(init) else None,
                    n=len(sel), n_min=n_min, criterion="mean test error over the selected seeds == 0"))

    fw = windows[windows.experiment == name] if "experiment" in windows else windows
    selected = collected[collected.selected]
    # -- scaling laws against A_k, across the justified windows; control: initialisation
    measures = ["D", "G_rect", "R_rect", "G_plain"] if relu else ["D"]
    for m in measures:
        f, fi = _fit(fits, name, "final", m), _fit(fits, name, "init", m)
        conf = window_of(m, exp["fit"])
        ok, n_just, (lo_e, hi_e) = scaling(fw, "final", m, conf, tol)
        if m == "G_plain":  # G_k is flat at initialisation too: the null is the rectified noise, which must grow
            control = "the same trained nets against rectified noise"
            ok_init, _, (lo_i, hi_i) = scaling(fw, "final", "G_rect", conf, tol, as_measure="G_plain")
            fi = _fit(fits, name, "final", "G_rect")
        else:
            control = INIT_CONTROL
            ok_init, _, (lo_i, hi_i) = scaling(fw, "init", m, conf, tol)
        pred = predicted(stride, m)
        n_hold, _ = holding(fw, "final", m, tol)
        what = {"G_plain": "G_k against zero-mean noise (end of sec. 4.1: constant)"}.get(m, f"{m}_k")
        band = (pred - rel * abs(pred), pred + rel * abs(pred)) if pred else (-tol["flat_tolerance"], tol["flat_tolerance"])
        wide = not (band[0] <= f["ci_low"] and f["ci_high"] <= band[1])
        rows.append(row(sec, f"exponent of {what} against A_k ({geo}), {window(m)} and every justified window",
                        name, pred, f["exponent"], ok, ci=(f["ci_low"], f["ci_high"]), n=f["n_seeds"], n_min=n_min,
                        too_wide=wide,
                        effect=(f["exponent"] - pred) / abs(pred) if pred else f["exponent"],
                        control=control, control_measured=fi["exponent"], control_passed=ok_init,
                        gate="" if n_just else unjustified_reason(fw, "final", m),
                        criterion=f"mean exponent within {rel:.0%} of the prediction (|.| <= {tol['flat_tolerance']} "
                                  f"if 0), with its t-interval inside that band (else: not enough data), "
                                  f"on {window(m)} and on all {n_just} justified windows (holds on {n_hold}; range {lo_e:.3g} to "
                                  f"{hi_e:.3g}; control {lo_i:.3g} to {hi_i:.3g}); per seed: {f['per_seed']}; filter "
                                  f"homogeneity {f['homogeneity']:.3f}"))
    if relu:
        for m in ("D", "G_rect"):
            f, ff = _fit(fits, name, "init", m), _fit(fits, name, "final", m)
            rows.append(row("4.1", f"{m}_k flat in k at initialisation, {window(m)}", name, 0.0, f["exponent"],
                            flat(f["ci_low"], f["ci_high"], tol["flat_tolerance"]), ci=(f["ci_low"], f["ci_high"]),
                            n=f["n_seeds"], n_min=n_min, effect=f["exponent"],
                            control="the same nets after training", control_measured=ff["exponent"],
                            control_passed=flat(ff["ci_low"], ff["ci_high"], tol["flat_tolerance"]),
                            criterion=f"t-interval of the exponent inside +-{tol['flat_tolerance']}; per seed: "
                                      f"{f['per_seed']}"))

    # -- the exact homogeneous-filter network of this size on the same probe set
    for m in ("D", "G_rect" if relu else "G_plain"):
        lo, hi = window_of(m, exp["fit"])
        ex = fw[(fw.state == "final") & (fw.measure == m) & (fw.k_min == lo) & (fw.k_max == hi)]
        exact = float(ex.exact.iloc[0]) if len(ex) else np.nan
        f, fi = _fit(fits, name, "final", m), _fit(fits, name, "init", m)
        inside = lambda g: bool(np.isfinite(exact) and g["ci_low"] <= exact <= g["ci_high"])
        half = rel * abs(exact) if np.isfinite(exact) else np.nan
        wide = not (exact - half <= f["ci_low"] and f["ci_high"] <= exact + half)
        rows.append(row(sec, f"exponent of {m}_k equals the exact homogeneous-filter network's, {window(m)}", name,
                        exact, f["exponent"], inside(f), ci=(f["ci_low"], f["ci_high"]), n=f["n_seeds"], n_min=n_min,
                        too_wide=wide,
                        effect=f["exponent"] - exact, control=INIT_CONTROL, control_measured=fi["exponent"],
                        control_passed=inside(fi),
                        criterion=f"t-interval contains the exact network's exponent and lies within {rel:.0%} of it "
                                  f"(else: not enough data); per seed: {f['per_seed']}"))
        gap, worst, n, n_all = per_layer_gap(selected[selected.state == "final"], theory, m, (lo, hi))
        gap_i, _, _, _ = per_layer_gap(selected[selected.state == "init"], theory, m, (lo, hi))
        rows.append(row(sec, f"{m}_k follows the exact homogeneous-filter network layer by layer, {window(m)}", name,
                        f"ratio within x{1 + ltol:g}", float(np.exp(gap)) if np.isfinite(gap) else np.nan,
                        np.isfinite(gap) and gap <= np.log1p(ltol), n=n, n_min=n_min,
                        effect=gap, control=INIT_CONTROL,
                        control_measured=float(np.exp(gap_i)) if np.isfinite(gap_i) else np.nan,
                        control_passed=bool(np.isfinite(gap_i) and gap_i <= np.log1p(ltol)),
                        criterion=f"largest factor between the seed-mean {m}_k (geometric) and the exact network's "
                                  f"over the window (worst k = {worst}); {n} of {n_all} seeds defined"))

    # -- mean channel: (a) channel mean of the representation, (b) the mean-filter net (ReLU; tanh: app. B rows)
    for state, init_state, what in MEAN_CHANNEL if relu else ():
        for m in ("D", "G_rect"):
            lo, hi = window_of(m, exp["fit"])
            gap, worst, n, n_all = mean_channel_gap(selected, state, "final", m, (lo, hi))
            has_control = (selected.state == init_state).any()
            gap_i, _, n_i, _ = (mean_channel_gap(selected, init_state, "init", m, (lo, hi)) if has_control
                                else (np.nan, None, 0, 0))
            ok = lambda g: bool(np.isfinite(g) and g <= np.log1p(ltol))
            rows.append(row(sec, f"{what} matches the trained net ({m}_k), {window(m)}", name,
                            f"ratio within x{1 + ltol:g}", _factor(gap), ok(gap), n=n, n_min=n_min, effect=gap,
                            control="the same operation on the nets at initialisation", control_measured=_factor(gap_i),
                            control_passed=None if n_i == 0 else ok(gap_i),
                            criterion=f"largest factor between the seed-mean {m}_k of the ablation and of the trained "
                                      f"net (worst k = {worst}); defined for {n} of {n_all} seeds (undefined: the "
                                      f"ablated representation is the same for every probe input)"
                                      + ("; the control is undefined for every seed (the operation on the init nets is "
                                         "dead in this window), so the claim cannot be reproduced" if n_i == 0 else "")))

    # -- filters and receptive fields; control: initialisation
    ff, fi = _fit(fits, name, "final", "D"), _fit(fits, name, "init", "D")
    h_init, h_final = fi["homogeneity"], ff["homogeneity"]
    rows.append(row("C (tables C2, C3)" if relu else "B (fig. B1)", f"mean filters homogeneous after training, {window('D')}",
                    name, f">= {hthr}", h_final, np.isfinite(h_final) and h_final >= hthr, n=ff["n_seeds"],
                    n_min=n_min, control=INIT_CONTROL, control_measured=h_init,
                    control_passed=bool(np.isfinite(h_init) and h_init >= hthr),
                    criterion=f"constant-mode share of the mean filter >= {hthr}, mean over the layers and seeds"))
    low = constant_mode_power(spectra, exp["fit"])
    n_modes = spectra["mode"].nunique()
    rows.append(row(f"{sec} (figs. 4 bottom, B1)", f"filters gain a dominant constant mode with training, {window('D')}", name,
                    "> 0.5", float(low.get("final", np.nan)), low.get("final", 0) > 0.5, n=ff["n_seeds"], n_min=n_min,
                    control=INIT_CONTROL, control_measured=float(low.get("init", np.nan)),
                    control_passed=bool(low.get("init", 0) > 0.5),
                    criterion=f"mean B.1 power of the constant mode (of {n_modes}; i.i.d. filters: 1/{n_modes}) > 0.5"))
    if relu:
        lo, hi = window_of("D", exp["fit"])
        ref = theory[["k", "A_theory"]].rename(columns={"A_theory": "A_measured"})
        gap, worst, n, n_all = per_layer_gap(selected[selected.state == "final"], ref, "A_measured", (lo, hi))
        gap_i, _, _, _ = per_layer_gap(selected[selected.state == "init"], ref, "A_measured", (lo, hi))
        rows.append(row("4.1-4.2", f"measured A_k equals the spatial-pooling network's A_k ({geo}), {window('D')}", name,
                        f"ratio within x{1 + ltol:g}", float(np.exp(gap)) if np.isfinite(gap) else np.nan,
                        np.isfinite(gap) and gap <= np.log1p(ltol), n=n, n_min=n_min, effect=gap,
                        control=INIT_CONTROL, control_measured=float(np.exp(gap_i)) if np.isfinite(gap_i) else np.nan,
                        control_passed=bool(np.isfinite(gap_i) and gap_i <= np.log1p(ltol)),
                        criterion=f"largest factor between the seed-mean measured A_k and the exact network's "
                                  f"(worst k = {worst}); a slope of log A_measured on log A_theory is not used: it is "
                                  f"1 at initialisation too"))
    return rows


def constant_mode_power(spectra: pd.DataFrame, fit: dict) -> pd.Series:
    """Mean B.1 power of the constant mode over D's layer window, per state (init, final)."""
    lo, hi = window_of("D", fit)
    s = spectra[(spectra["mode"] == 0) & spectra.k.between(lo, hi)]
    return s.groupby("state").power.mean()


def _homogeneous_seeds(spectra: pd.DataFrame, selected: list, fit: dict, threshold: float) -> list:
    """Seeds whose trained filters are homogeneous: mean B.1 power of the constant mode over D's
    window >= threshold. B.1 averages each filter's own squared projections, so it does not depend
    on the channels' signs; the channel-averaged filter does, and for tanh (odd: flipping a channel's
    filter, bias and outgoing weights changes nothing) the signs are random and the mean filter
    cancels even when every filter is constant."""
    lo, hi = window_of("D", fit)
    s = spectra[(spectra["mode"] == 0) & (spectra.state == "final") & spectra.k.between(lo, hi)
                & spectra.seed.isin(selected)]
    power = s.groupby("seed").power.mean()
    return sorted(power[power >= threshold].index)


def _difference(a, b, level=0.95):
    """Welch t-interval of mean(a) - mean(b): (difference, low, high)."""
    from scipy import stats
    a, b = (np.asarray(v, float) for v in (a, b))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return np.nan, np.nan, np.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    d = a.mean() - b.mean()
    if se == 0:
        return float(d), float(d), float(d)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.5 + level / 2, dof) * se
    return float(d), float(d - half), float(d + half)


def relu_vs_tanh_rows(relu: str, tanh: str, per_seed: pd.DataFrame, collected: dict[str, pd.DataFrame],
                      spectra: pd.DataFrame, fit: dict, tol: dict, level: float = 0.95) -> list[dict]:
    """Appendix B, on the tanh nets that learned homogeneous filters (the paper's premise).

    per_seed: both experiments' per-seed exponents (fits/<experiment>_per_seed.csv);
    collected: experiment -> tidy table; spectra: per-seed B.1 spectra with an experiment column.
    A tanh claim about G_k is 'not tested' when fewer than min_seeds tanh nets have a B.1
    constant-mode power >= homogeneity_threshold (_homogeneous_seeds).
    """
    hthr, n_min, ftol = tol["homogeneity_threshold"], tol["min_seeds"], tol["flat_tolerance"]
    selected = sorted(collected[tanh][collected[tanh].selected].seed.unique())
    good = _homogeneous_seeds(spectra[spectra.experiment == tanh], selected, fit, hthr)
    n_tanh = len(selected)
    gate = "" if len(good) >= n_min else (f"only {len(good)} of {n_tanh} tanh nets learned homogeneous filters "
                                          f"(B.1 constant-mode power >= {hthr})")
    where = f"{tanh} vs {relu}"
    pick = lambda e, state, m, seeds=None: per_seed[(per_seed.experiment == e) & (per_seed.state == state)
                                                    & (per_seed.measure == m)
                                                    & (per_seed.seed.isin(seeds) if seeds is not None else True)
                                                    ].exponent.to_numpy(float)
    rows = []
    pr = constant_mode_power(spectra[spectra.experiment == relu], fit)
    pt = constant_mode_power(spectra[spectra.experiment == tanh], fit)
    ok = bool(0.5 < pt.get("final", np.nan) < pr.get("final", np.nan))
    ok_init = bool(0.5 < pt.get("init", np.nan) < pr.get("init", np.nan))
    rows.append(row("B (fig. B1)", "tanh filters are low-frequency, but less than ReLU's", where,
                    f"0.5 < tanh < relu ({pr.get('final', np.nan):.3f})", float(pt.get("final", np.nan)), ok,
                    n=n_tanh, n_min=n_min, control=INIT_CONTROL, control_measured=float(pt.get("init", np.nan)),
                    control_passed=ok_init, criterion="mean B.1 power of the constant mode"))
    # G_k of tanh is flat against zero-mean noise (app. B); control: ReLU against rectified noise
    t_mean, t_lo, t_hi, _, n = t_interval(pick(tanh, "final", "G_plain", good), level)
    r_mean, r_lo, r_hi, _, _ = t_interval(pick(relu, "final", "G_rect"), level)
    rows.append(row("B (fig. B2)", "G_k of tanh (zero-mean noise) is flat", tanh, 0.0, t_mean, flat(t_lo, t_hi, ftol),
                    ci=(t_lo, t_hi), n=n, n_min=n_min, effect=t_mean, gate=gate,
                    control="trained ReLU nets against rectified noise (which must grow)", control_measured=r_mean,
                    control_passed=flat(r_lo, r_hi, ftol),
                    criterion=f"t-interval inside +-{ftol}, over the {len(good)} tanh nets with homogeneous filters"))
    # The mean channel departs from the tanh net (filters not fully homogeneous); control: ReLU nets
    ltol = tol["layer_tolerance"]
    for state, _, what in MEAN_CHANNEL:
        tc, rc = collected[tanh][collected[tanh].selected], collected[relu][collected[relu].selected]
        lo_k, hi_k = window_of("D", fit)
        gap, worst, n, n_all = mean_channel_gap(tc, state, "final", "D", (lo_k, hi_k))
        gap_r, _, n_r, _ = mean_channel_gap(rc, state, "final", "D", (lo_k, hi_k))
        beyond = lambda g: bool(np.isfinite(g) and g > np.log1p(ltol))
        rows.append(row("B (fig. B2)", f"{what} departs from the trained tanh net (D_k), k = {lo_k}..{hi_k}", tanh,
                        f"ratio beyond x{1 + ltol:g}", _factor(gap), beyond(gap), n=n, n_min=n_min, effect=gap,
                        control="the same operation on the trained ReLU nets (where it matches)",
                        control_measured=_factor(gap_r), control_passed=None if n_r == 0 else beyond(gap_r),
                        criterion=f"largest factor between the seed-mean D_k of the ablation and of the trained net "
                                  f"(worst k = {worst}); defined for {n} of {n_all} tanh seeds"))
    for m, sign, text in (("G_plain", -1, "G_k grows more slowly than ReLU's"), ("G_rect", -1, "G_k grows more slowly than ReLU's"),
                          ("R_plain", +1, "R_k decreases less than ReLU's"), ("R_rect", +1, "R_k decreases less than ReLU's")):
        d, lo, hi = _difference(pick(tanh, "final", m, good), pick(relu, "final", m), level)
        di, lo_i, hi_i = _difference(pick(tanh, "init", m), pick(relu, "init", m), level)
        passes = lambda lo_, hi_: bool(np.isfinite(lo_) and (hi_ < 0 if sign < 0 else lo_ > 0))
        rows.append(row("B (fig. B2)", f"tanh {text} ({m})", where, "< 0" if sign < 0 else "> 0", d, passes(lo, hi),
                        ci=(lo, hi), n=len(good), n_min=n_min, effect=d, gate=gate,
                        control="the same comparison at initialisation", control_measured=di,
                        control_passed=passes(lo_i, hi_i),
                        criterion="Welch t-interval of (tanh exponent - ReLU exponent) entirely on the claimed side"))
    return rows


def appendix_a_rows(table: pd.DataFrame) -> list[dict]:
    """Appendix A's closed forms against the exact moments of M^k delta (exact arithmetic up to
    float64). The control of a coefficient row is the same comparison against another filter
    size's walk, which must fail; the control of the central-limit row is the Gaussian with the
    paper's coefficients, whose relative error does not decay where they are wrong."""
    rows = []
    last = table.sort_values("k").groupby("F").tail(1).set_index("F")
    sizes = sorted(last.index)
    for F in sizes:
        r = last.loc[F]
        other = sizes[sizes.index(F) + 1] if F != sizes[-1] else sizes[sizes.index(F) - 1] if len(sizes) > 1 else F
        for coef in ("drift", "diffusion"):
            same = lambda a, b: bool(np.isclose(a, b, rtol=1e-9, atol=1e-12))
            rows.append(row("A", f"{coef} coefficient of M^k delta, F = {int(F)} ({r.parity})", "appendix_a",
                            r[f"paper_{coef}"], r[f"measured_{coef}"], same(r[f"paper_{coef}"], r[f"measured_{coef}"]),
                            control=f"the paper's value against the walk of F = {int(other)}",
                            control_measured=last.loc[other, f"measured_{coef}"],
                            control_passed=same(r[f"paper_{coef}"], last.loc[other, f"measured_{coef}"]) if other != F else None,
                            criterion=f"paper's closed form equals the exact moment (exact: {r[f'exact_{coef}']:.6g})"))
    for F, g in table.groupby("F"):
        g = g.sort_values("k")
        peak = 1 / (2 * np.sqrt(np.pi * g.exact_diffusion * g.k))  # the Gaussian's height, to make errors relative
        decay = lambda err: float(np.polyfit(np.log(g.k.tail(3)), np.log((err / peak).tail(3)), 1)[0])
        s, s_paper = decay(g.clt_max_err), decay(g.paper_max_err)
        rows.append(row("A", f"M^k delta tends to a Gaussian (central limit), F = {int(F)}", "appendix_a",
                        "relative error -> 0 like k^-1/2 or faster", s, s <= -0.4,
                        control="the Gaussian with the paper's coefficients", control_measured=s_paper,
                        control_passed=s_paper <= -0.4,
                        criterion="slope of log(max error / peak) against log k over the three largest k <= -0.4"))
    return rows
