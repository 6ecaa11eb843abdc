"""Effective receptive field A_k (sec. 4): the typical size of f_k(delta_i).

The size of a profile p over positions is its participation width (sum p)^2 / sum p^2:
for a block of n equal sites it is n, for a Gaussian of standard deviation sigma it is
2 sqrt(pi) sigma. A position of layer k covers s^k input pixels, so the width in input
pixels is s^k times that. Then the homogeneous-filter net has A_k = F^k exactly for s = F
and A_k -> 2 sqrt(pi k (F^2 - 1) / 12) (diffusive growth) for s = 1: the theory values
are those of that net, computed with the same definition as the measured ones.
"""
from __future__ import annotations

import numpy as np
import torch

from spatialpool.models.simple_cnn import SimpleCNN, homogeneous


def participation_width(p: np.ndarray) -> float:
    p = np.abs(p)
    total = (p ** 2).sum()
    return float(p.sum() ** 2 / total) if total > 0 else float("nan")


@torch.no_grad()
def effective_receptive_field(net: SimpleCNN, length: int, amplitude: float | None = None) -> np.ndarray:
    """A_k for every hidden layer, averaged over all single-pixel positions.

    The profile is |f_k(a delta_i) - f_k(0)| summed over channels: subtracting the response
    to the empty signal removes what the biases alone put there.
    """
    amplitude = np.sqrt(length / 2) if amplitude is None else amplitude
    dtype = net.b_out.dtype
    x = torch.zeros(length + 1, 1, length, dtype=dtype)
    x[torch.arange(length), 0, torch.arange(length)] = amplitude  # last row stays empty
    widths = []
    for k, h in enumerate(net.hidden(x), start=1):
        prof = (h[:-1] - h[-1:]).abs().sum(1).cpu().numpy()
        widths.append(np.mean([participation_width(p) for p in prof]) * net.stride ** k)
    return np.array(widths)


def theory_receptive_field(depth: int, filter_size: int, stride: int, length: int) -> np.ndarray:
    return effective_receptive_field(homogeneous(depth, filter_size, stride), length, amplitude=1.0)
