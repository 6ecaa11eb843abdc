"""Fits (t-intervals, window scan) and the 1D scorecard: every criterion on data where the claim
holds, on its control, and on data where it must fail."""
import numpy as np
import pandas as pd
import pytest

from spatialpool.claims.statistics import verdict
from spatialpool.analysis.fits import exponents, loglog_slope, summarise, t_interval, window_of, window_table
from spatialpool.claims.predictions import agrees
from spatialpool.claims.scale_detection import appendix_a_rows, experiment_rows, flat, per_layer_gap

FIT = {"D": [1, 4], "G": [2, 5]}
TOL = {"rel_tolerance": 0.25, "flat_tolerance": 0.3, "homogeneity_threshold": 0.9, "layer_tolerance": 0.25,
       "min_seeds": 3}
MEASURES = ("D", "G_rect", "G_plain", "R_rect", "R_plain")


def _curves(d_exp, g_exp, a, scale=1.0, jitter=None):
    d, g = scale * a ** d_exp, 3 * a ** g_exp
    if jitter is not None:
        d, g = d * jitter[0], g * jitter[1]
    return dict(D=d, G_rect=g, G_plain=0.5 + 0 * a, R_rect=d / g, R_plain=d / 0.5)


def _table(d_exp, g_exp, seeds=(0, 1, 2, 3), depth=6, noise=0.0, state="final", seed_rng=0):
    rng = np.random.default_rng(seed_rng)
    rows = []
    for s in seeds:
        for k in range(1, depth + 1):
            a = 2.0 ** k
            rows.append(dict(seed=s, state=state, k=k, A_theory=a,
                             **_curves(d_exp, g_exp, a, jitter=np.exp(noise * rng.standard_normal(2)))))
    return pd.DataFrame(rows)


def test_slope_of_exact_power_law():
    x = np.array([1.0, 2, 4, 8])
    assert loglog_slope(x, 5 * x ** -1.7) == pytest.approx(-1.7)
    assert np.isnan(loglog_slope(x, [1, 0, 1, 1]))  # a zero sensitivity has no logarithm


def test_windows_per_measure():
    assert window_of("D", FIT) == (1, 4) and window_of("R_rect", FIT) == (1, 4)
    assert window_of("G_plain", FIT) == (2, 5)


def test_exponents_recover_power_laws_in_their_windows():
    table = _table(-1.0, 1.0)
    table.loc[table.k >= 5, "D"] = 0.0  # outside D's window: must not matter
    per_seed = exponents(table, FIT)
    got = per_seed.groupby("measure").exponent.mean()
    assert got["D"] == pytest.approx(-1.0) and got["G_rect"] == pytest.approx(1.0)
    assert got["R_rect"] == pytest.approx(-2.0)
    assert set(per_seed[per_seed.measure == "G_rect"].k_max) == {5}


def test_t_interval_of_four_seeds_is_the_students_t_interval():
    # the referee's case: a percentile bootstrap gave [0.48, 1.05] for these four seeds
    mean, lo, hi, sd, n = t_interval([1.03, 1.07, 0.95, 0.29])
    assert n == 4 and mean == pytest.approx(0.835)
    assert (lo, hi) == pytest.approx((0.26, 1.41), abs=0.01)
    assert np.isnan(t_interval([1.0])[1]) and t_interval([np.nan, 2.0, 2.0])[1:3] == (2.0, 2.0)


def test_summary_counts_undefined_seeds_and_prints_the_values():
    table = _table(-1.0, 1.0)
    table.loc[(table.seed == 2) & (table.k == 3), "D"] = np.nan  # a dead layer in one seed
    s = summarise(exponents(table, FIT), 0.95).set_index(["state", "measure"])
    assert s.loc[("final", "D"), "n_seeds"] == 3 and s.loc[("final", "D"), "n_undefined"] == 1
    assert s.loc[("final", "D"), "per_seed"].count("nan") == 1


def test_summary_of_no_selected_seed_is_empty_not_an_error():
    assert summarise(exponents(_table(-1, 1).iloc[:0], FIT), 0.95).empty


def test_agreement_with_a_prediction_and_flat_is_an_equivalence_test():
    assert agrees(-1.6, -2.0, 0.25, 0.3) and not agrees(-1.4, -2.0, 0.25, 0.3) and not agrees(np.nan, -2.0, 0.25, 0.3)
    assert agrees(0.2, 0.0, 0.25, 0.3) and not agrees(0.35, 0.0, 0.25, 0.3)  # a predicted 0: absolute tolerance
    assert flat(-0.1, 0.2, 0.3)
    assert not flat(-0.32, -0.16, 0.3)  # the tanh exponent -0.24 of the referee: its interval leaves +-0.3
    assert not flat(np.nan, 0.1, 0.3)


def test_window_table_marks_windows_where_the_exact_network_follows_the_law():
    exact = _table(-1.0, 1.0, seeds=(0,)).drop(columns=["seed", "state"])
    exact.loc[exact.k == 1, "D"] *= 4  # layer 1 off the asymptote: windows starting there are not justified
    w = window_table(_table(-1.0, 1.0), exact, stride=2, min_layers=3, level=0.95, rel_tolerance=0.1,
                     flat_tolerance=0.3)
    d = w[(w.measure == "D") & (w.state == "final")].set_index(["k_min", "k_max"])
    assert not d.loc[(1, 3), "justified"] and d.loc[(2, 6), "justified"]
    assert d.loc[(2, 6), "exact"] == pytest.approx(-1.0) and d.loc[(2, 6), "exponent"] == pytest.approx(-1.0)
    assert (w.k_max - w.k_min + 1).min() == 3
    # layers outside the premise (e.g. non-homogeneous trained filters) exclude every window holding them
    w = window_table(_table(-1.0, 1.0), exact, 2, 3, 0.95, 0.1, 0.3, premise=[1, 2, 3, 4, 5])
    d = w[(w.measure == "D") & (w.state == "final")].set_index(["k_min", "k_max"])
    assert d.loc[(2, 5), "justified"] and not d.loc[(2, 6), "justified"] and not d.loc[(2, 6), "premise"]


def _inputs(final=(-1.0, 1.0), init=(0.0, 0.0), homog=(0.99, 0.35), dead_mean_channel_seeds=(3,)):
    """Synthetic tables of one stride-F ReLU experiment (prediction D -1, G_rect +1)."""
    fin, ini = _table(*final, noise=0.02), _table(*init, noise=0.02, state="init", seed_rng=1)
    cm = fin.assign(state="channel_mean")
    cm[["D", "R_rect", "R_plain"]] *= 1.05
    icm = ini.assign(state="init_channel_mean")
    icm[["D", "G_rect"]] *= icm.A_theory.to_numpy()[:, None] ** -1.0  # at init the channel mean differs
    mc = fin.assign(state="mean_channel")
    mc.loc[mc.seed.isin(dead_mean_channel_seeds), list(MEASURES)] = np.nan
    sens = pd.concat([fin, ini, cm, icm, mc], ignore_index=True)
    sens["A_measured"] = np.where(sens.state == "init", sens.A_theory * 3, sens.A_theory)
    sens["homogeneity"] = np.where(sens.state.str.startswith("init"), homog[1], homog[0])
    sens["selected"] = True
    per_seed = exponents(sens, FIT)
    fits = summarise(per_seed, 0.95).assign(experiment="e")
    fits["homogeneity"] = [homog[1] if s.startswith("init") else homog[0] for s in fits.state]
    theory = _table(-1.0, 1.0, seeds=(0,)).drop(columns=["seed", "state"])
    windows = window_table(sens, theory, 2, 3, 0.95, 0.25, 0.3).assign(experiment="e")
    selection = pd.DataFrame(dict(seed=[0, 1, 2, 3], interpolated=True, selected=True, test_error=0.0))
    history = pd.DataFrame(dict(seed=[0, 1, 2, 3], event="init", train_error=0.4, test_error=0.5))
    spectra = pd.DataFrame([dict(k=k, state=st, mode=m, power=p) for k in range(1, 7)
                            for st, pw in (("init", [0.5, 0.5]), ("final", [0.97, 0.03])) for m, p in enumerate(pw)])
    exp = {"activation": "relu", "net": {"stride": 2}, "fit": FIT}
    return dict(name="e", exp=exp, fits=fits, windows=windows, collected=sens, selection=selection,
                history=history, spectra=spectra, theory=theory, tol=TOL)


def _card(**kw):
    return pd.DataFrame(experiment_rows(**_inputs(**kw)))


def _rejected(r) -> bool:
    return r.control_passed is not None and not r.control_passed


def _row(card, text):
    hit = card[card.claim.str.contains(text, regex=False)]
    assert len(hit) >= 1, text
    return hit.iloc[0]


def test_claims_hold_on_data_and_are_rejected_on_their_controls():
    card = _card()
    for text in ("exponent of D_k against", "exponent of G_rect_k against", "exponent of R_rect_k against",
                 "G_k against zero-mean noise", "D_k flat in k at initialisation", "G_rect_k flat",
                 "exponent of D_k equals the exact", "D_k follows the exact", "G_rect_k follows the exact",
                 "channel mean of the trained representation matches the trained net (D_k)",
                 "mean filters homogeneous", "dominant constant mode", "measured A_k equals",
                 "every trained net interpolates", "generalise perfectly"):
        r = _row(card, text)
        assert r.passed_data and _rejected(r) and r.verdict == "reproduced", (text, r.to_dict())
    assert (card.control_passed != True).all()  # noqa: E712  every control is rejected or not evaluable


def test_claims_fail_where_the_data_do_not_show_them():
    card = _card(final=(-0.5, 0.2), homog=(0.5, 0.35))
    for text in ("exponent of D_k against", "exponent of G_rect_k against", "mean filters homogeneous",
                 "exponent of D_k equals the exact", "D_k follows the exact"):
        assert _row(card, text).verdict == "not reproduced", text


def test_a_criterion_that_also_passes_its_control_is_uninformative():
    card = _card(init=(-1.0, 1.0), homog=(0.99, 0.99))  # 'initialisation' already shows the effect
    for text in ("exponent of D_k against", "mean filters homogeneous", "D_k follows the exact"):
        assert _row(card, text).verdict == "uninformative", text


def test_dead_ablations_are_counted_not_dropped():
    card = _card(dead_mean_channel_seeds=(1, 2, 3))
    r = _row(card, "every filter replaced by the layer's mean filter matches the trained net (D_k)")
    assert r.n == 1 and r.verdict == "not enough data" and "1 of 4 seeds" in r.criterion
    r = _row(_card(dead_mean_channel_seeds=(3,)), "every filter replaced by the layer's mean filter matches")
    assert r.n == 3 and "3 of 4 seeds" in r.criterion


def test_per_layer_gap_ignores_seeds_undefined_anywhere_in_the_window():
    ours = pd.DataFrame(dict(seed=[0, 0, 1, 1], k=[1, 2, 1, 2], D=[2.0, 2.0, np.nan, 5.0]))
    ref = pd.DataFrame(dict(k=[1, 2], D=[1.0, 1.0]))
    gap, worst, n, n_all = per_layer_gap(ours, ref, "D", (1, 2))
    assert gap == pytest.approx(np.log(2)) and (n, n_all) == (1, 2)


def test_verdict_rules():
    assert verdict(True, False, n=4, n_min=3) == "reproduced"
    assert verdict(True, True, n=4, n_min=3) == "uninformative"
    assert verdict(True, None, n=4, n_min=3) == "uninformative"
    assert verdict(False, False, n=4, n_min=3) == "not reproduced"
    assert verdict(True, False, n=2, n_min=3) == "not enough data"
    assert verdict(True, False, n=4, n_min=3, gate="no homogeneous filters") == "not tested"
    # task 2's G exponent: mean 0.84 is within 25% of +1, but the interval [0.26, 1.42] is not
    assert verdict(True, False, n=4, n_min=3, too_wide=True) == "not enough data"
    assert verdict(False, False, n=4, n_min=3, too_wide=True) == "not reproduced"


def test_a_passing_mean_with_an_interval_beyond_the_tolerance_is_not_enough_data():
    kw = _inputs()
    fits = kw["fits"]
    wide = (fits.state == "final") & (fits.measure == "G_rect")
    fits.loc[wide, ["ci_low", "ci_high"]] = [0.26, 1.42]
    card = pd.DataFrame(experiment_rows(**kw))
    assert _row(card, "exponent of G_rect_k against").verdict == "not enough data"
    assert _row(card, "exponent of D_k against").verdict == "reproduced"


def test_appendix_a_rows_refute_the_paper_and_their_controls_fail():
    from spatialpool.analysis.diffusion import appendix_a_table
    card = pd.DataFrame(appendix_a_rows(appendix_a_table((2, 3, 4), (1, 2, 4, 8, 16, 32, 64), 512)))
    diff3 = _row(card, "diffusion coefficient of M^k delta, F = 3")
    assert diff3.measured == pytest.approx(1 / 3) and diff3.verdict == "not reproduced"
    drift3 = _row(card, "drift coefficient of M^k delta, F = 3")
    assert drift3.verdict == "reproduced" and _rejected(drift3)  # 0 = 0, but not for F = 4
    for F in (2, 3, 4):
        clt = _row(card, f"central limit), F = {F}")
        assert clt.verdict == "reproduced" and _rejected(clt)


def _appendix_b(tanh_homogeneity: float, tanh_g_plain=(0.02, -0.05, 0.04, 0.0)):
    from spatialpool.claims.scale_detection import relu_vs_tanh_rows
    rows = []
    for exp, state, values in (("relu", "final", {"G_plain": [0.3, 0.35, 0.28, 0.33], "G_rect": [0.9, 0.95, 0.85, 1.0],
                                                  "R_plain": [-2.3, -2.4, -2.2, -2.35], "R_rect": [-2.9, -3.0, -2.8, -3.1]}),
                               ("tanh", "final", {"G_plain": list(tanh_g_plain), "G_rect": [0.4, 0.45, 0.38, 0.42],
                                                  "R_plain": [-1.9, -2.0, -1.95, -2.05], "R_rect": [-2.4, -2.5, -2.45, -2.4]}),
                               ("relu", "init", {m: [0.01, -0.02, 0.03, 0.0] for m in MEASURES}),
                               ("tanh", "init", {m: [0.02, -0.01, 0.0, 0.01] for m in MEASURES})):
        for m, v in values.items():
            rows += [dict(experiment=exp, state=state, measure=m, seed=s, exponent=x) for s, x in enumerate(v)]
    per_seed = pd.DataFrame(rows)
    collected = {}
    for exp, h in (("relu", 0.99), ("tanh", tanh_homogeneity)):
        fin = _table(-2.0, 1.0).assign(homogeneity=h, selected=True)
        collected[exp] = pd.concat([fin, fin.assign(state="channel_mean"),
                                    fin.assign(state="mean_channel", D=fin.D * (3.0 if exp == "tanh" else 1.02))])
    spectra = pd.DataFrame([dict(experiment=e, seed=s, k=k, state=st, mode=m, power=p)
                            for e, top in (("relu", 0.97), ("tanh", tanh_homogeneity)) for s in range(4)
                            for k in range(1, 7) for st, pw in (("init", [1 / 3] * 3), ("final", [top, (1 - top) / 2, (1 - top) / 2]))
                            for m, p in enumerate(pw)])
    return pd.DataFrame(relu_vs_tanh_rows("relu", "tanh", per_seed, collected, spectra, FIT, TOL))


def test_appendix_b_claims_and_their_controls():
    card = _appendix_b(tanh_homogeneity=0.95)
    flat_g = _row(card, "G_k of tanh (zero-mean noise) is flat")
    assert flat_g.verdict == "reproduced" and _rejected(flat_g)  # ReLU's rectified G_k is not flat
    for text in ("grows more slowly than ReLU's (G_plain)", "grows more slowly than ReLU's (G_rect)",
                 "decreases less than ReLU's (R_rect)", "tanh filters are low-frequency",
                 "every filter replaced by the layer's mean filter departs from the trained tanh net"):
        r = _row(card, text)
        assert r.verdict == "reproduced" and _rejected(r), (text, r.to_dict())
    # the channel mean of the representation matches the tanh net here: the claim that it departs fails
    assert _row(card, "channel mean of the trained representation departs").verdict == "not reproduced"
    # a tanh G exponent of -0.24 whose interval leaves +-0.3 is not flat
    assert _row(_appendix_b(0.95, (-0.2, -0.3, -0.22, -0.25)), "is flat").verdict == "not reproduced"


def test_appendix_b_g_claims_are_not_tested_without_homogeneous_tanh_filters():
    card = _appendix_b(tanh_homogeneity=0.4)
    for text in ("is flat", "grows more slowly", "decreases less"):
        r = _row(card, text)
        assert r.verdict == "not tested" and "0 of 4 tanh nets" in r.gate, text


def test_no_selected_seed_gives_verdicts_not_errors(tmp_path):
    """A run where no net interpolates (e.g. a tiny smoke test): every row is judged, none passes."""
    kw = _inputs()
    kw["collected"] = kw["collected"].assign(selected=False)
    kw["selection"] = kw["selection"].assign(selected=False, interpolated=False)
    kw["fits"] = summarise(exponents(kw["collected"].iloc[:0], FIT), 0.95).assign(experiment="e", homogeneity=np.nan)
    w = window_table(kw["collected"].iloc[:0], kw["theory"], 2, 3, 0.95, 0.25, 0.3, premise=[]).assign(experiment="e")
    w.to_csv(tmp_path / "w.csv", index=False)  # as the scorecard reads it back: empty columns lose their dtype
    kw["windows"] = pd.read_csv(tmp_path / "w.csv")
    card = pd.DataFrame(experiment_rows(**kw))
    assert len(card) > 10 and not card.passed.any()
    assert set(card.verdict) <= {"not reproduced", "not enough data", "not tested", "uninformative"}
    gates = set(card[card.claim.str.contains("every justified window")].gate)
    assert gates == {"no fit window scanned: no seed was selected (no trained net interpolated)"}


def test_an_untested_scaling_row_names_why_no_window_is_justified():
    """Three causes, each named: no window scanned (above), the premise (homogeneous mean filters)
    failing everywhere, the exact network off the law wherever the premise holds."""
    kw = _inputs()
    w = kw["windows"]
    kw["windows"] = w.assign(premise=False, justified=False)
    gate = _row(pd.DataFrame(experiment_rows(**kw)), "exponent of D_k against").gate
    assert gate == "no window where the trained nets' mean filters are homogeneous (the theory's premise)"
    kw["windows"] = w.assign(justified=False)
    card = pd.DataFrame(experiment_rows(**kw))
    r = _row(card, "exponent of D_k against")
    assert r.gate == "no window where the exact spatial-pooling network follows the law" and r.verdict == "not tested"
    assert _row(_card(), "exponent of D_k against").gate == ""
