import itertools

import numpy as np
import pandas as pd
import pytest

from spatialpool.analysis.correlations import (COLUMNS, bootstrap_rho, correlation_table, learned, log_correlation,
                                      permutation_p)

ARCHS = ["vgg11", "vgg16", "resnet18", "resnet34", "lenet", "alexnet", "effnet"]


def _runs(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for noise in (0.0, 0.1, 1.0):
        eps = rng.uniform(0.05, 0.5, len(ARCHS))
        for a, e in zip(ARCHS, eps):
            for s in range(2):
                rows.append(dict(noise=noise, arch=a, seed=s, error=e, D_f=3 * e ** 1.5,
                                 G_f=0.2 / e ** 0.7, R_f=e * rng.uniform(0.5, 2)))
    return pd.DataFrame(rows)


def test_perfect_power_laws():
    eps = np.array([0.05, 0.1, 0.2, 0.3, 0.45])
    assert log_correlation(eps, 2 * eps ** 1.7) == pytest.approx(1.0, abs=1e-12)
    assert log_correlation(eps, 5 * eps ** -0.4) == pytest.approx(-1.0, abs=1e-12)
    table = correlation_table(_runs())
    exact = table[table.measure != "R_f"]
    np.testing.assert_allclose(exact.rho, np.where(exact.measure == "D_f", 1.0, -1.0), atol=1e-12)
    assert (table.n_arch == len(ARCHS)).all() and len(table) == 9
    assert np.all(np.abs(table[table.measure == "R_f"].rho) < 1)


def test_invariant_to_scaling_either_variable():
    rng = np.random.default_rng(1)
    eps, x = rng.uniform(0.1, 1, 8), rng.uniform(0.1, 10, 8)
    rho = log_correlation(eps, x)
    assert abs(rho) < 1
    for a, b in [(3.0, 1.0), (1.0, 1e-4), (0.2, 50.0)]:
        assert log_correlation(a * eps, b * x) == pytest.approx(rho, abs=1e-12)
    # it is the correlation of the logs: a power of eps (exponent > 0) leaves it unchanged too
    assert log_correlation(eps ** 2.5, x) == pytest.approx(rho, abs=1e-12)
    assert log_correlation(eps, x) == pytest.approx(np.corrcoef(np.log(eps), np.log(x))[0, 1], abs=1e-12)


def test_bootstrap_interval_is_seeded_and_contains_rho():
    rng = np.random.default_rng(2)
    eps = rng.uniform(0.1, 1, 6)
    x = eps * rng.lognormal(0, 0.5, 6)
    a = bootstrap_rho(eps, x, seed=3, n_resamples=500)
    assert a == bootstrap_rho(eps, x, seed=3, n_resamples=500)
    assert a["ci_low"] <= a["rho"] <= a["ci_high"] <= 1
    assert a != bootstrap_rho(eps, x, seed=4, n_resamples=500)


def test_seeds_are_averaged_and_bad_values_dropped():
    runs = _runs()
    runs.loc[0, "G_f"] = np.nan  # one seed of one architecture: its mean is nan, the arch is dropped
    table = correlation_table(runs, n_resamples=200).set_index(["noise", "measure"])
    assert table.loc[(0.0, "G_f"), "n_arch"] == len(ARCHS) - 1
    assert table.loc[(0.0, "D_f"), "n_arch"] == len(ARCHS)


# --------------------------------------------------------------------------- permutation null, learned archs


def test_permutation_p_is_exact_for_few_architectures():
    eps = np.array([0.05, 0.1, 0.2, 0.4])
    p = permutation_p(eps, eps ** 2)  # the only pairing reaching rho = 1 is the observed one
    assert p["exact"] and p["n_perm"] == 24
    assert p["p_greater"] == pytest.approx(1 / 24) and p["p_less"] == pytest.approx(1.0)
    assert permutation_p(np.r_[eps, 0.6], np.r_[eps, 0.6] ** -1)["p_less"] == pytest.approx(1 / 120)
    # the same as a plain loop over all 6! pairings of Pearson's r on the logs
    rng = np.random.default_rng(0)
    e, x = rng.uniform(0.05, 0.5, 6), rng.lognormal(0, 1, 6)
    ours = permutation_p(e, x)
    a, b = np.log(e), np.log(x)
    observed = np.corrcoef(a, b)[0, 1]
    null = np.array([np.corrcoef(a, b[list(perm)])[0, 1] for perm in itertools.permutations(range(6))])
    assert ours["p_greater"] == pytest.approx(np.mean(null >= observed - 1e-12), abs=1e-12)
    assert ours["p_greater"] + ours["p_less"] == pytest.approx(1 + 1 / 720, abs=1e-12)  # no ties but itself
    assert np.isnan(permutation_p(eps[:2], eps[:2])["p_greater"])


def test_monte_carlo_null_is_seeded_and_close_to_exact():
    rng = np.random.default_rng(1)
    e, x = rng.uniform(0.05, 0.5, 9), rng.lognormal(0, 1, 9)
    x = x * e  # some correlation
    exact = permutation_p(e, x, exact_max=9)
    mc = permutation_p(e, x, seed=3, n_permutations=20000, exact_max=8)
    assert exact["exact"] and not mc["exact"] and mc["n_perm"] == 20000
    assert mc == permutation_p(e, x, seed=3, n_permutations=20000, exact_max=8)
    assert mc["p_greater"] == pytest.approx(exact["p_greater"], abs=0.01)


def test_permutation_null_rejects_unrelated_data_at_its_level():
    """With unrelated errors and sensitivities, p < 0.05 happens at most 5% of the time (exact
    test), while the sign alone is right half the time (the three-sign-claim chance of the old
    criterion with 4 architectures was ~17%)."""
    rng = np.random.default_rng(2)
    p = np.array([permutation_p(rng.uniform(0.05, 0.5, 6), rng.lognormal(0, 1, 6))["p_greater"]
                  for _ in range(400)])
    assert np.mean(p < 0.05) <= 0.08 and np.mean(p < 0.5) > 0.35


def test_architectures_that_did_not_learn_are_excluded_and_listed():
    runs = _runs()
    runs.loc[runs.arch == "lenet", "error"] = 0.85  # at chance on 10 classes (0.9): 0.85 > 0.8 x 0.9
    runs.loc[runs.arch == "lenet", ["D_f", "G_f", "R_f"]] = 1e3
    runs["num_classes"] = 10
    table = correlation_table(runs, n_resamples=200, learned_fraction=0.8)
    assert (table.n_arch == len(ARCHS) - 1).all() and (table.n_excluded == 1).all()
    assert (table.n_learned == len(ARCHS) - 1).all() and (table.learned_fraction == 0.8).all()
    assert table.excluded.str.fullmatch(r"lenet \(0\.85\)").all()
    exact = table[table.measure != "R_f"]  # still the exact power laws of the others
    np.testing.assert_allclose(exact.rho, np.where(exact.measure == "D_f", 1.0, -1.0), atol=1e-12)
    assert (table.exact & (table.n_perm == 720)).all()  # 6 architectures: all 6! pairings
    np.testing.assert_allclose(table[table.measure == "D_f"].p_greater, 1 / 720)
    # without the threshold it is kept and pulls rho
    kept = correlation_table(runs, n_resamples=200)
    assert (kept.n_arch == len(ARCHS)).all() and (kept.n_excluded == 0).all()
    assert (kept[kept.measure == "G_f"].rho > -0.99).all()


def test_single_output_classifiers_are_binary():
    # hinge nets record num_classes = 1: chance is 0.5, learned below 0.8 x 0.5 = 0.4
    assert learned([0.02, 0.39, 0.41, 0.44], 1, 0.8).tolist() == [True, True, False, False]
    assert learned([0.44, 0.7, 0.75], 10, 0.8).tolist() == [True, True, False]
    assert learned([0.9, np.nan], 10, None).all()
    runs = _runs().assign(error=lambda t: t.error.clip(upper=0.35).where(t.arch != "effnet", 0.45))
    table = correlation_table(runs, n_resamples=100, learned_fraction=0.8, n_classes=2)
    assert (table.n_excluded == 1).all() and (table.excluded == "effnet (0.45)").all()
    assert list(table.columns) == ["noise", *COLUMNS]


def test_rho_of_each_seed_alone():
    """rho_by_seed: the same rho on one seed's nets, over the architectures rho uses."""
    eps = np.array([0.05, 0.1, 0.2, 0.3, 0.45])
    rows = [dict(noise=0.0, arch=a, seed=s, error=e, D_f=e ** (1.5 if s == 0 else -1.5), G_f=e, R_f=e)
            for a, e in zip(ARCHS, eps) for s in (0, 1)]
    rows.append(dict(noise=0.0, arch="unlearned", seed=0, error=0.99, D_f=0.5, G_f=0.5, R_f=0.5))
    rows.append(dict(noise=0.0, arch="unlearned", seed=1, error=0.99, D_f=0.5, G_f=0.5, R_f=0.5))
    runs = pd.DataFrame(rows)
    table = correlation_table(runs, n_resamples=50, learned_fraction=0.8, n_classes=10,
                              seed_column="seed").set_index("measure")
    d = table.loc["D_f"]
    # seed 0 is an exact power law upwards, seed 1 downwards: +1 and -1, and the excluded
    # architecture (at chance) enters neither
    assert d.rho_by_seed == "0: +1.000; 1: -1.000"
    assert (d.rho_seed_min, d.rho_seed_max) == pytest.approx((-1.0, 1.0), abs=1e-12)
    # identical seeds: each seed's rho is the seed-mean rho
    assert table.loc["G_f"].rho_seed_min == pytest.approx(table.loc["G_f"].rho, abs=1e-12)
    # a seed that one architecture lacks is left out
    partial = correlation_table(runs[~((runs.arch == ARCHS[0]) & (runs.seed == 1))], n_resamples=50,
                                seed_column="seed").set_index("measure")
    assert partial.loc["D_f"].rho_by_seed.startswith("0: ") and "1:" not in partial.loc["D_f"].rho_by_seed
    # without a seed column: empty and nan
    plain = correlation_table(runs, n_resamples=50).set_index("measure")
    assert plain.loc["D_f"].rho_by_seed == "" and np.isnan(plain.loc["D_f"].rho_seed_min)
