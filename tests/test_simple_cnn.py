import math

import pytest
import torch

from spatialpool.models.simple_cnn import SimpleCNN, homogeneous, mean_channel


def _net(stride=1, fs=3, depth=4, width=6, act="relu", seed=0):
    torch.manual_seed(seed)
    return SimpleCNN(depth, width, fs, stride, act).double()


def test_parametrisation_of_one_layer():
    net = _net(depth=1, width=2)
    x = torch.randn(1, 1, 8, dtype=torch.float64)
    w, b = net.weights[0], net.biases[0]
    xp = torch.cat([x[..., -1:], x, x[..., :1]], -1)  # circular padding for F = 3
    z = torch.stack([sum(w[c, 0, j] * xp[0, 0, j:j + 8] for j in range(3)) for c in range(2)]) / math.sqrt(3) + b[:, None]
    torch.testing.assert_close(net.hidden(x)[0][0], math.sqrt(3) * torch.relu(z))
    h = net.hidden(x)[0]
    torch.testing.assert_close(net(x), net.b_out + h.mean(-1) @ net.beta / 2)


def test_stride_f_halves_the_length_down_to_one():
    net = _net(stride=2, fs=2, depth=7)
    assert [h.shape[-1] for h in net.hidden(torch.randn(3, 1, 128, dtype=torch.float64))] == [64, 32, 16, 8, 4, 2, 1]


def test_stride1_is_translation_equivariant():
    net = _net()
    x = torch.randn(2, 1, 16, dtype=torch.float64)
    for h, hs in zip(net.hidden(x), net.hidden(torch.roll(x, 3, -1))):
        torch.testing.assert_close(torch.roll(h, 3, -1), hs)


@pytest.mark.parametrize("stride,fs", [(1, 3), (2, 2)])
def test_mean_channel_makes_every_channel_identical(stride, fs):
    net = _net(stride, fs)
    ablated = mean_channel(net)
    for h in ablated.hidden(torch.rand(5, 1, 32, dtype=torch.float64)):
        torch.testing.assert_close(h, h[:, :1].expand_as(h))
    # weights really are the mean filter over (out, in); biases the mean bias; readout untouched
    for w0, w1, b0, b1 in zip(net.weights, ablated.weights, net.biases, ablated.biases):
        torch.testing.assert_close(w1[3, 2 % w1.shape[1]], w0.mean((0, 1)))
        torch.testing.assert_close(b1, torch.full_like(b0, b0.mean().item()))
    torch.testing.assert_close(ablated.beta, net.beta)


def test_mean_channel_equals_one_channel_net_with_summed_filter():
    """With identical channels, layer k sums C_in copies: a 1-channel net with filter C_in * mean filter."""
    net = _net(depth=3, width=5)
    ablated = mean_channel(net)
    one = SimpleCNN(3, 1, 3, 1, "relu").double()
    with torch.no_grad():
        for k, (w, b) in enumerate(zip(net.weights, net.biases)):
            c_in = w.shape[1]
            # one.layer divides by sqrt(1 * F) where the ablated divides by sqrt(c_in * F)
            one.weights[k].copy_((c_in / math.sqrt(c_in)) * w.mean((0, 1)).view(1, 1, -1))
            one.biases[k].fill_(b.mean().item())
    x = torch.rand(4, 1, 16, dtype=torch.float64)
    for h_ab, h_one in zip(ablated.hidden(x), one.hidden(x)):
        torch.testing.assert_close(h_ab[:, :1], h_one)


def test_mean_channel_is_idempotent_and_leaves_the_original_alone():
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    once = mean_channel(net)
    twice = mean_channel(once)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k])
    for k, v in once.state_dict().items():
        torch.testing.assert_close(v, twice.state_dict()[k])


def test_homogeneous_relu_net_is_linear_on_nonnegative_inputs():
    net = homogeneous(5, 3, 1)
    d = torch.eye(16, dtype=torch.float64)[:, None]
    both = (d[2] + d[9])[None]
    for hs, h1, h2 in zip(net.hidden(both), net.hidden(d[2:3]), net.hidden(d[9:10])):
        torch.testing.assert_close(hs, h1 + h2)


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        SimpleCNN(2, 4, 3, 1, "sigmoid")
