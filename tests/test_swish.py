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
