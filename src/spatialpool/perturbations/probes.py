"""The fixed probe set on which sensitivities are measured.

Probe images are drawn from the test set (never from training data). Each gets `draws`
independent 1-pixel deformations and, for each, Gaussian noise of the same norm; one seed
fixes them all, so every layer, state and seed of an experiment sees the same perturbations.
"""
from __future__ import annotations

import numpy as np

from spatialpool.data.scale_detection import Task, deform_sites, render
from spatialpool.measurement.sensitivity import matched_noise


def make_probe_set(task: Task, test_sites: np.ndarray, size: int, draws: int, seed: int) -> dict:
    if size > len(test_sites):
        raise ValueError(f"probe size {size} exceeds the {len(test_sites)} test pairs")
    rng = np.random.default_rng(seed)
    sites = test_sites[rng.choice(len(test_sites), size=size, replace=False)]
    clean = render(task, *sites.T)
    deformed = np.stack([render(task, *deform_sites(task, sites, rng).T) for _ in range(draws)], 1)
    eta = matched_noise(clean, deformed, rng)
    return dict(
        sites=sites, clean=clean, deformed=deformed, eta=eta, seed=seed,
        deformation_sq_norm=((deformed - clean[:, None]) ** 2).sum((-2, -1)),
    )


def perturbations(probe: dict) -> dict[str, np.ndarray]:
    """Deformed inputs, inputs plus zero-mean noise, inputs plus rectified noise: [P, R, 1, L]."""
    clean = probe["clean"][:, None]
    return {"D": probe["deformed"], "G_plain": clean + probe["eta"],
            "G_rect": clean + np.maximum(probe["eta"], 0.0)}
