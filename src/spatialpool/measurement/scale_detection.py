"""Sensitivities of a trained net's states on a probe set.

States (the `state` column of the per-seed sensitivity table):

- init, t_star, final: the net at initialisation, at t* (when recorded) and after training;
  the representation of layer k is h_k(x), [H, L_k].
- channel_mean, operation (a), the authors' measurement: the layer-k representation of the
  TRAINED net averaged over the channel axis, f_k^mean(x) = (1/H) sum_c h_k(x)_c, [1, L_k]
  (channel_mean_hidden). The net itself is not changed: every layer still sees all H trained
  channels of the layer below.
- mean_channel, operation (b), the ablation: the net with every layer's filters and biases
  replaced by their mean (simple_cnn.mean_channel); its channels are identical, and its
  representation h_k^(b)(x) is measured as it is.

- init_channel_mean, init_mean_channel: the same two operations on the net at initialisation
  (a control: what averaging channels, or filters, does to a net that has learnt nothing).

Every state is measured with the one streaming estimator of the workflow
(estimator.measure_representations, the image nets' too) on the same probe images and
perturbations. A state's sensitivity at layer k is *defined* when its representation
differs between probe images beyond round-off (Delta_k above the estimator's threshold,
sensitivity.delta_is_undefined, relative to the features' mean square); where it does not, the
representation is the same for every probe input ("dead": exactly, as a ReLU layer that is off
everywhere, or to float64 resolution, as a tanh mean-filter net contracted onto its fixed point),
and D_k, G_k, R_k are undefined: the table says defined = False and holds NaN for them, never 0
or inf.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd
import torch

from spatialpool.measurement.receptive_field import theory_receptive_field
from spatialpool.measurement.estimator import measure_representations
from spatialpool.measurement.sensitivity import Representations
from spatialpool.models.registry import spec
from spatialpool.models.simple_cnn import SimpleCNN, from_state, homogeneous, mean_channel

MEASURE_COLUMNS = ["D", "G_plain", "G_rect", "R_plain", "R_rect"]


def channel_mean_hidden(net: SimpleCNN) -> Representations:
    """Operation (a): x -> [f_1^mean(x), ..., f_K^mean(x)], f_k^mean = channel mean of h_k, [B, 1, L_k]."""
    def represent(x: torch.Tensor) -> list[torch.Tensor]:
        return [h.mean(1, keepdim=True) for h in net.hidden(x)]
    return represent


def representation_table(represent: Representations, probe: dict, batch_size: int) -> pd.DataFrame:
    """Columns k, delta, D, G_plain, G_rect, R_plain, R_rect, defined for the layers of `represent`."""
    clean = torch.as_tensor(probe["x"], dtype=torch.float64)
    pert = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in probe["perturbed"].items()}
    out = measure_representations(represent, clean, pert, batch_size)
    # the estimator's own rule (NaN where Delta is round-off), made explicit as a column
    defined = ~out["undefined"] & np.isfinite(out["D"]) & np.isfinite(out["G_plain"]) & np.isfinite(out["G_rect"])
    table = pd.DataFrame({"k": np.arange(1, len(out["delta"]) + 1), "delta": out["delta"],
                          "D": out["D"], "G_plain": out["G_plain"], "G_rect": out["G_rect"]})
    table["R_plain"] = table.D / table.G_plain
    table["R_rect"] = table.D / table.G_rect
    table.loc[~defined, MEASURE_COLUMNS] = np.nan  # undefined, not 0 or inf
    table["defined"] = defined
    return table


def sensitivity_table(net: SimpleCNN, probe: dict, batch_size: int) -> pd.DataFrame:
    """representation_table of the net's own hidden representations h_1 ... h_K."""
    return representation_table(net.hidden, probe, batch_size)


def state_representations(ckpt: dict) -> dict[str, Callable]:
    """state -> represent(x) for every measured state of one seed's checkpoint record
    (training.checkpoints.load_checkpoint; see the module doc)."""
    if spec(ckpt["arch"]["name"]).points != "hidden":
        raise ValueError(f"{ckpt['arch']['name']}: its measurement points are not the net's hidden representations")
    nets = {state: from_state(ckpt["arch"], weights) for state, weights in ckpt["states"].items()
            if weights is not None}  # t_star is None for a seed that never interpolated
    reps = {state: net.hidden for state, net in nets.items()}
    reps["channel_mean"] = channel_mean_hidden(nets["final"])  # (a)
    reps["mean_channel"] = mean_channel(nets["final"]).hidden  # (b)
    reps["init_channel_mean"] = channel_mean_hidden(nets["init"])  # controls
    reps["init_mean_channel"] = mean_channel(nets["init"]).hidden
    return reps


def measure_states(ckpt: dict, probe: dict, batch_size: int, log=print) -> pd.DataFrame:
    tables = []
    for state, represent in state_representations(ckpt).items():
        start = time.perf_counter()
        t = representation_table(represent, probe, batch_size)
        t.insert(0, "state", state)
        tables.append(t)
        n_undef = int((~t.defined).sum())
        note = f"; undefined (representation identical for every probe input) at k = {list(t.k[~t.defined])}" \
            if n_undef else ""
        log(f"{state}: {time.perf_counter() - start:.1f} s{note}\n{t.to_string(index=False)}")
    return pd.concat(tables, ignore_index=True)


def theory_table(net: dict, activation: str, length: int, probe: dict, batch_size: int) -> pd.DataFrame:
    """The homogeneous-filter solution on the same probe set: finite-size theory curves, A_k."""
    hom = homogeneous(net["depth"], net["filter_size"], net["stride"], activation)
    table = sensitivity_table(hom, probe, batch_size)
    table.insert(1, "A_theory", theory_receptive_field(net["depth"], net["filter_size"], net["stride"], length))
    return table
