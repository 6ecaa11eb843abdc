"""Probe sets: the fixed test images on which every sensitivity is measured, in one format.

A probe set is a dict, stored with ``save_probe`` (torch.save, atomic) and read with
``load_probe``, whatever the data:

- ``format`` (1), ``perturbation``: the registered perturbation (perturbations/registry.py)
  whose batches the estimator consumes, ``seed``: the seed of every draw, ``size`` P, ``draws`` R;
- ``x``: the clean probe images, float64 [P, C, *spatial] ([P, 1, L] for the 1D tasks of sec. 4,
  [P, C, n, n] for images), drawn from the test set (never from training data);
- for a perturbation stored in the probe set (``"pixel_moves"``: the 1D and 2D scale-detection
  tasks), ``perturbed``: {name: [P, R, C, *spatial]} (1D: ``D`` the deformed signals, ``G_plain``
  x + eta and ``G_rect`` x + max(eta, 0), eta Gaussian noise with ||eta|| = ||tau x - x|| per image
  and draw; 2D: ``D`` and ``G``), and ``deformation_ratio`` [P, R], ||tau x - x||^2 / ||x||^2;
- for a perturbation drawn at measurement time (``"diffeo"``), what defines it (temperature,
  cut-off, nominal displacement), and ``example``: the first image's draws as measurement makes
  them, for figure 1 to show;
- provenance: the data set, its kind, the test indices or sites of the probe images.

One seed fixes every draw, so every layer, state, seed and architecture of an experiment sees the
same perturbations.
"""
from __future__ import annotations

import os
from dataclasses import asdict

import numpy as np

from spatialpool.data.scale_detection import Task, deform_sites, render
from spatialpool.measurement.sensitivity import matched_noise

FORMAT = 1


def make_probe_set(task: Task, test_sites: np.ndarray, size: int, draws: int, seed: int) -> dict:
    """The probe set of a 1D scale-detection task (sec. 4): `size` test signals, `draws` 1-pixel
    deformations each (deform_sites) and their norm-matched noise. ValueError if size exceeds
    the test set."""
    import torch

    if size > len(test_sites):
        raise ValueError(f"probe size {size} exceeds the {len(test_sites)} test pairs")
    rng = np.random.default_rng(seed)
    sites = test_sites[rng.choice(len(test_sites), size=size, replace=False)]
    clean = render(task, *sites.T)                                                      # [P, 1, L]
    deformed = np.stack([render(task, *deform_sites(task, sites, rng).T) for _ in range(draws)], 1)
    eta = matched_noise(clean, deformed, rng)                                           # [P, R, 1, L]
    x = torch.as_tensor(clean, dtype=torch.float64)
    as_t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    sq = ((deformed - clean[:, None]) ** 2).sum((-2, -1))
    return dict(
        format=FORMAT, perturbation="pixel_moves", seed=seed, size=size, draws=draws, x=x,
        perturbed={"D": as_t(deformed), "G_plain": as_t(clean[:, None] + eta),
                   "G_rect": as_t(clean[:, None] + np.maximum(eta, 0.0))},
        eta=as_t(eta), sites=sites, deformation_ratio=as_t(sq / (clean ** 2).sum((-2, -1))[:, None]),
        kind="scale_detection_1d", task=asdict(task),
    )


def save_probe(probe: dict, path: str | os.PathLike) -> None:
    """torch.save the probe set atomically. ValueError if it lacks a key every probe set has."""
    import torch

    from spatialpool.runtime import atomic_write

    missing = {"perturbation", "seed", "x", "size", "draws"} - set(probe)
    if missing:
        raise ValueError(f"a probe set needs {sorted(missing)}")
    atomic_write(path, lambda fh: torch.save({"format": FORMAT, **probe}, fh))


def load_probe(path: str | os.PathLike) -> dict:
    """The probe set at path. CorruptedIntermediate, naming the file, if it is missing, unreadable
    or in another format (written by an older version: rerun its probe rule)."""
    from spatialpool.io import CorruptedIntermediate, read_torch

    probe = read_torch(path, weights_only=False)
    if not isinstance(probe, dict) or probe.get("format") != FORMAT:
        raise CorruptedIntermediate(path, f"not a probe set of format {FORMAT} (written by another version?)")
    return probe
