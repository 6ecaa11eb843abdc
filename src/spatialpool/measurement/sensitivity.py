"""Layer-wise sensitivities D_k, G_k, R_k (paper eq. 1, README, 'Definitions the paper leaves open').

For a representation f (flattened over channels and positions) and probe images x_i:

    N(x~)  = mean_{i, r} ||f(x~_{i,r}) - f(x_i)||^2        (r: perturbation draws per image)
    Delta  = mean_{i, j} ||f(x_i) - f(x_j)||^2 = 2 * sum_features Var_i f(x_i)
    D = N(tau x) / Delta,  G = N(x + eta) / Delta,  R = D / G.

Delta includes the i = j zeros, as the authors do (the i != j mean is P/(P-1) larger; R does
not depend on it). All sums are accumulated in float64 over mini-batches of probe images,
so no P x P matrix and no all-probe activation tensor is ever held. The one estimator that does
so, for the 1D nets and the image nets alike, is estimator.measure_batches /
measure_representations; this module holds the definitions they share.

Noise is matched per image and draw: ||eta_{i,r}|| = ||tau_r x_i - x_i||. The 'rectified'
noise of sec. 4.3 is relu(eta) of that matched eta (so its norm is about 1/sqrt(2) of it).

Where the probe images' representations do not differ (a dead net, a layer after one), D, G and R
are undefined and reported as NaN. Whether they differ is decided by `delta_is_undefined`,
relative to the scale of the features, and is shared with image_sensitivity.py.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

Representations = Callable[[torch.Tensor], Sequence[torch.Tensor]]

EPS = float(np.finfo(np.float64).eps)  # 2**-52, the spacing of float64 numbers near 1


def delta_is_undefined(delta, mean_square, count) -> np.ndarray:
    """Where Delta cannot be told apart from round-off, so that D, G and R are undefined (NaN).

    delta: [K] Delta = 2 * (sum over features of the population variance over probe images);
    mean_square: [K] sum over features of the mean over probe images of f^2 (the features' own
        scale; the same squared units as delta);
    count: number of probe images the sums were accumulated over (>= 1), an int or [K] ints.
    Returns a bool array [K]: True where delta <= count * EPS * mean_square, or delta is NaN.

    Why this threshold: a representation that is the same for every probe image (a dead net)
    has Delta = 0 only in exact arithmetic; accumulated in floating point it leaves round-off
    of any sign and of a size set by the features' magnitude, not by zero. The classical
    bound on the round-off of a variance accumulated over n samples in one pass
    (Chan, Golub & LeVeque 1983, textbook algorithm) is n * u * mean(f^2) per feature, with
    u = EPS / 2; in Delta's units (2 * variance, summed over features) that is
    n * EPS * mean_square. Both estimators here are more accurate than that one-pass bound
    (shifted sums, Chan's pairwise update), so their round-off is well inside it. A Delta
    below it corresponds to a relative spread of the features below sqrt(n * EPS / 2)
    (1.1e-7 for 100 probe images, 2.4e-7 for 500), i.e. one or two float32 units in the last
    place: representations computed in float32 cannot resolve such differences, so nothing
    measurable is declared undefined. An exactly zero Delta (mean_square = 0 too, e.g. a
    ReLU that is off for every image) is undefined as well, since the comparison is <=.

    Raises ValueError if a count is below 1.
    """
    count = np.asarray(count, dtype=np.float64)
    if np.any(count < 1):
        raise ValueError(f"count must be >= 1, got {count}")
    delta = np.asarray(delta, dtype=np.float64)
    tolerance = count * EPS * np.asarray(mean_square, dtype=np.float64)
    return ~(delta > tolerance)  # NaN compares False: undefined


def divide_by_delta(numerator, delta, undefined) -> np.ndarray:
    """numerator / delta [K], NaN where `undefined` [K] (from delta_is_undefined) is True."""
    numerator = np.asarray(numerator, dtype=np.float64)
    return np.divide(numerator, delta, out=np.full_like(numerator, np.nan), where=~undefined)


def matched_noise(clean: np.ndarray, deformed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with the norm of each (image, draw) deformation: eta [P, R, ...]."""
    diff = deformed - clean[:, None]
    norms = np.sqrt((diff ** 2).reshape(*diff.shape[:2], -1).sum(-1))
    z = rng.standard_normal(diff.shape)
    z_norm = np.sqrt((z ** 2).reshape(*z.shape[:2], -1).sum(-1))
    scale = norms / z_norm
    return z * scale.reshape(*scale.shape, *([1] * (z.ndim - 2)))
