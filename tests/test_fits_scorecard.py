import numpy as np
import pandas as pd
import pytest

from spatialpool.fits import bootstrap_mean, exponents, loglog_slope, summarise, window_of
from spatialpool.scorecard import experiment_rows, within

FIT = {"D": [1, 4], "G": [2, 5]}


def _power_law_table(d_exp, g_exp, seeds=(0, 1, 2), depth=6, noise=0.0):
    rng = np.random.default_rng(0)
    rows = []
    for s in seeds:
        for k in range(1, depth + 1):
            a = 2.0 ** k
            jitter = np.exp(noise * rng.standard_normal(2))
            d, g = a ** d_exp * jitter[0], 3 * a ** g_exp * jitter[1]
            rows.append(dict(seed=s, state="final", k=k, A_theory=a, D=d, G_rect=g, G_plain=g,
                             R_rect=d / g, R_plain=d / g))
    return pd.DataFrame(rows)


def test_slope_of_exact_power_law():
    x = np.array([1.0, 2, 4, 8])
    assert loglog_slope(x, 5 * x ** -1.7) == pytest.approx(-1.7)
    assert np.isnan(loglog_slope(x, [1, 0, 1, 1]))  # a zero sensitivity has no logarithm


def test_windows_per_measure():
    assert window_of("D", FIT) == (1, 4) and window_of("R_rect", FIT) == (1, 4)
    assert window_of("G_plain", FIT) == (2, 5)


def test_exponents_recover_power_laws_in_their_windows():
    table = _power_law_table(-1.0, 1.0)
    table.loc[table.k >= 5, "D"] = 0.0  # outside D's window: must not matter
    per_seed = exponents(table, FIT)
    got = per_seed.groupby("measure").exponent.mean()
    assert got["D"] == pytest.approx(-1.0) and got["G_rect"] == pytest.approx(1.0)
    assert got["R_rect"] == pytest.approx(-2.0)
    assert set(per_seed[per_seed.measure == "G_rect"].k_max) == {5}


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    v = np.array([-1.9, -2.1, -2.0, -1.7])
    m, lo, hi = bootstrap_mean(v, seed=0, n_resamples=500)
    assert lo <= m <= hi and m == pytest.approx(v.mean())
    assert bootstrap_mean(v, seed=0, n_resamples=500) == (m, lo, hi)


def test_summary_of_no_selected_seed_is_empty_not_an_error():
    per_seed = exponents(_power_law_table(-1, 1).iloc[:0], FIT)
    assert summarise(per_seed, 0, 100, 0.95).empty


def test_within_relative_tolerance():
    assert within(-1.6, -2.0, 0.25) and not within(-1.4, -2.0, 0.25) and not within(np.nan, -2.0, 0.25)


def _scorecard(d_exp, g_exp, homog_final=0.99):
    exp = {"activation": "relu", "net": {"stride": 2}, "fit": FIT}
    per_seed = exponents(_power_law_table(d_exp, g_exp), FIT)
    rows = []
    for state in ("final", "mean_channel", "init"):
        s = summarise(per_seed.assign(state=state), 0, 200, 0.95)
        s["homogeneity"] = homog_final if state != "init" else 0.4
        rows.append(s)
    fits = pd.concat(rows).assign(experiment="e")
    selection = pd.DataFrame(dict(seed=[0, 1, 2], interpolated=True, selected=True, test_error=0.0))
    collected = _power_law_table(d_exp, g_exp).assign(selected=True, A_measured=lambda t: t.A_theory)
    spectra = pd.DataFrame([dict(k=k, stage=st, mode=m, power=p) for k in range(1, 7)
                            for st, pw in (("init", [0.5, 0.5]), ("final", [0.97, 0.03]))
                            for m, p in enumerate(pw)])
    tol = {"rel_tolerance": 0.25, "flat_tolerance": 0.3, "homogeneity_threshold": 0.9}
    theory = _power_law_table(-1.0, 1.0, seeds=(0,))
    return pd.DataFrame(experiment_rows("e", exp, fits, collected, selection, spectra, theory, tol))


def test_scorecard_passes_the_predicted_exponents_and_fails_others():
    good = _scorecard(-1.0, 1.0)
    row = lambda card, text: card[card.claim.str.contains(text, regex=False)].iloc[0]
    assert row(good, "exponent of D against").passed and row(good, "exponent of G_rect against").passed
    assert row(good, "exponent of D against").measured == pytest.approx(-1.0)
    assert row(good, "measured A_k grows").passed and row(good, "mean filters homogeneous").passed
    assert row(good, "generalise perfectly").passed
    assert row(good, "exponent of D equals the homogeneous").paper == pytest.approx(-1.0)
    bad = _scorecard(-0.5, 0.2, homog_final=0.5)
    assert not row(bad, "exponent of D against").passed and not row(bad, "exponent of G_rect against").passed
    assert not row(bad, "mean filters homogeneous").passed
