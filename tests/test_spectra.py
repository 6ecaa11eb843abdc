import numpy as np
import torch
from torch import nn

from spatialpool.measurement.spectra import compare, conv_weights, layer_aggregates, layer_spectra


def _net(fill=None, seed=0, width=64):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3), nn.ReLU(),
                        nn.Conv2d(width, 8, 1), nn.Conv2d(8, 4, 5), nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                if fill == "gaussian":
                    m.weight.normal_()
                elif fill == "constant":
                    m.weight.copy_(torch.randn(*m.weight.shape[:2], 1, 1).expand_as(m.weight))
    return net


def test_3x3_eigenvalues_and_multiplicities():
    table = layer_spectra(_net(), "init")
    first = table[table.k == 1]
    np.testing.assert_allclose(np.repeat(first.eigenvalue, first.multiplicity), [0, 1, 1, 2, 3, 3, 4, 4, 6], atol=1e-12)
    assert list(table.drop_duplicates("k").kernel) == ["3x3", "3x3", "5x5"]  # the 1x1 conv is skipped
    assert [n for n, _ in conv_weights(_net(), min_size=1)] == ["0", "2", "4", "5"]


def test_iid_gaussian_filters_give_a_flat_spectrum():
    table = layer_spectra(_net("gaussian", width=96), "init")
    for k, g in table.groupby("k"):
        n = g.multiplicity.sum()
        # each eigenvector gets the same expected energy: the per-eigenvalue share is multiplicity / N
        np.testing.assert_allclose(g.share, g.multiplicity / n, atol=0.02 if k != 3 else 0.05)
        np.testing.assert_allclose(g.per_mode, 1 / n, rtol=0.1 if k != 3 else 0.6)
        np.testing.assert_allclose(g.share.sum(), 1.0, rtol=1e-12)
    agg = layer_aggregates(_net("gaussian", width=96), "init")
    np.testing.assert_allclose(agg.aggregate_frequency[:2], 1.0, atol=0.03)


def test_constant_filters_put_all_weight_on_eigenvalue_zero():
    net = _net("constant")
    table = layer_spectra(net, "best")
    zero = table.eigenvalue.abs() < 1e-12
    np.testing.assert_allclose(table.share[zero], 1.0, rtol=1e-12)
    np.testing.assert_allclose(table.share[~zero], 0.0, atol=1e-12)
    np.testing.assert_allclose(layer_aggregates(net, "best").aggregate_frequency, 0.0, atol=1e-12)


def test_gamma_is_eq3_and_share_is_normalised():
    net = _net(seed=3)
    w = net[2].weight.detach().double().numpy()
    table = layer_spectra(net, "s")
    g = table[table.k == 2]
    # eq. 3 by hand for the constant mode: (sum of taps)^2 / 9, channel-averaged
    np.testing.assert_allclose(g.gamma.iloc[0], (w.sum((2, 3)) ** 2 / 9).mean(), rtol=1e-10)
    np.testing.assert_allclose(g.gamma.sum(), (w ** 2).sum((2, 3)).mean(), rtol=1e-10)  # Parseval
    np.testing.assert_allclose(g.share, g.gamma / (w ** 2).sum((2, 3)).mean(), rtol=1e-10)


def test_compare_init_and_trained():
    spectra, aggregates = compare({"init": _net("gaussian"), "best": _net("constant")})
    assert set(spectra.state) == {"init", "best"} and len(aggregates) == 6
    a = aggregates.set_index(["state", "k"]).aggregate_frequency
    assert (a["best"] < a["init"]).all()
