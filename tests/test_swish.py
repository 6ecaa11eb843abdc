"""Swish activations of the 1D simple CNN and the noise-magnitude sweep (the swish experiment):
swish's limits on the exact homogeneous-filter network, the sweep's scaling, the config grammar."""
import re

import numpy as np
import pytest
import torch

from spatialpool.data.scale_detection import Task, all_pairs
from spatialpool.measurement.noise_magnitude import log_slope, noise_sweep, scaled_probe
from spatialpool.measurement.scale_detection import sensitivity_table
from spatialpool.models.simple_cnn import ACTIVATION_PATTERN, SimpleCNN, activation_fn, homogeneous, swish_beta
from spatialpool.models.stacked import StackedCNN
from spatialpool.perturbations.probes import make_probe_set

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def probe():
    task = Task("distance", 32, 11, 4)
    r1, r2, _ = all_pairs(task)
    return make_probe_set(task, np.stack([r1, r2], 1), size=24, draws=2, seed=1)


def test_swish_is_z_sigmoid_beta_z_with_its_limits():
    z = torch.linspace(-5, 5, 101, dtype=torch.float64)
    assert torch.allclose(activation_fn("swish:2")(z), z / (1 + torch.exp(-2 * z)))
    assert torch.equal(activation_fn("swish:0")(z), z / 2)
    assert torch.allclose(activation_fn("swish:1000")(z), torch.relu(z), atol=1e-12)
    assert swish_beta("swish:0.5") == 0.5 and swish_beta("relu") is None
    for bad in ("swish", "swish:-1", "swish:x", "gelu"):
        with pytest.raises(ValueError, match="unknown activation"):
            activation_fn(bad)
    for good, ok in (("swish:2", True), ("swish:0.25", True), ("relu", True), ("swish:-1", False), ("elu", False)):
        assert bool(re.match(ACTIVATION_PATTERN, good)) == ok


def test_homogeneous_swish_limits_are_the_linear_and_relu_networks(probe):
    """beta -> 0: swish = z / 2, so the homogeneous network is the linear one scaled by 2^-k and
    every ratio of eq. 1 is the linear network's; beta -> infinity: the ReLU network's."""
    def table(act):
        return sensitivity_table(homogeneous(5, 3, 1, act), probe, 16)
    linear, relu = table("linear"), table("relu")
    zero, large = table("swish:0"), table("swish:1000")
    for m in ("D", "G_plain", "G_rect"):
        np.testing.assert_allclose(zero[m], linear[m], rtol=1e-10)
        np.testing.assert_allclose(large[m], relu[m], rtol=1e-6)
    # zero-mean noise tells them apart (rectified noise keeps every input >= 0, where the
    # homogeneous ReLU network is linear), so the limits are not vacuous
    assert not np.allclose(linear.G_plain, relu.G_plain, rtol=0.05)
    np.testing.assert_allclose(linear.G_rect, relu.G_rect, rtol=1e-12)


def test_the_noise_sweep_scales_the_stored_noise(probe):
    m1 = scaled_probe(probe, 1.0)
    for name in ("G_plain", "G_rect"):
        torch.testing.assert_close(m1["perturbed"][name], torch.as_tensor(probe["perturbed"][name]), rtol=0, atol=1e-12)
    sweep = noise_sweep(homogeneous(4, 3, 1, "linear").hidden, probe, [0.1, 1.0, 10.0], 16)
    # a linear network: G is exactly quadratic in the magnitude, D does not depend on it
    g = sweep.pivot(index="k", columns="magnitude", values="G_plain")
    np.testing.assert_allclose(g[10.0] / g[1.0], 100, rtol=1e-9)
    np.testing.assert_allclose(g[0.1] / g[1.0], 0.01, rtol=1e-9)
    d = sweep.pivot(index="k", columns="magnitude", values="D")
    np.testing.assert_allclose(d[0.1], d[10.0], rtol=0)
    with pytest.raises(ValueError, match="must be > 0"):
        scaled_probe(probe, 0.0)
    assert log_slope([1, 2, 4], [3, 12, 48]) == pytest.approx(2.0) and np.isnan(log_slope([1], [1]))


def test_stacked_seeds_use_the_same_swish():
    torch.manual_seed(0)
    nets = [SimpleCNN(3, 4, 3, 1, "swish:2").double() for _ in range(2)]
    stacked = StackedCNN(nets).double()
    x = torch.rand(5, 1, 16, dtype=torch.float64)
    out = stacked(x.transpose(1, 2)[None].expand(2, -1, -1, -1))  # [S, B, L, C]
    for s, net in enumerate(nets):
        torch.testing.assert_close(out[s], net(x))
        assert stacked.net_of(s).activation == "swish:2"


def test_exponents_and_crossovers_on_an_exact_table():
    import pandas as pd

    from spatialpool.analysis.swish import crossover_slope, crossovers, exponents
    a = np.array([1.0, 2.0, 4.0, 8.0])
    rows = []
    # G_k = A_k^e(m): relu e = 1 at every m; swish:b rises from 0 to 1, reaching 0.5 at m = 1/b
    for act, beta in (("relu", np.nan), ("swish:1", 1.0), ("swish:4", 4.0)):
        for m in (0.01, 0.1, 1.0, 10.0, 100.0):
            e = 1.0 if np.isnan(beta) else float(np.clip(0.5 + 0.25 * np.log10(m * beta) * 2, 0, 1))
            for k in range(1, 5):
                rows.append(dict(activation=act, beta=beta, magnitude=m, k=k, G_plain=a[k - 1] ** e, G_rect=1.0))
    table = exponents(pd.DataFrame(rows), a, (1, 4))
    got = table[(table.activation == "swish:4") & (table.noise == "plain")].exponent.to_numpy()
    np.testing.assert_allclose(got, [0.0, 0.3010, 0.8010, 1.0, 1.0], atol=1e-3)
    cross = crossovers(table)
    plain = cross[cross.noise == "plain"].set_index("beta")
    # half way from e_small (0) to relu (1): e = 0.5 at m = 1/beta exactly
    np.testing.assert_allclose(plain.m_star.to_numpy(), [1.0, 0.25], rtol=1e-9)
    assert crossover_slope(cross) == pytest.approx(-1.0)
    assert cross[cross.noise == "rect"].m_star.isna().all()  # flat everywhere: never rises


def test_the_homogeneous_theory_moves_from_linear_to_relu_with_beta(probe):
    from spatialpool.analysis.swish import homogeneous_theory
    out = homogeneous_theory(dict(depth=6, filter_size=3, stride=1), 32, probe, [1, 4, 16], [0.001, 0.01, 0.1, 1, 10],
                             (2, 6), 16, log=lambda m: None)
    e = out["exponents"][out["exponents"].noise == "plain"].set_index(["activation", "magnitude"]).exponent
    # small noise: swish sits far below ReLU; large noise at large beta: swish is ReLU
    assert e["swish:16", 10.0] == pytest.approx(e["relu", 10.0], abs=0.02)
    assert all(e[f"swish:{b}", 0.001] < e["relu", 0.001] - 0.2 for b in (1, 4, 16))
    m_star = out["crossovers"].query("noise == 'plain'").set_index("beta").m_star
    assert m_star[1.0] > m_star[4.0] > m_star[16.0]  # larger beta: senses smaller noise
    assert set(out["sweep"].activation) == {"linear", "swish:1", "swish:4", "swish:16", "relu"}
