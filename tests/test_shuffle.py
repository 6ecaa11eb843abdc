import pytest
import torch
from torch import nn

from spatialpool.measurement.shuffle import (
    chain_permutation,
    input_permutations,
    permute_consistently,
    shuffle_channels,
    shuffled_models,
)


def _with_stats(model):
    """Random BN affine parameters and running statistics, then eval: BN is a non-trivial map."""
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                for t in (m.weight, m.bias, m.running_mean):
                    t.copy_(torch.randn(t.shape, generator=gen, dtype=t.dtype))
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen, dtype=t.dtype) + 0.5)
    return model.eval()


def _cnn():
    torch.manual_seed(0)
    return _with_stats(nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 5, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(20, 4)).double())


class Block(nn.Module):
    def __init__(self, c_in, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c, 1), nn.BatchNorm2d(c))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def _block():
    torch.manual_seed(1)
    return _with_stats(Block(4, 6).double())


def _x(c=3):
    return torch.randn(5, c, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))


def _perm(n, seed=3):
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def test_consistent_permutation_is_a_symmetry_of_a_sequential_cnn():
    net, x = _cnn(), _x()
    with torch.no_grad():
        y = net(x)
        p = permute_consistently(net, "0", _perm(6), norms=["1"], consumers=["4"])
        assert not torch.equal(p[0].weight, net[0].weight)
        torch.testing.assert_close(p(x), y, rtol=0, atol=1e-10)
        # into a Linear through a flatten of [5, 2, 2]
        p = permute_consistently(net, "7", _perm(5), consumers=["11"])
        torch.testing.assert_close(p(x), y, rtol=0, atol=1e-10)
        torch.testing.assert_close(chain_permutation(net, seed=0)(x), y, rtol=0, atol=1e-10)


def test_consistent_permutation_is_a_symmetry_of_a_residual_block():
    block, x = _block(), _x(4)
    with torch.no_grad():
        p = permute_consistently(block, "conv1", _perm(6), norms=["bn1"], consumers=["conv2"])
        torch.testing.assert_close(p(x), block(x), rtol=0, atol=1e-10)
        # the block's output channels: conv2 and the shortcut together, read by nobody here
        q = permute_consistently(p, "conv2", _perm(6, 4), norms=["bn2"])
        q = permute_consistently(q, "shortcut.0", _perm(6, 4), norms=["shortcut.1"])
        torch.testing.assert_close(q(x), block(x)[:, _perm(6, 4)], rtol=0, atol=1e-10)


def test_inconsistent_permutations_change_the_output():
    net, x = _cnn(), _x()
    with torch.no_grad():
        y = net(x)
        assert (shuffle_channels(net, 0)(x) - y).abs().max() > 1e-3 * y.abs().max()
        # permuting outputs without the consumer's inputs is not a symmetry either
        assert (permute_consistently(net, "0", _perm(6), norms=["1"])(x) - y).abs().max() > 1e-6
        block, xb = _block(), _x(4)
        assert (shuffle_channels(block, 0)(xb) - block(xb)).abs().max() > 1e-3


def test_ablation_permutes_inputs_only_and_leaves_the_rest():
    block = _block()
    perms = input_permutations(block, 7)
    assert set(perms) == {"conv1", "conv2", "shortcut.0"}  # shortcut conv included
    shuffled = shuffle_channels(block, 7)
    before, after = block.state_dict(), shuffled.state_dict()
    for key in before:
        name = key.rsplit(".", 1)[0]
        if key.endswith("weight") and name in perms:
            assert sorted(perms[name].tolist()) == list(range(before[key].shape[1]))
            torch.testing.assert_close(after[key], before[key][:, perms[name]], rtol=0, atol=0)
            assert not torch.equal(after[key], before[key])
        else:
            assert torch.equal(after[key], before[key]), key  # biases, BN, Linear untouched
    assert block.state_dict()["conv1.weight"].data_ptr() != after["conv1.weight"].data_ptr()
    torch.testing.assert_close(block.state_dict()["conv1.weight"], before["conv1.weight"])


def test_first_conv_and_linear_in_a_sequential_net():
    net = _cnn()
    shuffled = shuffle_channels(net, 11)
    perm = input_permutations(net, 11)["0"]
    torch.testing.assert_close(shuffled[0].weight, net[0].weight[:, perm], rtol=0, atol=0)
    assert torch.equal(shuffled[11].weight, net[11].weight) and torch.equal(shuffled[0].bias, net[0].bias)


def test_seeded_reproducibility():
    net = _cnn()
    a, b, c = shuffled_models(net, [3, 3, 4])
    for (ka, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(va, vb)
    assert any(not torch.equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values()))


def test_grouped_conv_consumer_is_refused():
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(ValueError):
        permute_consistently(net, "0", _perm(4), consumers=["1"])
