"""The swish experiment's theory: how the exact homogeneous-filter network's G_k grows with depth
as the activation goes from linear (swish at beta = 0) to ReLU (beta -> infinity), at every noise
magnitude (beyond the paper: its sec. 4.1 and conclusion conjecture it, untested).

The conjecture: a network with swish_beta(z) = z sigmoid(beta z) does not sense noise smaller
than the width Z_beta ~ 1/beta of swish's nearly linear region, and senses larger noise as a
ReLU network does. On the homogeneous network (no bias, all filters 1) the pre-activation of the
first layer carries the noise linearly in its magnitude m (relative to ||tau x - x||), so the
crossover magnitude should scale as m* ~ 1/beta.

- `exponents`: per activation, noise kind (plain: zero-mean, rect: rectified) and magnitude, the
  exponent of G_k against the theory's receptive field A_k over a window of layers (least squares
  in log-log; the experiment's fit window of G);
- `crossovers`: per swish beta and noise kind, m*: the magnitude where the exponent has risen half
  way from its value at the smallest magnitude to the ReLU network's at that magnitude
  (log-linear interpolation between the sampled magnitudes; nan if it never does);
- `crossover_slope`: the slope of log m* against log beta (the scaling argument predicts -1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from spatialpool.measurement.noise_magnitude import log_slope

NOISES = {"plain": "G_plain", "rect": "G_rect"}


def exponents(sweeps: pd.DataFrame, receptive_field, window: tuple[int, int]) -> pd.DataFrame:
    """sweeps: noise_sweep tables stacked with an `activation` column (and `beta`: nan for non-swish);
    receptive_field: A_k for k = 1..K; window: [k_lo, k_hi] (1-based, inclusive).
    Columns: activation, beta, noise, magnitude, exponent, k_lo, k_hi."""
    lo, hi = window
    a = np.asarray(receptive_field, float)
    rows = []
    for (act, m), t in sweeps.groupby(["activation", "magnitude"], sort=False):
        t = t.set_index("k").loc[lo:hi]
        for noise, column in NOISES.items():
            rows.append(dict(activation=act, beta=t.beta.iloc[0], noise=noise, magnitude=m,
                             exponent=log_slope(a[t.index - 1], t[column]), k_lo=lo, k_hi=hi))
    return pd.DataFrame(rows)


def crossovers(table: pd.DataFrame, reference: str = "relu") -> pd.DataFrame:
    """m* per swish beta and noise kind (module docstring). Columns: beta, noise, m_star, e_small,
    e_reference (the ReLU exponent at m*, interpolated)."""
    rows = []
    for noise, t in table.groupby("noise"):
        ref = t[t.activation == reference].set_index("magnitude").exponent.sort_index()
        for beta, s in t[t.beta.notna()].groupby("beta"):
            e = s.set_index("magnitude").exponent.sort_index()
            mags = e.index.to_numpy(float)
            target = (e.iloc[0] + ref.reindex(mags).to_numpy()) / 2
            gap = e.to_numpy() - target
            m_star, e_ref = np.nan, np.nan
            for i in range(1, len(mags)):
                if gap[i - 1] < 0 <= gap[i]:
                    w = -gap[i - 1] / (gap[i] - gap[i - 1])
                    m_star = float(np.exp((1 - w) * np.log(mags[i - 1]) + w * np.log(mags[i])))
                    e_ref = float((1 - w) * ref.iloc[i - 1] + w * ref.iloc[i]) if len(ref) == len(mags) else np.nan
                    break
            rows.append(dict(beta=float(beta), noise=noise, m_star=m_star, e_small=float(e.iloc[0]), e_reference=e_ref))
    return pd.DataFrame(rows)


def crossover_slope(cross: pd.DataFrame, noise: str = "plain", min_beta: float = 0.0) -> float:
    """Slope of log m* against log beta over the betas >= min_beta with a crossover (nan if < 2)."""
    c = cross[(cross.noise == noise) & (cross.beta >= min_beta)]
    return log_slope(c.beta, c.m_star)


def homogeneous_theory(net: dict, length: int, probe: dict, betas, magnitudes, window, batch_size: int = 50,
                       log=print) -> dict[str, pd.DataFrame]:
    """The theory of the swish experiment on one probe set (module docstring): noise_sweep of the
    homogeneous-filter network (net: depth, filter_size, stride) with linear, swish at every beta
    and ReLU activations. Returns {"sweep": every layer's D, G_plain, G_rect at every
    magnitude with A_k, "exponents", "crossovers"}."""
    from spatialpool.measurement.noise_magnitude import noise_sweep
    from spatialpool.measurement.receptive_field import theory_receptive_field
    from spatialpool.models.simple_cnn import homogeneous, swish_beta

    a = theory_receptive_field(net["depth"], net["filter_size"], net["stride"], length)
    acts = ["linear"] + [f"swish:{b:g}" for b in betas] + ["relu"]
    sweeps = []
    for act in acts:
        hom = homogeneous(net["depth"], net["filter_size"], net["stride"], act)
        t = noise_sweep(hom.hidden, probe, magnitudes, batch_size)
        beta = swish_beta(act)
        t.insert(0, "activation", act)
        t.insert(1, "beta", np.nan if beta is None else beta)
        t["A_theory"] = a[t.k.to_numpy() - 1]
        sweeps.append(t)
        log(f"{act}: done")
    sweep = pd.concat(sweeps, ignore_index=True)
    table = exponents(sweep, a, tuple(window))
    return dict(sweep=sweep, exponents=table, crossovers=crossovers(table))
