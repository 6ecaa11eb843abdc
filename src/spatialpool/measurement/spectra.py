"""Filter spectra of image models, per conv layer (paper eq. 3, eq. B.1, figs 4, C5-C7).

The maths lives in filters.py (grid-Laplacian eigenvectors, powers summed within each degenerate
eigenvalue, the fig. C5 aggregate); this module walks a model's Conv2d layers and tabulates:

    gamma  (eq. 3)  = mean over (c, c') of (Psi_l . w_cc')^2, summed over Psi_l of one eigenvalue;
    share  (eq. B.1) = gamma / mean over (c, c') of ||w_cc'||^2  (sums to 1 over eigenvalues);
    per_mode = share / multiplicity: 1 / F^2 for every eigenvalue when filters are i.i.d. (flat);
    aggregate (fig. C5) = N sum_l lambda_l share_l / sum_l lambda_l: 1 for i.i.d., 0 for constant.

A trained net is compared with its initialisation by tabulating both with a `state` column.
"""
from __future__ import annotations

import pandas as pd
from torch import nn

from spatialpool.measurement.filters import aggregate_frequency, spectrum


def conv_weights(model: nn.Module, min_size: int = 2) -> list[tuple[str, object]]:
    """(name, weight [out, in, kh, kw]) of every Conv2d whose kernel is at least min_size on both sides.

    1x1 convs (ResNet shortcuts, bottleneck and pointwise layers) have a single mode and are skipped
    by default; non-square kernels are analysed on their own kh x kw grid.
    """
    return [(name, m.weight.detach()) for name, m in model.named_modules()
            if isinstance(m, nn.Conv2d) and min(m.kernel_size) >= min_size]


def layer_spectra(model: nn.Module, state: str, min_size: int = 2) -> pd.DataFrame:
    """Long table: k (1-based conv index), layer, kernel, state, mode, eigenvalue, multiplicity,
    gamma (eq. 3), share (eq. B.1) and per_mode, one row per (layer, distinct eigenvalue)."""
    frames = []
    for k, (name, w) in enumerate(conv_weights(model, min_size), start=1):
        table = spectrum(w, normalise=True).rename(columns={"power": "share"})
        table["gamma"] = spectrum(w, normalise=False).power
        table["per_mode"] = table.share / table.multiplicity
        frames.append(table.assign(k=k, layer=name, kernel="x".join(map(str, w.shape[2:])), state=state))
    columns = ["k", "layer", "kernel", "state", "mode", "eigenvalue", "multiplicity", "gamma", "share", "per_mode"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def layer_aggregates(model: nn.Module, state: str, min_size: int = 2) -> pd.DataFrame:
    """Fig. C5: one row per conv layer: k, layer, kernel, state, aggregate_frequency (low-frequency -> 0)."""
    rows = [dict(k=k, layer=name, kernel="x".join(map(str, w.shape[2:])), state=state,
                 aggregate_frequency=aggregate_frequency(w))
            for k, (name, w) in enumerate(conv_weights(model, min_size), start=1)]
    return pd.DataFrame(rows, columns=["k", "layer", "kernel", "state", "aggregate_frequency"])


def compare(models: dict[str, nn.Module], min_size: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spectra and aggregates of several states of one net, e.g. {'init': net0, 'best': net}."""
    spectra = pd.concat([layer_spectra(m, s, min_size) for s, m in models.items()], ignore_index=True)
    aggregates = pd.concat([layer_aggregates(m, s, min_size) for s, m in models.items()], ignore_index=True)
    return spectra, aggregates
