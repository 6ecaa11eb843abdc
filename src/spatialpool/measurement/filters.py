"""Frequency content of conv filters (Tomasini et al. 2023, eq. 3, eq. B.1, fig. C5, tables C2/C3).

Filters are projected on the eigenvectors Psi_l of the Laplacian of the filter grid (taps are
nodes, horizontal/vertical neighbours are linked, free boundary). The grid Laplacian has
degenerate eigenvalues (3x3: 0,1,1,2,3,3,4,4,6), and within a degenerate eigenspace the choice
of eigenvectors is arbitrary, so powers are always summed over each distinct eigenvalue.

Weights are [C_out, C_in, F] or [C_out, C_in, F, F], numpy or torch; all maths is in float64.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import pandas as pd

GROUP_TOL = 1e-9


def _as_array(weight) -> np.ndarray:
    if hasattr(weight, "detach"):
        weight = weight.detach().cpu().numpy()
    return np.asarray(weight, dtype=np.float64)


def _path_laplacian(n: int) -> np.ndarray:
    adjacency = np.eye(n, k=1) + np.eye(n, k=-1)
    return np.diag(adjacency.sum(1)) - adjacency


@lru_cache(maxsize=None)
def _eigen_cached(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    if len(shape) not in (1, 2):
        raise ValueError(f"filter shape must be (F,) or (F1, F2), got {shape}")
    lap = _path_laplacian(shape[0])
    if len(shape) == 2:
        # Kronecker sum: the grid graph is the Cartesian product of two paths, and the row-major
        # ordering matches weight.reshape(-1)
        lap = np.kron(lap, np.eye(shape[1])) + np.kron(np.eye(shape[0]), _path_laplacian(shape[1]))
    values, vectors = np.linalg.eigh(lap)
    vectors = vectors.T
    # eigh's signs are arbitrary; pin them (first non-negligible entry positive) so the
    # constant mode is +1/sqrt(N) and results are reproducible across LAPACK builds
    first = np.argmax(np.abs(vectors) > 1e-9, axis=1)
    vectors *= np.sign(vectors[np.arange(len(values)), first])[:, None]
    values[np.abs(values) < GROUP_TOL] = 0.0
    values.flags.writeable = vectors.flags.writeable = False
    return values, vectors


def laplacian_eigen(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues [N] ascending and orthonormal eigenvectors as rows [N, N] of the grid Laplacian."""
    values, vectors = _eigen_cached(tuple(int(s) for s in shape))
    return values.copy(), vectors.copy()


def eigenvalue_groups(eigenvalues) -> list[np.ndarray]:
    """Index arrays, one per distinct eigenvalue (equal within GROUP_TOL), low to high."""
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    order = np.argsort(eigenvalues, kind="stable")
    breaks = np.flatnonzero(np.diff(eigenvalues[order]) > GROUP_TOL) + 1
    return np.split(order, breaks)


def _flat_filters(weight) -> tuple[np.ndarray, tuple[int, ...]]:
    w = _as_array(weight)
    if w.ndim not in (3, 4):
        raise ValueError(f"weight must be [C_out, C_in, F] or [C_out, C_in, F, F], got {w.shape}")
    shape = w.shape[2:]
    return w.reshape(-1, int(np.prod(shape))), shape


def _mode_powers(weight, normalise: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-eigenvector power (eq. B.1 if normalise else eq. 3) and the eigenvalues."""
    w, shape = _flat_filters(weight)
    values, vectors = _eigen_cached(shape)
    # eq. 3's 1/(H_{k-1} H_k) sum over (c, c') is the channel mean
    power = ((w @ vectors.T) ** 2).mean(0)
    if normalise:
        power = power / (w ** 2).sum(1).mean()
    return power, values


def spectrum(weight, normalise: bool = True) -> pd.DataFrame:
    """One row per distinct eigenvalue: mode, eigenvalue, multiplicity, power (summed in group)."""
    power, values = _mode_powers(weight, normalise)
    groups = eigenvalue_groups(values)
    return pd.DataFrame({
        "mode": np.arange(len(groups)),
        "eigenvalue": [values[g].mean() for g in groups],
        "multiplicity": [len(g) for g in groups],
        "power": [power[g].sum() for g in groups],
    })


def aggregate_frequency(weight) -> float:
    """Fig. C5: N sum_l lambda_l gamma~_l / sum_l lambda_l; 1 for i.i.d. filters, 0 for constant ones."""
    power, values = _mode_powers(weight, normalise=True)
    return float(len(values) * (values @ power) / values.sum())


def mean_filter(weight) -> np.ndarray:
    """Filter averaged over output and input channels, shape (F,) or (F, F)."""
    return _as_array(weight).mean(axis=(0, 1))


def homogeneity(filt) -> float:
    """Constant-mode share (sum w)^2 / (N sum w^2) of one filter; nan if the filter is all zero."""
    w = _as_array(filt).ravel()
    norm2 = float(w @ w)
    if norm2 == 0.0:
        return float("nan")
    return float(w.sum() ** 2 / (w.size * norm2))


def mean_filter_share(weight) -> float:
    """||mean filter|| / rms filter norm of one layer's weights [C_out, C_in, F(, F)]: how much of
    the filters the channel-averaged filter (the one the mean channel convolves with, paper
    sec. 4.2) carries. 1 when every filter is the same, 0 when the filters cancel, about
    1 / sqrt(C_out C_in) for independent zero-mean filters (a random initialisation); the norm of
    the sum of N filters over the norm of their root-mean-square, so it is scale-free. nan for
    all-zero weights."""
    w = _as_array(weight)
    rms = np.sqrt(np.sum(w ** 2) / (w.shape[0] * w.shape[1]))  # root of the mean squared filter norm
    if rms == 0.0:
        return float("nan")
    return float(np.linalg.norm(mean_filter(w)) / rms)


def mean_filter_table(weights: Sequence, state: str) -> pd.DataFrame:
    """Per layer k (1-based): the channel-averaged filter, its taps as columns, its homogeneity
    and its share of the filters (mean_share, mean_filter_share).

    Tap columns are w0..w{F-1} for 1D filters and w{i}_{j} (row i, column j) for 2D ones.
    """
    rows = []
    for k, weight in enumerate(weights, start=1):
        filt = mean_filter(weight)
        taps = {f"w{i}": v for i, v in enumerate(filt)} if filt.ndim == 1 else \
            {f"w{i}_{j}": v for (i, j), v in np.ndenumerate(filt)}
        rows.append({"k": k, "state": state, "filter": filt.tolist(), **taps,
                     "homogeneity": homogeneity(filt), "mean_share": mean_filter_share(weight)})
    return pd.DataFrame(rows)


def spectra_table(weights: Sequence, state: str) -> pd.DataFrame:
    """Long table of B.1-normalised grouped spectra: k, state, mode, eigenvalue, multiplicity, power."""
    frames = [spectrum(weight).assign(k=k, state=state) for k, weight in enumerate(weights, start=1)]
    columns = ["k", "state", "mode", "eigenvalue", "multiplicity", "power"]
    return pd.concat(frames, ignore_index=True)[columns]
