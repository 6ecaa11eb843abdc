import numpy as np
import pytest
import torch

from spatialpool.analysis.fits import loglog_slope
from spatialpool.perturbations.probes import make_probe_set
from spatialpool.measurement.receptive_field import theory_receptive_field
from spatialpool.data.scale_detection import Task, make_dataset
from baselines import sensitivities as two_pass
from spatialpool.measurement.estimator import measure_representations
from spatialpool.measurement.sensitivity import EPS, delta_is_undefined, matched_noise

# Every analytic case holds for the workflow's streaming estimator and for the two-pass reference.
ESTIMATORS = pytest.mark.parametrize("sensitivities", [measure_representations, two_pass], ids=["streaming", "two_pass"])
from spatialpool.models.simple_cnn import homogeneous


def _data(n=40, r=3, d=12, seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.standard_normal((n, d))
    pert = clean[:, None] + 0.1 * rng.standard_normal((n, r, d))
    return clean, pert


@ESTIMATORS
def test_identity_matches_direct_computation(sensitivities):
    clean, pert = _data()
    out = sensitivities(lambda x: [x], torch.tensor(clean), {"p": torch.tensor(pert)})
    num = ((pert - clean[:, None]) ** 2).sum(-1).mean()
    pairs = ((clean[:, None] - clean[None]) ** 2).sum(-1).mean()  # all P x P pairs, i = j included
    np.testing.assert_allclose(out["delta"][0], pairs, rtol=1e-12)
    np.testing.assert_allclose(out["p"][0], num / pairs, rtol=1e-12)


@ESTIMATORS
def test_linear_map_and_minibatching(sensitivities):
    clean, pert = _data(n=37)
    a = np.random.default_rng(1).standard_normal((5, 12))
    f = lambda x: [x @ torch.tensor(a).T, 3 * x]
    full = sensitivities(f, torch.tensor(clean), {"p": torch.tensor(pert)}, batch_size=37)
    small = sensitivities(f, torch.tensor(clean), {"p": torch.tensor(pert)}, batch_size=4)
    ya, yp = clean @ a.T, pert @ a.T
    expect = ((yp - ya[:, None]) ** 2).sum(-1).mean() / ((ya[:, None] - ya[None]) ** 2).sum(-1).mean()
    np.testing.assert_allclose(full["p"][0], expect, rtol=1e-12)
    np.testing.assert_allclose(small["p"], full["p"], rtol=1e-10)
    # a rescaled representation has the same sensitivity as the input itself
    ident = sensitivities(lambda x: [x], torch.tensor(clean), {"p": torch.tensor(pert)})
    np.testing.assert_allclose(full["p"][1], ident["p"][0], rtol=1e-12)


@ESTIMATORS
def test_invariant_representation_has_zero_sensitivity(sensitivities):
    clean = np.random.default_rng(0).standard_normal((20, 8))
    shifted = np.stack([np.roll(clean, 1, -1), np.roll(clean, -2, -1)], 1)
    out = sensitivities(lambda x: [x.sum(-1, keepdim=True)], torch.tensor(clean), {"shift": torch.tensor(shifted)})
    assert abs(out["shift"][0]) < 1e-12


@ESTIMATORS
def test_constant_representation_is_undefined_not_infinite(sensitivities):
    clean, pert = _data()
    out = sensitivities(lambda x: [torch.ones(len(x), 3, dtype=x.dtype)], torch.tensor(clean), {"p": torch.tensor(pert)})
    assert np.isnan(out["p"][0])


# Constants that binary floating point cannot hold exactly, so that sums of them round.
INEXACT_CONSTANTS = [0.1, 1 / 3, 1e3 / 7, 1e6 + 0.1]


def _constant_representations(c):
    """Three representations that are the same for every probe image, mathematically."""
    def represent(x):
        ones = torch.ones(len(x), 4, dtype=torch.float64)
        return [c * ones,                                           # one value everywhere
                c * ones * torch.tensor([1.0, -3.0, 0.7, 11.0], dtype=torch.float64),  # per feature
                (c + x) - x]                                        # equal up to round-off of x
    return represent


@pytest.mark.parametrize("c", INEXACT_CONSTANTS)
@ESTIMATORS
def test_constant_representation_is_undefined_in_every_minibatch_split(c, sensitivities):
    """Delta of a constant representation is round-off, not a scale: D and G are NaN, never a number."""
    clean, pert = _data(n=40)
    pert = {"D": torch.tensor(pert), "G": torch.tensor(2 * pert - clean[:, None])}
    for batch_size in (1, 4, 7, 40):
        out = sensitivities(_constant_representations(c), torch.tensor(clean), pert, batch_size=batch_size)
        for name in ("D", "G"):
            assert np.all(np.isnan(out[name])), (c, batch_size, name, out)
        assert np.all(np.isnan(out["D"] / out["G"]))  # and so R


@ESTIMATORS
def test_tiny_genuine_variation_is_a_number(sensitivities):
    """Features varying by 1e-6 relative on an offset of 1 are far above round-off: finite, exact."""
    clean, pert = _data(n=40)
    a = np.random.default_rng(2).standard_normal((12, 5))
    f = lambda x: [1 + 1e-6 * x @ torch.tensor(a)]
    y, yp = 1 + 1e-6 * clean @ a, 1 + 1e-6 * pert @ a
    delta = ((y[:, None] - y[None]) ** 2).sum(-1).mean()
    expect = ((yp - y[:, None]) ** 2).sum(-1).mean() / delta
    for batch_size in (1, 7, 40):
        out = sensitivities(f, torch.tensor(clean), {"p": torch.tensor(pert)}, batch_size=batch_size)
        np.testing.assert_allclose(out["delta"][0], delta, rtol=1e-9)
        np.testing.assert_allclose(out["p"][0], expect, rtol=1e-9)


def test_undefined_rule_is_relative_to_the_feature_scale():
    """The rule compares Delta with count * EPS * mean square: the verdict does not depend on units."""
    n, mean_square = 100, 3.0
    threshold = n * EPS * mean_square
    delta = np.array([0.0, 0.5 * threshold, threshold, 2 * threshold, 1e-6, np.nan])
    expect = [True, True, True, False, False, True]
    for unit in (1e-30, 1.0, 1e30):  # rescaling features by sqrt(unit) rescales both sides
        np.testing.assert_array_equal(delta_is_undefined(delta * unit, mean_square * unit, n), expect)
    # the threshold grows with the accumulation length
    assert delta_is_undefined(2 * threshold, mean_square, 4 * n)
    # an all-zero representation (Delta = mean square = 0) is undefined
    assert delta_is_undefined(0.0, 0.0, n)
    with pytest.raises(ValueError, match="count"):
        delta_is_undefined(1.0, 1.0, 0)


@ESTIMATORS
def test_noise_is_matched_per_image_and_draw(sensitivities):
    clean, pert = _data()
    eta = matched_noise(clean, pert, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(eta, axis=-1), np.linalg.norm(pert - clean[:, None], axis=-1))
    assert abs(eta.mean()) < 0.01


def _homogeneous_exponents(task, depth, fs, stride, k_min, k_max):
    data = make_dataset(task, 48, 0)
    probe = make_probe_set(task, data["test_sites"], 150, 4, seed=0)
    net = homogeneous(depth, fs, stride)
    pert = probe["perturbed"]
    out = measure_representations(net.hidden, probe["x"], pert)  # the workflow's estimator
    a = theory_receptive_field(depth, fs, stride, task.length)
    w = slice(k_min - 1, k_max)
    return {m: loglog_slope(a[w], out[m][w]) for m in ("D", "G_rect", "G_plain")}


def test_homogeneous_stride1_network_follows_task1_power_laws():
    """Sec. 4.1: D_k ~ A_k^-2 and, with rectified noise, G_k ~ A_k; zero-mean noise gives a flatter G_k."""
    e = _homogeneous_exponents(Task("distance", 32, 11, 4), 12, 3, 1, 1, 6)
    assert e["D"] == pytest.approx(-2.0, rel=0.15)
    assert e["G_rect"] == pytest.approx(1.0, rel=0.15)
    assert e["G_plain"] < 0.6 * e["G_rect"]


def test_homogeneous_stride_f_network_follows_task2_power_laws():
    """Sec. 4.2: D_k ~ A_k^-1 while the blocks are much smaller than the patches."""
    e = _homogeneous_exponents(Task("patches", 128, 32), 7, 2, 2, 1, 3)
    assert e["D"] == pytest.approx(-1.0, rel=0.2)
    assert e["G_rect"] > e["G_plain"] > 0


def test_homogeneous_receptive_field():
    np.testing.assert_allclose(theory_receptive_field(6, 2, 2, 128), 2.0 ** np.arange(1, 7))
    a = theory_receptive_field(40, 3, 1, 256)
    # diffusive growth: participation width of a Gaussian with variance k (F^2 - 1)/12 is 2 sqrt(pi) sigma
    np.testing.assert_allclose(a[-1], 2 * np.sqrt(np.pi * 40 * 8 / 12), rtol=0.02)
    assert loglog_slope(np.arange(10, 41), a[9:]) == pytest.approx(0.5, abs=0.02)
