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
    """sweeps: noise_sweep tables stacked with an `activation` column (and `beta`: nan for non-swish;
    `seed` for trained nets: one exponent per net); receptive_field: A_k for k = 1..K; window:
    [k_lo, k_hi] (1-based, inclusive).
    Columns: activation, beta, (seed,) noise, magnitude, exponent, k_lo, k_hi."""
    lo, hi = window
    a = np.asarray(receptive_field, float)
    keys = ["activation", "seed", "magnitude"] if "seed" in sweeps else ["activation", "magnitude"]
    rows = []
    for key, t in sweeps.groupby(keys, sort=False):
        t = t.set_index("k").loc[lo:hi]
        ids = dict(zip(keys, key))
        for noise, column in NOISES.items():
            rows.append(dict(activation=ids["activation"], beta=t.beta.iloc[0],
                             **({"seed": int(ids["seed"])} if "seed" in ids else {}), noise=noise,
                             magnitude=ids["magnitude"], exponent=log_slope(a[t.index - 1], t[column]),
                             k_lo=lo, k_hi=hi))
    seed = ["seed"] if "seed" in sweeps else []
    return _typed(pd.DataFrame(rows, columns=["activation", "beta", *seed, "noise", "magnitude", "exponent", "k_lo",
                                              "k_hi"]))


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """An empty table's columns as the filled one's (numbers float, names str), so that numpy
    functions and merges work on it too."""
    if len(table):
        return table
    return table.astype({c: (str if c in ("activation", "noise") else float) for c in table.columns})


def crossovers(table: pd.DataFrame, reference: str = "relu") -> pd.DataFrame:
    """m* per swish beta (and per seed, for trained nets) and noise kind (module docstring); the
    reference curve is the `reference` activation's exponent per magnitude (its mean over seeds
    for trained nets). Columns: beta, (seed,) noise, m_star, e_small, e_reference (the reference
    exponent at m*, interpolated)."""
    per_net = "seed" in table
    rows = []
    for noise, t in table.groupby("noise"):
        ref = t[t.activation == reference].groupby("magnitude").exponent.mean().sort_index()
        swish = t[t.beta.notna()]
        for key, s in swish.groupby(["beta", "seed"] if per_net else ["beta"]):
            e = s.set_index("magnitude").exponent.sort_index()
            mags = e.index.to_numpy(float)
            r = ref.reindex(mags).to_numpy()
            target = (e.iloc[0] + r) / 2
            gap = e.to_numpy() - target
            m_star, e_ref = np.nan, np.nan
            for i in range(1, len(mags)):
                if gap[i - 1] < 0 <= gap[i]:
                    w = -gap[i - 1] / (gap[i] - gap[i - 1])
                    m_star = float(np.exp((1 - w) * np.log(mags[i - 1]) + w * np.log(mags[i])))
                    e_ref = float((1 - w) * r[i - 1] + w * r[i])
                    break
            ids = dict(beta=float(key[0]), **({"seed": int(key[1])} if per_net else {}))
            rows.append(dict(**ids, noise=noise, m_star=m_star, e_small=float(e.iloc[0]), e_reference=e_ref))
    return _typed(pd.DataFrame(rows, columns=["beta", *(["seed"] if per_net else []), "noise", "m_star", "e_small",
                                              "e_reference"]))


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


def trained_sweep(ckpt: dict, probe: dict, magnitudes, receptive_field, batch_size: int = 50,
                  state: str = "final") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed's trained net (training.checkpoints.load_checkpoint record) on the experiment's probe set.

    Returns (sweep, filters): sweep is noise_sweep of the net's hidden representations in `state`
    at every magnitude, with columns activation, beta (nan unless swish), seed and A_theory
    (receptive_field: A_k for k = 1..K); filters is the homogeneity of the channel-averaged filter
    per layer in `state` and at initialisation (measurement/filters.mean_filter_table: 1 for a
    homogeneous filter, 1/F on average for i.i.d. ones), the check that training reached the
    spatial-pooling solution. ValueError if the record has no such state (a seed that never trained)."""
    from spatialpool.measurement.filters import mean_filter_table
    from spatialpool.measurement.noise_magnitude import noise_sweep
    from spatialpool.models.simple_cnn import from_state, swish_beta

    if ckpt["states"].get(state) is None:
        raise ValueError(f"seed {ckpt.get('seed')}: no '{state}' state in its checkpoint record")
    net = from_state(ckpt["arch"], ckpt["states"][state])
    sweep = noise_sweep(net.hidden, probe, magnitudes, batch_size)
    beta = swish_beta(net.activation)
    sweep.insert(0, "activation", net.activation)
    sweep.insert(1, "beta", np.nan if beta is None else beta)
    sweep.insert(2, "seed", int(ckpt["seed"]))
    sweep["A_theory"] = np.asarray(receptive_field, float)[sweep.k.to_numpy() - 1]
    init = from_state(ckpt["arch"], ckpt["states"]["init"])
    filters = [mean_filter_table([p.detach().numpy() for p in n.weights], name)[["k", "state", "homogeneity"]]
               for name, n in ((state, net), ("init", init))]
    filters = pd.concat(filters, ignore_index=True).assign(activation=net.activation, seed=int(ckpt["seed"]))
    return sweep, filters


def trained_tables(sweeps: pd.DataFrame, receptive_field, window, selection: pd.DataFrame,
                   level: float = 0.95) -> dict[str, pd.DataFrame]:
    """The trained nets' side of the experiment, from their stacked trained_sweep tables.

    sweeps: the nets to measure; selection: select_checkpoints' tables stacked with `activation` and
    `beta` columns (test_error and interpolated per seed; every seed, measured or not).
    Returns {"exponents": one per net, noise and magnitude (exponents()); "crossovers": m* per
    net (crossovers() against the trained ReLU nets' mean); "summary": per activation, noise and
    magnitude the mean exponent over seeds with its t-interval; "accuracy": per activation the
    test accuracy (1 - test error of the selected checkpoint) over seeds, mean and t-interval}."""
    from spatialpool.analysis.fits import t_interval

    table = exponents(sweeps, receptive_field, tuple(window))
    rows = []
    for (act, noise, m), g in table.groupby(["activation", "noise", "magnitude"], sort=False):
        mean, lo, hi, sd, n = t_interval(g.exponent, level)
        rows.append(dict(activation=act, beta=g.beta.iloc[0], noise=noise, magnitude=m, exponent=mean,
                         ci_low=lo, ci_high=hi, sd=sd, n_seeds=n))
    acc = []
    for act, g in selection.groupby("activation", sort=False):
        mean, lo, hi, sd, n = t_interval(1 - g.test_error.to_numpy(float), level)
        lo, hi = max(lo, 0.0), min(hi, 1.0)  # an accuracy's t-interval can reach past [0, 1]: clipped (nan stays)
        acc.append(dict(activation=act, beta=g.beta.iloc[0], test_accuracy=mean, ci_low=lo, ci_high=hi, n_seeds=n,
                        n_interpolating=int(g.interpolated.sum()) if "interpolated" in g else n,
                        per_seed=", ".join(f"{v:.3f}" for v in 1 - g.test_error.to_numpy(float))))
    summary = _typed(pd.DataFrame(rows, columns=["activation", "beta", "noise", "magnitude", "exponent", "ci_low",
                                                 "ci_high", "sd", "n_seeds"]))
    return dict(exponents=table, crossovers=crossovers(table), summary=summary, accuracy=pd.DataFrame(acc))
