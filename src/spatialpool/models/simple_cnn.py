"""The simple 1D CNNs of section 4, in the authors' parametrisation (README, 'The paper's configuration').

Layer k:  z = W_k * h_{k-1} / sqrt(C_in F) + b_k,  h_k = sqrt(F) * phi(z),  W, b ~ N(0, 1).
Readout:  f = b_out + mean_position(h_K) . beta / H   (mean-field), beta, b_out ~ N(0, 1).

Stride 1 pads circularly (F - 1 sites in all, the extra one on the right for even F); a
stride > 1 layer uses no padding, so with stride = F the length divides by F every layer.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F_
from torch import nn

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda z: z}
ACTIVATION_PATTERN = r"^(relu|tanh|linear|swish:[0-9]+(\.[0-9]+)?)$"  # the config schema's


def swish_beta(name: str) -> float | None:
    """beta of an activation named "swish:<beta>" (e.g. "swish:2"), None for the others."""
    return float(name.split(":", 1)[1]) if name.startswith("swish:") else None


def activation_fn(name: str):
    """phi of an activation name: "relu", "tanh", "linear", or "swish:<beta>" for
    swish_beta(z) = z sigmoid(beta z) (Ramachandran et al. 2017; the paper's sec. 4.1 and
    conclusion): linear / 2 at beta = 0 (the name "swish:0"), ReLU as beta -> infinity.
    ValueError naming the allowed forms for anything else."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    beta = None
    try:
        beta = swish_beta(name)
    except ValueError:
        pass
    if beta is None or not beta >= 0:
        raise ValueError(f"unknown activation {name!r}: expected relu, tanh, linear or swish:<beta >= 0>")
    return lambda z: z * torch.sigmoid(beta * z)


class SimpleCNN(nn.Module):
    def __init__(self, depth: int, width: int, filter_size: int, stride: int,
                 activation: str = "relu", in_channels: int = 1):
        super().__init__()
        self.phi = activation_fn(activation)  # ValueError for an unknown name
        if stride not in (1, filter_size):
            raise ValueError(f"stride must be 1 or the filter size {filter_size}, got {stride}")
        self.depth, self.width, self.filter_size, self.stride = depth, width, filter_size, stride
        self.activation = activation
        chans = [in_channels] + [width] * depth
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(chans[k + 1], chans[k], filter_size)) for k in range(depth))
        self.biases = nn.ParameterList(nn.Parameter(torch.randn(chans[k + 1])) for k in range(depth))
        self.beta = nn.Parameter(torch.randn(width))
        self.b_out = nn.Parameter(torch.randn(()))

    def output_lengths(self, length: int) -> list[int]:
        out = []
        for _ in range(self.depth):
            length = length if self.stride == 1 else length // self.stride
            out.append(length)
        return out

    def layer(self, k: int, h: torch.Tensor) -> torch.Tensor:
        w, b = self.weights[k], self.biases[k]
        fs = self.filter_size
        if self.stride == 1:
            left = (fs - 1) // 2
            h = F_.pad(h, (left, fs - 1 - left), mode="circular")
        z = F_.conv1d(h, w, stride=self.stride) / math.sqrt(w.shape[1] * fs) + b[:, None]
        return math.sqrt(fs) * self.phi(z)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden representation h_1 ... h_K, each [B, H, L_k]."""
        hs = []
        for k in range(self.depth):
            x = self.layer(k, x)
            hs.append(x)
        return hs

    def readout(self, h_last: torch.Tensor) -> torch.Tensor:
        return self.b_out + h_last.mean(-1) @ self.beta / self.width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for k in range(self.depth):
            x = self.layer(k, x)
        return self.readout(x)

    def arch(self) -> dict:
        return dict(depth=self.depth, width=self.width, filter_size=self.filter_size,
                    stride=self.stride, activation=self.activation,
                    in_channels=self.weights[0].shape[1])


def from_arch(arch: dict) -> SimpleCNN:
    """The net of a checkpoint's arch record: {"name": "simple_cnn", **SimpleCNN.arch()}."""
    return SimpleCNN(**{k: v for k, v in arch.items() if k != "name"})


def from_state(arch: dict, state: dict, dtype=torch.float64) -> SimpleCNN:
    net = from_arch(arch)
    net.load_state_dict(state)
    return net.to(dtype)


def mean_channel(net: SimpleCNN) -> SimpleCNN:
    """Operation (b) of fig. 7 (dotted) and fig. B2: the mean-filter net (measured state 'mean_channel').

    Every filter of layer k is replaced by the mean filter wbar_k over all (out, in) channel
    pairs, and every bias by the mean bias bbar_k of the layer; the 1/sqrt(C_in F) and sqrt(F)
    scalings and the readout are kept. All channels of every hidden layer are then identical, so
    the ablated net is a one-channel net whose filter is C_in times the mean filter: the trained
    channels enter only through wbar_k and bbar_k. (Operation (a), the channel mean of the
    *trained* net's representation, is measurement.scale_detection.channel_mean_hidden.)

    When it is dead. Each channel of layer k computes h_k = sqrt(F) phi(z_k) with
    z_k = sqrt(C_in / F) (wbar_k * h_{k-1}) + bbar_k, on the common channel h_{k-1} >= 0 (the
    input images are >= 0, and so is every ReLU layer). With ReLU, if
        bbar_k < 0  and  sqrt(C_in / F) sum_j max(wbar_kj, 0) max_t h_{k-1}(x)_t <= -bbar_k
    for every input x, then z_k <= 0 everywhere and h_k(x) = 0 for every x: layer k is dead, and
    every later layer receives an input-independent constant and returns one (layer k + 1 returns
    sqrt(F) phi(bbar_{k+1})). A representation that is identical for every probe input has
    Delta_k = 0, so D_k, G_k, R_k (eq. 1) are undefined from layer k on (measure.py marks
    them defined = False; tables.undefined_counts counts them). Trained ReLU nets reach this
    because the mean of H x H trained filters is small (default task-1 runs: taps of 0.01-0.03
    beyond layer 1, against a weight rms of 0.09) and acts on a common channel that is itself
    nearly constant, h_{k-1} ~ sqrt(F) relu(bbar_{k-1}), so its response is O(0.1); the mean bias,
    an average of trained biases of both signs (about half are negative), is O(0.1) of either
    sign. A layer with bbar_k < 0 beyond the response is dead. Otherwise z_k > 0 for (nearly)
    every input, the layer is affine, and the live part of the ablated net is the linear
    one-channel net with filter C_in wbar_k, close to homogeneous. (The condition above is
    sufficient; deadness is measured on the probe set, where the inequality need only hold for
    the probe inputs.) With tanh, phi(z) = 0 only at z = 0, so no layer is exactly dead; but the
    one-channel tanh net with a small mean filter is a contraction onto a fixed point, and its
    spread over inputs shrinks geometrically with k (default task-1 tanh runs: by ~1e-3 per
    layer) until it is below float64 resolution; the estimator then calls it undefined too
    (sensitivity.delta_is_undefined).
    """
    ablated = SimpleCNN(**net.arch()).to(net.b_out.dtype)
    ablated.load_state_dict(net.state_dict())
    with torch.no_grad():
        for w, b in zip(ablated.weights, ablated.biases):
            w.copy_(w.mean(dim=(0, 1), keepdim=True).expand_as(w))
            b.fill_(b.mean().item())
    return ablated


def homogeneous(depth: int, filter_size: int, stride: int, activation: str = "relu",
                dtype=torch.float64) -> SimpleCNN:
    """One-channel net with homogeneous positive filters and no bias: the theory's solution."""
    net = SimpleCNN(depth, 1, filter_size, stride, activation).to(dtype)
    with torch.no_grad():
        for w, b in zip(net.weights, net.biases):
            w.fill_(1.0)
            b.zero_()
    return net
