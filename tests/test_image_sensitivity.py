import numpy as np
import pytest
import torch
from torch import nn

from spatialpool.perturbations.diffeo import temperature
from spatialpool.measurement.estimator import (
    capture,
    default_points,
    measure,
    measure_representations,
)
from spatialpool.perturbations.registry import perturb
from baselines import sensitivities

N = 12
TEMP = temperature(1.0, N)


def _images(p=10, c=3, seed=0):
    return torch.randn(p, c, N, N, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def _cnn(inplace=False, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(inplace=inplace), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(inplace=inplace), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(32, 5)).double()


def _trained_bn(model):
    """Give BN non-trivial running statistics so that eval mode differs from train mode."""
    with torch.no_grad():
        model.train()
        model(_images(32, seed=9))
    return model


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x  # in place, as in torchvision's BasicBlock
        return self.relu(out)


class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.layer1 = nn.Sequential(Block(4), Block(4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(4, 3)

    def forward(self, x):
        out = self.pool(self.layer1(torch.relu(self.bn1(self.conv1(x)))))
        return self.linear(out.flatten(1))


def test_default_points():
    assert default_points(_cnn()) == ["0", "1", "2", "3", "4", "5", "6", "8"]  # Flatten skipped
    res = ResNetLike()
    assert default_points(res) == ["conv1", "bn1", "layer1.0", "layer1.1", "pool", "linear"]
    inside = default_points(res, inside_blocks=True)
    assert "layer1.0.conv2" in inside and inside.index("layer1.0.relu") < inside.index("layer1.0")
    # a module called twice in a forward is two points
    points, _ = capture(res, _images(2).float(), ["layer1.0.relu"])
    assert [p.name for p in points] == ["layer1.0.relu", "layer1.0.relu#2", "output"]


def test_identity_model_is_the_input_sensitivity():
    x = _images()
    table = measure(nn.Identity(), x, TEMP, draws=3, seed=4, batch_size=4)
    assert list(table.name) == ["output"]
    pert = perturb(x, TEMP, 3, draws=3, seed=4)
    num_d = (pert["deformed"] - x[:, None]).flatten(2).pow(2).sum(-1).mean()
    num_g = (pert["noisy"] - x[:, None]).flatten(2).pow(2).sum(-1).mean()
    flat = x.flatten(1)
    delta = (flat[:, None] - flat[None]).pow(2).sum(-1).mean()  # all P x P pairs, i = j included
    np.testing.assert_allclose(table.delta[0], delta, rtol=1e-12)
    np.testing.assert_allclose(table.D[0], num_d / delta, rtol=1e-12)
    np.testing.assert_allclose(table.G[0], num_g / delta, rtol=1e-12)
    np.testing.assert_allclose(table.D[0], table.G[0], rtol=1e-12)  # the noise norm is matched
    disp = pert["displacement"].pow(2).mean().sqrt().item()
    np.testing.assert_allclose(table.displacement_rms[0], disp, rtol=1e-12)
    # i != j only: P / (P - 1) larger
    distinct = measure(nn.Identity(), x, TEMP, draws=3, seed=4, self_pairs=False)
    np.testing.assert_allclose(distinct.delta[0], table.delta[0] * 10 / 9, rtol=1e-12)


def test_linear_map_on_exact_data():
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((9, 7))
    pert = {"a": clean[:, None] + 0.3 * rng.standard_normal((9, 2, 7)),
            "b": clean[:, None] + rng.standard_normal((9, 2, 7))}
    w = rng.standard_normal((4, 7))
    out = measure_representations(lambda x: [x @ torch.tensor(w).T], torch.tensor(clean),
                                  {k: torch.tensor(v) for k, v in pert.items()}, batch_size=4)
    y = clean @ w.T
    delta = ((y[:, None] - y[None]) ** 2).sum(-1).mean()
    np.testing.assert_allclose(out["delta"][0], delta, rtol=1e-12)
    for k, v in pert.items():
        np.testing.assert_allclose(out[k][0], ((v @ w.T - y[:, None]) ** 2).sum(-1).mean() / delta, rtol=1e-12)


def test_linear_model_on_images():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * N * N, 6)).double()
    x = _images(7)
    table = measure(model, x, TEMP, draws=2, seed=1, batch_size=3)
    pert = perturb(x, TEMP, 3, draws=2, seed=1)
    w = model[1].weight.detach()
    y = x.flatten(1) @ w.T
    delta = (y[:, None] - y[None]).pow(2).sum(-1).mean()
    d = ((pert["deformed"] - x[:, None]).flatten(2) @ w.T).pow(2).sum(-1).mean() / delta
    np.testing.assert_allclose(table.set_index("name").loc["output", "D"], d, rtol=1e-11)


def test_streaming_delta_matches_pairwise_mean():
    rng = np.random.default_rng(1)
    clean = 5 + rng.standard_normal((23, 3, 4)) * rng.uniform(0.1, 3, (3, 4))  # offset: tests conditioning
    pert = {"p": torch.tensor(clean[:, None])}
    for bs in (1, 5, 23):
        out = measure_representations(lambda x: [x, x[:, :1]], torch.tensor(clean), pert, batch_size=bs)
        for k, f in enumerate([clean, clean[:, :1]]):
            f = f.reshape(len(f), -1)
            pairs = ((f[:, None] - f[None]) ** 2).sum(-1)
            np.testing.assert_allclose(out["delta"][k], pairs.mean(), rtol=1e-12)  # includes the diagonal zeros
        assert np.all(out["p"] == 0)


def test_agrees_with_sensitivity_module():
    clean = torch.randn(15, 1, 16, dtype=torch.float64)
    pert = {"D": clean[:, None] + 0.1 * torch.randn(15, 2, 1, 16, dtype=torch.float64),
            "G": clean[:, None] + 0.2 * torch.randn(15, 2, 1, 16, dtype=torch.float64)}
    conv = nn.Conv1d(1, 4, 3, padding=1).double()
    represent = lambda x: [conv(x), torch.relu(conv(x)).mean(-1)]
    a = measure_representations(represent, clean, pert, batch_size=4)
    b = sensitivities(represent, clean, pert, batch_size=6)
    def generator(x):  # one layer alive at a time
        yield conv(x)
        yield torch.relu(conv(x)).mean(-1)
    c = measure_representations(generator, clean, pert, batch_size=5)
    for key in ("delta", "D", "G"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-10)
        np.testing.assert_allclose(c[key], b[key], rtol=1e-10)


def test_inplace_relu_does_not_alias_the_conv_output():
    model = _trained_bn(_cnn(inplace=True))
    x = _images(4)
    points, outs = capture(model, x, ["0", "1", "2"])
    assert [p.kind for p in points] == ["Conv2d", "BatchNorm2d", "ReLU", "output"]
    conv, bn, relu = outs[:3]
    assert (bn < 0).any() and not torch.equal(bn, relu)
    torch.testing.assert_close(relu, torch.relu(bn), rtol=0, atol=0)
    torch.testing.assert_close(conv, model[0](x), rtol=0, atol=0)
    # and measurements agree with the same net built with out-of-place activations
    plain = _cnn(inplace=False)
    plain.load_state_dict(model.state_dict())
    a = measure(model, x, TEMP, draws=2, seed=3)
    b = measure(plain, x, TEMP, draws=2, seed=3)
    pd_cols = ["delta", "D", "G"]
    np.testing.assert_allclose(a[pd_cols].to_numpy(), b[pd_cols].to_numpy(), rtol=1e-12)
    assert a.D[0] != a.D[2]  # conv and ReLU are distinct points


def test_eval_mode_and_no_hooks_left():
    model = _trained_bn(_cnn())
    model.train()
    x = _images(6)
    table = measure(model, x, TEMP, seed=0)
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
    model.eval()
    with torch.no_grad():
        y = model(x)
    delta = (y[:, None] - y[None]).pow(2).sum(-1).mean().item()
    np.testing.assert_allclose(table.delta.iloc[-1], delta, rtol=1e-12)


@pytest.mark.parametrize("model", [_cnn, ResNetLike])
def test_minibatch_size_does_not_change_the_result(model):
    net = _trained_bn(model().double())
    x = _images(11)
    a = measure(net, x, TEMP, draws=2, seed=5, batch_size=11)
    b = measure(net, x, TEMP, draws=2, seed=5, batch_size=3)
    # an iterable of (images, labels) batches works too
    c = measure(net, [(x[:6], None), (x[6:], None)], TEMP, draws=2, seed=5)
    cols = ["delta", "D", "G", "R", "displacement_rms"]
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(a[cols].to_numpy(), c[cols].to_numpy(), rtol=1e-10)
    assert list(a.name) == default_points(net) + ["output"]
    assert np.all(np.isfinite(a.D)) and np.all(a.D > 0)


def test_perturbations_are_seeded_and_noise_is_matched_per_image():
    x = _images(5)
    p = perturb(x, TEMP, 3, draws=3, seed=2)
    q = perturb(x[2:], TEMP, 3, draws=3, seed=2, first_index=2)
    assert torch.equal(p["deformed"][2:], q["deformed"]) and torch.equal(p["noisy"][2:], q["noisy"])
    assert not torch.equal(p["deformed"], perturb(x, TEMP, 3, draws=3, seed=3)["deformed"])
    dn = (p["deformed"] - x[:, None]).flatten(2).norm(dim=-1)
    nn_ = (p["noisy"] - x[:, None]).flatten(2).norm(dim=-1)
    torch.testing.assert_close(nn_, dn, rtol=1e-13, atol=0)
    assert dn.std() > 0  # norms differ between images and draws: matching is per (image, draw)
    np.testing.assert_allclose(p["deformation_ratio"], dn ** 2 / x.flatten(1).pow(2).sum(1)[:, None], rtol=1e-12)


# Constants that binary floating point cannot hold exactly, so that sums of them round.
INEXACT_CONSTANTS = [0.1, 1 / 3, 1e3 / 7, 1e6 + 0.1]


@pytest.mark.parametrize("c", INEXACT_CONSTANTS)
def test_constant_representation_is_undefined_in_both_estimators(c):
    """Chan's update leaves round-off (1e-33 .. 1e-19) in Delta of a constant: D, G must be NaN, not 0."""
    rng = np.random.default_rng(3)
    clean = torch.tensor(rng.standard_normal((40, 6)))
    pert = {"D": clean[:, None] + 0.1 * torch.tensor(rng.standard_normal((40, 2, 6))),
            "G": clean[:, None] + 0.3 * torch.tensor(rng.standard_normal((40, 2, 6)))}

    def represent(x):
        ones = torch.ones(len(x), 2, 3, dtype=torch.float64)
        return [c * ones, c * ones * torch.tensor([1.0, -3.0, 0.7], dtype=torch.float64), (c + x) - x]

    for batch_size in (1, 4, 7, 40):
        for estimator in (measure_representations, sensitivities):
            out = estimator(represent, clean, pert, batch_size=batch_size)
            for name in ("D", "G"):
                assert np.all(np.isnan(out[name])), (estimator.__name__, c, batch_size, name, out)
            assert np.all(np.isnan(out["D"] / out["G"]))  # and so R


def test_tiny_genuine_variation_is_finite_in_both_estimators():
    """Features varying by 1e-6 relative on an offset of 1: a number, equal to the float64 direct value."""
    rng = np.random.default_rng(4)
    clean = rng.standard_normal((40, 6))
    pert = {"D": clean[:, None] + 0.1 * rng.standard_normal((40, 2, 6)),
            "G": clean[:, None] + 0.3 * rng.standard_normal((40, 2, 6))}
    a = rng.standard_normal((6, 5))
    y = 1 + 1e-6 * clean @ a
    delta = ((y[:, None] - y[None]) ** 2).sum(-1).mean()
    expect = {k: ((1 + 1e-6 * v @ a - y[:, None]) ** 2).sum(-1).mean() / delta for k, v in pert.items()}
    tensors = {k: torch.tensor(v) for k, v in pert.items()}
    for batch_size in (1, 7, 40):
        for estimator in (measure_representations, sensitivities):
            out = estimator(lambda x: [1 + 1e-6 * x @ torch.tensor(a)], torch.tensor(clean), tensors,
                            batch_size=batch_size)
            np.testing.assert_allclose(out["delta"][0], delta, rtol=1e-9)
            for k in pert:
                np.testing.assert_allclose(out[k][0], expect[k], rtol=1e-9)


def _dead_cnn(dtype):
    """Conv -> ReLU -> Conv with zero weights (its output is its bias, the same for every image) ->
    BN -> ReLU -> pool -> Linear -> Tanh -> Linear: every point from the second conv on is constant."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(20, 4), nn.Tanh(), nn.Linear(4, 3))
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.copy_(torch.tensor([0.1, 1 / 3, 1e3 / 7, -0.3, 2.7]))
        bn = model[3]  # non-trivial running statistics: its output is not the conv's
        bn.running_mean.copy_(torch.tensor([0.05, 0.2, 100.0, 0.1, 1.0]))
        bn.running_var.copy_(torch.tensor([0.3, 1.7, 9.0, 2.0, 0.5]))
        bn.weight.copy_(torch.tensor([1.3, 0.7, 0.9, 1.1, 2.0]))
        bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.05, 0.01]))
    return model.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_dead_model_is_undefined_downstream_and_finite_upstream(dtype):
    model = _dead_cnn(dtype)
    x = _images(23)
    for batch_size in (23, 5):
        table = measure(model, x, TEMP, draws=2, seed=1, batch_size=batch_size).set_index("name")
        upstream, downstream = ["0", "1"], ["2", "3", "4", "5", "7", "8", "9", "output"]
        assert list(table.kind[["3", "5", "7", "output"]]) == ["BatchNorm2d", "AdaptiveAvgPool2d", "Linear", "output"]
        for col in ("D", "G", "R"):
            assert np.all(np.isfinite(table.loc[upstream, col])) and np.all(table.loc[upstream, col] > 0)
            assert table.loc[downstream, col].isna().all(), (batch_size, col, table.loc[downstream, ["delta", col]])

