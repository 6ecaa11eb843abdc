"""The training trajectory of image nets, summarised (README, 'Real images: the trajectory').

The paper measures nets after 250 epochs and states that the correlation between test error and
R_f is learned, not present at initialisation (sec. 2). The trajectory table
(measurement.images.measure_trajectory) holds every point's D_k, G_k, R_k at init and after the
recorded epochs; this module reduces it to what the claim is about: per architecture and epoch,
the seed means of the test error and of the output's D_f, G_f, R_f, and R_f / R_f(init).
"""
from __future__ import annotations

import pandas as pd

COLUMNS = ["arch", "noise", "epoch", "seeds", "test_error", "D_f", "G_f", "R_f", "R_f_over_init", "data"]


def trajectory_summary(layers: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, noise, epoch): `seeds` (count) and seed means of test_error, D_f, G_f, R_f and of
    R_f / R_f(init), the ratio formed per seed (as ratios are formed per run in the paper) before
    averaging. layers: the long trajectory table (columns arch, noise, seed, epoch, name, D, G, R,
    test_error, data). Raises KeyError if a seed has no init (epoch 0) row for its output."""
    out = layers[layers.name == "output"].copy()
    init = out[out.epoch == 0].set_index(["arch", "noise", "seed"]).R
    out["R_f_over_init"] = [r / init.loc[(a, n, s)] for a, n, s, r in zip(out.arch, out.noise, out.seed, out.R)]
    summary = (out.rename(columns={"D": "D_f", "G": "G_f", "R": "R_f"})
               .groupby(["arch", "noise", "epoch"], sort=False)
               .agg(seeds=("seed", "nunique"), test_error=("test_error", "mean"), D_f=("D_f", "mean"),
                    G_f=("G_f", "mean"), R_f=("R_f", "mean"), R_f_over_init=("R_f_over_init", "mean"),
                    data=("data", "first"))
               .reset_index())
    return summary[COLUMNS].sort_values(["arch", "noise", "epoch"], kind="stable").reset_index(drop=True)
