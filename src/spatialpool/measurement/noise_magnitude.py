"""G_k against the magnitude of the noise: the measurement behind the swish experiment (the paper's
sec. 4.1 and conclusion: a network should not sense noise smaller than the width of its
activation's nearly linear region, and should sense larger noise as a ReLU network does).

The 1D probe sets (perturbations/probes.make_probe_set) store eta, Gaussian noise with
||eta|| = ||tau x - x|| per image and draw. At magnitude m the noisy inputs are x + m eta
(zero-mean noise, G_plain) and x + m max(eta, 0) (rectified noise, G_rect); m = 1 is the probe
set's own G. D_k does not depend on m. Everything else (Delta, the estimator, undefined layers)
is measurement/scale_detection.representation_table's.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from spatialpool.measurement.scale_detection import representation_table


def scaled_probe(probe: dict, magnitude: float) -> dict:
    """The probe set with its noise multiplied by `magnitude` (> 0); D's deformations unchanged.
    KeyError if the probe set stores no eta (only the 1D probe sets do)."""
    if not magnitude > 0:
        raise ValueError(f"noise magnitude must be > 0, got {magnitude}")
    x = torch.as_tensor(probe["x"], dtype=torch.float64)[:, None]
    eta = torch.as_tensor(probe["eta"], dtype=torch.float64) * magnitude
    perturbed = {"D": probe["perturbed"]["D"], "G_plain": x + eta, "G_rect": x + eta.clamp_min(0)}
    return {**probe, "perturbed": perturbed}


def noise_sweep(represent: Callable, probe: dict, magnitudes: Sequence[float], batch_size: int) -> pd.DataFrame:
    """representation_table at every noise magnitude: columns magnitude, k, delta, D, G_plain,
    G_rect, R_plain, R_rect, defined (one row per magnitude and layer)."""
    tables = []
    for m in magnitudes:
        t = representation_table(represent, scaled_probe(probe, float(m)), batch_size)
        t.insert(0, "magnitude", float(m))
        tables.append(t)
    return pd.concat(tables, ignore_index=True)


def log_slope(x, y) -> float:
    """Least-squares slope of log y against log x over the finite positive points (nan if < 2)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])
