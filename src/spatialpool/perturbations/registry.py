"""Perturbations of probe sets (paper eq. 1), registered by name, and the batches they yield.

A probe set (perturbations/probes.py: one format for the 1D tasks and the images) records which perturbation its images get
(``probe["perturbation"]``) and everything that defines it. At measurement time the registered
perturbation turns the probe set, with the images the net actually sees (the clean probe images,
or those plus a fixed input noise for nets trained on noisy data), into batches

    (clean [b, C, *spatial], {name: perturbed [b, R, C, *spatial], ...}, realised)

(images: "D" deformed and "G" noisy; the 1D tasks: "D", "G_plain" and "G_rect")

where ``realised`` holds per (image, draw) the RMS displacement in pixels and
||tau x - x||^2 / ||x||^2. The estimator (estimator.measure_batches) only consumes
them: it never draws a perturbation.

Registered perturbations:
- ``diffeo``: smooth random diffeomorphisms at the authors' temperature (diffeo.py) and noise of
  the same norm per image and draw; each probe image's draws come from its own generator, seeded
  by (probe seed, image index), so batches of any size give the same draws;
- ``pixel_moves`` (1D and 2D scale detection): the moved-pixel signals or images and their
  matched noise, drawn once when the probe set is made and stored in it (``probe["perturbed"]``).

``register(name, batches)`` adds one: ``batches(probe, images, batch_size)`` must yield the triples
above (tests/test_extension.py registers a toy one).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from spatialpool.perturbations.diffeo import coefficient_std, deform, matched_noise, rms_displacement
from spatialpool.registry import Registry
from spatialpool.runtime import pair_seeds, seed_words

Batches = Callable[[dict, torch.Tensor, int], Iterator[tuple[torch.Tensor, dict, dict]]]
PERTURBATIONS = Registry("perturbation")


def register(name: str, batches: Batches) -> Batches:
    return PERTURBATIONS.add(name, batches)


def unregister(name: str) -> None:
    PERTURBATIONS.pop(name)


def batches_of(probe: dict, images: torch.Tensor, batch_size: int):
    """The batches of the probe set's registered perturbation (KeyError naming the registered ones)."""
    return PERTURBATIONS.lookup(probe["perturbation"])(probe, images, batch_size)


def image_seed(seed: int, index: int) -> int:
    """Seed of probe image `index`'s draws: independent streams per (seed, image)."""
    return seed_words([seed, index], 1, np.uint64)[0] >> 1


def image_seeds(seed: int, first: int, count: int) -> list[int]:
    """image_seed(seed, i) for i in first .. first + count - 1 (runtime.pair_seeds: the same
    numbers, vectorised)."""
    if seed < 2 ** 32 and first + count <= 2 ** 32:
        return (pair_seeds(seed, np.arange(first, first + count)) >> np.uint64(1)).tolist()
    return [image_seed(seed, i) for i in range(first, first + count)]


def perturb(images: torch.Tensor, temp: float, cut: int = 3, draws: int = 1, seed: int = 0,
            first_index: int = 0, seeds: list[int] | None = None) -> dict[str, torch.Tensor]:
    """Deformed and norm-matched noisy versions of images [b, C, n, n] (image first_index + i).

    Returns deformed, noisy [b, draws, C, n, n] (float64, on the images' device),
    displacement [b, draws] (realised RMS displacement in pixels) and
    deformation_ratio [b, draws] (||tau x - x||^2 / ||x||^2). seeds: the images' image_seed,
    when the caller has them already (image_seeds for a whole probe set).
    """
    b = len(images)
    std = coefficient_std(cut, temp)
    coeffs, zs = [], []
    seeds = image_seeds(seed, first_index, b) if seeds is None else seeds
    gen = torch.Generator()
    for i in range(b):  # per-image streams: independent of how the probe set is batched
        gen.manual_seed(seeds[i])
        # sample_coefficients' draw, scaled below for the whole batch at once (the same numbers)
        coeffs.append(torch.randn((draws, 2, len(std)), generator=gen, dtype=torch.float64))
        zs.append(torch.randn((draws, *images.shape[1:]), generator=gen, dtype=torch.float64))
    clean = images.double().repeat_interleave(draws, 0)
    deformed, field = deform(clean, temp, cut, coeffs=torch.cat(coeffs) * std)
    noisy = clean + matched_noise(clean, deformed, z=torch.cat(zs))
    ratio = (deformed - clean).flatten(1).pow(2).sum(1) / clean.flatten(1).pow(2).sum(1)
    shape = (b, draws, *images.shape[1:])
    return dict(deformed=deformed.view(shape), noisy=noisy.view(shape),
                displacement=rms_displacement(field).view(b, draws), deformation_ratio=ratio.view(b, draws))


def _chunks(images, batch_size: int):
    if torch.is_tensor(images):
        for lo in range(0, len(images), batch_size):
            yield images[lo:lo + batch_size]
    else:  # any iterable of image batches, or of (images, labels) pairs
        for batch in images:
            yield batch[0] if isinstance(batch, (tuple, list)) else batch


def diffeo_batches(probe: dict, images, batch_size: int):
    """Diffeomorphisms at probe["temperature"] with cut-off probe["cut"], probe["draws"] per image,
    seeded by probe["seed"] and the image's index; images: [P, C, n, n] or an iterable of batches."""
    seen = 0
    # every image's seed at once when the number of images is known (one vectorised hash)
    seeds = image_seeds(probe["seed"], 0, len(images)) if torch.is_tensor(images) else None
    for x in _chunks(images, batch_size):
        p = perturb(x, probe["temperature"], probe["cut"], probe["draws"], probe["seed"], first_index=seen,
                    seeds=None if seeds is None else seeds[seen:seen + len(x)])
        seen += len(x)
        yield x, {"D": p["deformed"], "G": p["noisy"]}, {"displacement": p["displacement"],
                                                         "deformation_ratio": p["deformation_ratio"]}


def stored_batches(probe: dict, images: torch.Tensor, batch_size: int):
    """Every perturbation stored in the probe set, by name (probe["perturbed"]: {name: [P, R, ...]})."""
    for lo in range(0, len(images), batch_size):
        sl = slice(lo, lo + batch_size)
        realised = {k: probe[k][sl] for k in ("displacement", "deformation_ratio") if k in probe}
        yield images[sl], {name: v[sl] for name, v in probe["perturbed"].items()}, realised


register("diffeo", diffeo_batches)
register("pixel_moves", stored_batches)
