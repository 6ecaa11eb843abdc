import numpy as np
import pandas as pd
import pytest

from spatialpool.correlations import bootstrap_rho, correlation_table, log_correlation

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
