"""Several seeds of a SimpleCNN as one batched model, for training them in one process.

At width 32 a SimpleCNN step is a few hundred tiny kernels, and the per-kernel overhead of
convolution (mkldnn) costs several times the arithmetic. Here every layer of every seed is one
batched matrix product (seeds on the batch axis of `bmm`), so S seeds cost about what one
does until the arithmetic dominates. Each seed reads its own minibatch; the seeds never mix,
and one SGD step on the sum of the per-seed losses is an independent SGD step for each seed.

Layout: inputs are channels-last, [S, B, L, C]; inside, activations are rows [S, B * L, C]
(position l of image b at row b L + l), because every view costs time under autograd. A layer
gathers its rows into patches [S, B * L_out, F * C_in] (circular for stride 1, a plain view for
stride = F) and multiplies by its filter in matrix form, V_k = c_k W_k reshaped to
[S, F * C_in, C_out], where c_k folds the constant scalings: 1/sqrt(C_in F), times the previous
layer's sqrt(F) output factor.
Training V_k instead of W_k is the same SGD once the step and weight decay are rescaled
(`sgd_groups`); conversions to SimpleCNN state dicts are exact up to float rounding.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from spatialpool.models.simple_cnn import SimpleCNN, activation_fn


class StackedCNN(nn.Module):
    def __init__(self, nets: list[SimpleCNN]):
        super().__init__()
        arch = nets[0].arch()
        if any(n.arch() != arch for n in nets):
            raise ValueError("every stacked net must have the same architecture")
        self.arch, self.seeds = arch, len(nets)
        self.depth, self.width = arch["depth"], arch["width"]
        self.filter_size, self.stride = arch["filter_size"], arch["stride"]
        self.act = activation_fn(arch["activation"])
        self._index_cache: dict = {}  # circular patch indices per (length, device): _circular_index
        fs = self.filter_size
        self.scales = [(1.0 if k == 0 else math.sqrt(fs)) / math.sqrt(w.shape[1] * fs)
                       for k, w in enumerate(nets[0].weights)]
        with torch.no_grad():
            self.filters = nn.ParameterList(
                nn.Parameter(torch.stack([self._to_matrix(n.weights[k], k) for n in nets]))
                for k in range(self.depth))
            self.biases = nn.ParameterList(
                nn.Parameter(torch.stack([n.biases[k] for n in nets])[:, None, :].clone())
                for k in range(self.depth))
            self.beta = nn.Parameter(torch.stack([n.beta for n in nets])[:, :, None].clone())
            self.b_out = nn.Parameter(torch.stack([n.b_out for n in nets]).clone())

    def _to_matrix(self, w: torch.Tensor, k: int) -> torch.Tensor:
        """[C_out, C_in, F] filter -> [F * C_in, C_out] matrix, scaled by c_k."""
        c_out, c_in, fs = w.shape
        return (w * self.scales[k]).permute(2, 1, 0).reshape(fs * c_in, c_out)

    def _from_matrix(self, v: torch.Tensor, k: int) -> torch.Tensor:
        fs, c_out = self.filter_size, v.shape[1]
        return v.reshape(fs, -1, c_out).permute(2, 1, 0) / self.scales[k]

    def sgd_groups(self, lr: float, filter_decay: float) -> list[dict]:
        """SGD groups equivalent to lr and decay `filter_decay` on the raw filters W_k: with
        V = c W, the step on V is c^2 times the step on W and the decay per unit lr is 1/c^2.

        Filters with the same c_k share a group (c_k takes two values: layer 1's and the rest's),
        so a step makes 3 fused foreach updates instead of depth + 1: the same arithmetic on every
        element (bitwise the same weights), about 7% of a task-1 step's time saved (measured A/B)."""
        by_scale: dict[float, list] = {}
        for v, c in zip(self.filters, self.scales):
            by_scale.setdefault(c, []).append(v)
        groups = [{"params": vs, "lr": lr * c ** 2, "weight_decay": filter_decay / c ** 2}
                  for c, vs in by_scale.items()]
        groups.append({"params": [*self.biases, self.beta, self.b_out], "lr": lr, "weight_decay": 0.0})
        return groups

    def patches(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        """Rows [S, B * L, C] (position l of image b at row b L + l) -> patches [S, B * L_out, F * C]."""
        s, rows, c = x.shape
        fs = self.filter_size
        if self.stride == 1:
            index, flat = self._circular_index(batch, rows // batch, x.device)
            return _CircularPatches.apply(x, flat, index, batch).view(s, rows, fs * c)
        return x.view(s, rows // fs, fs * c)

    def _circular_index(self, batch: int, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions l - left .. l - left + F - 1 (mod L) of every output l, flattened ([L * F]),
        and the same rows of all `batch` images of the flattened input ([B * L * F]); made once
        per shape and device (every layer and step reuses them: a few % of a step's time)."""
        key, cache = (batch, length, device), self._index_cache
        if key not in cache:
            left = (self.filter_size - 1) // 2
            idx = (torch.arange(length, device=device)[:, None] + torch.arange(self.filter_size, device=device)
                   - left) % length
            cache[key] = idx.reshape(-1), (torch.arange(batch, device=device)[:, None, None] * length + idx).reshape(-1)
        return cache[key]

    def forward(self, x: torch.Tensor, seeds: torch.Tensor | None = None) -> torch.Tensor:
        """x: [S, B, L, C_in], seed s reading x[s]; returns the outputs [S, B].

        seeds: indices [S'] of a subset of the stacked seeds (None: all); x is then [S', B, L, C_in]
        and the outputs [S', B]. The subset's weights are gathered from the full parameters, so a
        backward pass gives every parameter its full-size gradient, exactly zero for the seeds left
        out, at the arithmetic cost of S' seeds."""
        pick = (lambda p: p) if seeds is None else (lambda p: p.index_select(0, seeds))
        s, b = x.shape[:2]
        x = x.reshape(s, -1, x.shape[3])  # rows: fewer views per layer, each costly under autograd
        for v, bias in zip(self.filters, self.biases):
            x = self.act(torch.baddbmm(pick(bias), self.patches(x, b), pick(v)))
        pooled = x.view(s, b, -1, x.shape[2]).mean(2)  # [S, B, H]
        return pick(self.b_out)[:, None] + torch.bmm(pooled, pick(self.beta))[..., 0] * (
            math.sqrt(self.filter_size) / self.width)

    def state_of(self, s: int) -> dict:
        """Seed s's weights as a SimpleCNN state dict, on the CPU."""
        state = {}
        with torch.no_grad():
            for k in range(self.depth):
                state[f"weights.{k}"] = self._from_matrix(self.filters[k][s], k)
                state[f"biases.{k}"] = self.biases[k][s, 0]
            state["beta"], state["b_out"] = self.beta[s, :, 0], self.b_out[s]
            return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}

    def net_of(self, s: int) -> SimpleCNN:
        net = SimpleCNN(**self.arch)
        net.load_state_dict(self.state_of(s))
        return net


class _CircularPatches(torch.autograd.Function):
    """x.index_select(1, flat) for rows x [S, B * L, C]: the gather over the flattened rows is
    about 2x faster than the same gather along L of [S, B, L, C]; its gradient is made by the
    latter's index_add_, which is about 3x faster than the flattened one's. Both gradients add
    every row's F contributions in the same order (index order within an image), so they are
    bitwise equal to autograd's for either gather (tests/test_stacked.py)."""

    @staticmethod
    def forward(ctx, x, flat, index, batch):
        ctx.index, ctx.shape = index, (x.shape[0], batch, x.shape[1] // batch, x.shape[2])
        return x.index_select(1, flat)

    @staticmethod
    def backward(ctx, grad):
        s, b, length, c = ctx.shape
        dx = grad.new_zeros(ctx.shape).index_add_(2, ctx.index, grad.view(s, b, -1, c))
        return dx.view(s, b * length, c), None, None, None


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """SimpleCNN inputs [N, C, L] -> [N, L, C]."""
    return x.transpose(1, 2).contiguous()
