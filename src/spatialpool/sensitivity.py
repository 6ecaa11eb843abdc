"""Layer-wise sensitivities D_k, G_k, R_k (paper eq. 1, REFERENCE.md section 1).

For a representation f (flattened over channels and positions) and probe images x_i:

    N(x~)  = mean_{i, r} ||f(x~_{i,r}) - f(x_i)||^2        (r: perturbation draws per image)
    Delta  = mean_{i, j} ||f(x_i) - f(x_j)||^2 = 2 * sum_features Var_i f(x_i)
    D = N(tau x) / Delta,  G = N(x + eta) / Delta,  R = D / G.

Delta includes the i = j zeros, as the authors do (the i != j mean is P/(P-1) larger; R does
not depend on it). All sums are accumulated in float64 over mini-batches of probe images,
so no P x P matrix and no all-probe activation tensor is ever held.

Noise is matched per image and draw: ||eta_{i,r}|| = ||tau_r x_i - x_i||. The 'rectified'
noise of sec. 4.3 is relu(eta) of that matched eta (so its norm is about 1/sqrt(2) of it).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

Representations = Callable[[torch.Tensor], Sequence[torch.Tensor]]


def matched_noise(clean: np.ndarray, deformed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with the norm of each (image, draw) deformation: eta [P, R, ...]."""
    diff = deformed - clean[:, None]
    norms = np.sqrt((diff ** 2).reshape(*diff.shape[:2], -1).sum(-1))
    z = rng.standard_normal(diff.shape)
    z_norm = np.sqrt((z ** 2).reshape(*z.shape[:2], -1).sum(-1))
    scale = norms / z_norm
    return z * scale.reshape(*scale.shape, *([1] * (z.ndim - 2)))


@torch.no_grad()
def sensitivities(represent: Representations, clean: torch.Tensor,
                  perturbed: dict[str, torch.Tensor], batch_size: int = 64) -> dict[str, np.ndarray]:
    """Per-layer numerators and Delta.

    clean: [P, ...] probe images; perturbed[name]: [P, R, ...] perturbed versions of them.
    Returns {'delta': [n_layers], name: [n_layers] (N / Delta) for every perturbation}.
    """
    n_probe = clean.shape[0]
    shift = sum_x = sum_x2 = None
    numer = {name: None for name in perturbed}
    counts = {name: 0 for name in perturbed}
    for lo in range(0, n_probe, batch_size):
        x = clean[lo:lo + batch_size]
        reps = [r.flatten(1).double() for r in represent(x)]
        if shift is None:
            shift = [r.mean(0) for r in reps]  # keeps the one-pass variance well conditioned
            sum_x = [torch.zeros_like(s) for s in shift]
            sum_x2 = [torch.zeros_like(s) for s in shift]
        for k, r in enumerate(reps):
            c = r - shift[k]
            sum_x[k] += c.sum(0)
            sum_x2[k] += (c * c).sum(0)
        for name, pert in perturbed.items():
            xp = pert[lo:lo + batch_size]
            n_draws = xp.shape[1]
            reps_p = represent(xp.flatten(0, 1))
            sq = [((rp.flatten(1).double().view(len(x), n_draws, -1) - r[:, None]) ** 2).sum((1, 2))
                  .sum() for rp, r in zip(reps_p, reps)]
            numer[name] = sq if numer[name] is None else [a + b for a, b in zip(numer[name], sq)]
            counts[name] += len(x) * n_draws
    delta = np.array([(2 * (s2 / n_probe - (s / n_probe) ** 2).sum()).item()
                      for s, s2 in zip(sum_x, sum_x2)])
    out = {"delta": delta}
    for name in perturbed:
        mean_sq = np.array([v.item() for v in numer[name]]) / counts[name]
        # A layer whose representation is the same for every probe image has no scale to
        # compare with: its sensitivity is undefined, not infinite.
        out[name] = np.divide(mean_sq, delta, out=np.full_like(mean_sq, np.nan), where=delta > 0)
    return out
