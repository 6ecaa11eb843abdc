"""Sensitivities of a trained net's states (init, t*, final, mean-channel) on a probe set."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from .probes import perturbations
from .receptive_field import theory_receptive_field
from .sensitivity import sensitivities
from .simple_cnn import SimpleCNN, from_state, homogeneous, mean_channel


def sensitivity_table(net: SimpleCNN, probe: dict, batch_size: int) -> pd.DataFrame:
    pert = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in perturbations(probe).items()}
    out = sensitivities(net.hidden, torch.as_tensor(probe["clean"], dtype=torch.float64), pert, batch_size)
    table = pd.DataFrame({"k": np.arange(1, len(out["delta"]) + 1), "delta": out["delta"],
                          "D": out["D"], "G_plain": out["G_plain"], "G_rect": out["G_rect"]})
    table["R_plain"] = table.D / table.G_plain
    table["R_rect"] = table.D / table.G_rect
    return table


def measure_states(ckpt: dict, probe: dict, batch_size: int, log=print) -> pd.DataFrame:
    nets = {"init": from_state(ckpt["arch"], ckpt["init"])}
    if ckpt["t_star"] is not None:
        nets["t_star"] = from_state(ckpt["arch"], ckpt["t_star"])
    nets["final"] = from_state(ckpt["arch"], ckpt["final"])
    nets["mean_channel"] = mean_channel(nets["final"])
    tables = []
    for state, net in nets.items():
        start = time.perf_counter()
        t = sensitivity_table(net, probe, batch_size)
        t.insert(0, "state", state)
        tables.append(t)
        log(f"{state}: {time.perf_counter() - start:.1f} s\n{t.to_string(index=False)}")
    return pd.concat(tables, ignore_index=True)


def theory_table(net: dict, activation: str, length: int, probe: dict, batch_size: int) -> pd.DataFrame:
    """The homogeneous-filter solution on the same probe set: finite-size theory curves, A_k."""
    hom = homogeneous(net["depth"], net["filter_size"], net["stride"], activation)
    table = sensitivity_table(hom, probe, batch_size)
    table.insert(1, "A_theory", theory_receptive_field(net["depth"], net["filter_size"], net["stride"], length))
    return table
