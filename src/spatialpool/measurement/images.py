"""Measurements of trained image nets (paper sec. 2-3, figs 1, 3, 4, C1-C7; README, 'Definitions the paper leaves open').

Probe sets. A seeded draw of `size` test images (never training or validation data), stored
normalised in float64 with everything that defines its perturbations:
- natural images (digits, CIFAR-10, ImageNet): smooth random diffeomorphisms (diffeo.py) at the
  authors' temperature T = 4 delta^2 / (pi n^2 ln c), `draws` fields per image, seeded per image
  (perturbations.registry.diffeo_batches); the matched noise has the deformation's norm per image and draw;
  the first image's draws are stored (`example`, shown in figure 1);
- 2D scale detection: each active pixel moves to one of its 8 neighbours (images.move_pixels_2d),
  `draws` moves per image, drawn and rendered here once; the matched noise likewise.
Nets trained on noisy data (noise std s) are probed on their own input distribution: a fixed
seeded draw s z / sqrt(C H W) (one z shared by every net and noise level) is added to every probe
image before it is deformed.

Per net the table holds, for every measurement point (estimator.default_points) and the
output: D, G, R = D / G, Delta, and the realised displacement, for the states
- init: the net at initialisation; best: the trained net at its best epoch (lowest selection
  error; training/checkpoints.py), the checkpoint the authors measure;
- shuffled: the best checkpoint with its conv input channels permuted (shuffle.py), several seeded
  permutations (none for nets without convolutions);
and, first in every state, the probe set itself (k = 0, `input`; R_0 = 1 by construction).
Layer points (`is_layer`) are the representations the paper plots against depth: activations,
composite blocks (ResNet, EfficientNet) and the output; `layer` numbers them 1..K and
rel_depth = layer / K (the input is 0).
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from torch import nn

from spatialpool.perturbations.diffeo import matched_noise, temperature
from spatialpool.data.kinds import kind as dataset_kind
from spatialpool.measurement.estimator import default_points, measure_batches
from spatialpool.perturbations.registry import batches_of, stored_batches
from spatialpool.runtime import seed_words
from spatialpool.measurement.shuffle import shuffle_channels
from spatialpool.measurement.spectra import compare



# --------------------------------------------------------------------------- probe sets


def make_probe(splits, kind: str, size: int, draws: int, seed: int, delta: float = 1.0,
               cut: int = 3, task: dict | None = None) -> dict:
    """The probe set of an ImageSplits: a seeded draw of `size` test images and their perturbations."""
    from spatialpool.data.images import Task2D, move_pixels_2d, render_2d
    perturbation = dataset_kind(kind).perturbation
    if perturbation != "pixel_moves":  # drawn from the probe's seeds at measurement (perturbations.py)
        return natural_probe(splits, size, draws, seed, delta, cut, kind=kind, perturbation=perturbation)
    probe = _draw_images(splits, kind, size, draws, seed)
    x, index = probe["x"], probe["index"]
    t = Task2D(side=task["side"], xi=task["xi"], gap=task["gap"])
    pixels = np.asarray(splits.info["test_pixels"])[index]                       # [P, 2, 2]
    rng = np.random.default_rng([seed, 2])
    moved = np.stack([move_pixels_2d(t, pixels, rng) for _ in range(draws)], 1)  # [P, R, 2, 2]
    flat = moved.reshape(-1, 2, 2)
    deformed = render_2d(t, flat[:, 0], flat[:, 1], splits.info["amplitude"], x.shape[-1]).double()
    deformed = splits.normalise(deformed).double()
    clean = x.repeat_interleave(draws, 0)
    noisy = clean + matched_noise(clean, deformed, torch.Generator().manual_seed(seed))
    shape = (size, draws, *x.shape[1:])
    step = (moved - pixels[:, None]).astype(float)
    probe.update(perturbation="pixel_moves", perturbed={"D": deformed.view(shape), "G": noisy.view(shape)},
                 displacement=torch.from_numpy(np.sqrt((step ** 2).sum(-1).mean(-1))),  # [P, R] RMS over the 2 pixels
                 deformation_ratio=((deformed - clean).flatten(1).pow(2).sum(1)
                                    / clean.flatten(1).pow(2).sum(1)).view(size, draws))
    return probe


def _draw_images(splits, kind: str, size: int, draws: int, seed: int) -> dict:
    n = len(splits.x_test)
    if size > n:
        raise ValueError(f"probe size {size} is larger than the test set ({n} images)")
    index = np.sort(np.random.default_rng(seed).choice(n, size, replace=False))
    x = splits.normalise(splits.x_test[torch.from_numpy(index)]).double()
    return dict(dataset=splits.name, kind=kind, index=index, x=x, y=splits.y_test[torch.from_numpy(index)],
                size=size, draws=draws, seed=seed, side=x.shape[-1])


def natural_probe(splits, size: int, draws: int, seed: int, delta: float = 1.0, cut: int = 3,
                  kind: str | None = None, perturbation: str = "diffeo") -> dict:
    """The probe set of natural images: `size` test images drawn by numpy's generator seeded with
    `seed` (sorted indices), normalised, in float64 [size, C, n, n]; their diffeomorphisms (delta,
    cut, T = temperature(delta, n, cut)) and norm-matched noises are drawn at measurement from
    (seed, image index), `draws` per image. The first image's draws are stored for figure 1.
    ValueError if size exceeds the test set."""
    probe = _draw_images(splits, kind or splits.name, size, draws, seed)
    probe.update(perturbation=perturbation, delta=delta, cut=cut,
                 temperature=temperature(delta, probe["x"].shape[-1], cut))
    first = next(batches_of(probe, probe["x"][:1], 1))  # exactly as measurement makes them
    probe["example"] = first[1]  # {"D": [1, R, ...], "G": [1, R, ...]}
    return probe


def noisy_inputs(probe: dict, noise_std: float) -> torch.Tensor:
    """Probe images as a net trained with input noise `noise_std` sees them (one fixed seeded draw)."""
    x = probe["x"]
    if noise_std == 0:
        return x
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(probe["seed"] + 1), dtype=x.dtype)
    return x + noise_std * z / np.sqrt(x[0].numel())


# --------------------------------------------------------------------------- sensitivities


def measure_perturbed(model: nn.Module, clean: torch.Tensor, deformed: torch.Tensor, noisy: torch.Tensor,
                      batch_size: int = 100, points=None) -> pd.DataFrame:
    """D, G, R at every point for given perturbations: clean [P, ...], deformed and noisy [P, R, ...]
    (estimator.measure_batches on perturbations.registry.stored_batches)."""
    probe = dict(perturbed={"D": deformed, "G": noisy})
    return measure_batches(model, stored_batches(probe, clean, batch_size), points)


def measure_probe(model: nn.Module, probe: dict, noise_std: float = 0.0, batch_size: int = 100) -> pd.DataFrame:
    """One model on a probe set: a row per point and the output (see the module docstring).

    The probe set's registered perturbation (perturbations.py) yields the perturbed images; nets
    trained with input noise see the probe images with their fixed noise added (noisy_inputs).
    Raises ValueError for input noise on a probe set whose perturbations are stored (2D scale detection).
    """
    if noise_std and probe["perturbation"] != "diffeo":
        raise ValueError("input noise is defined for natural images only, not for 2D scale detection")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    batches = batches_of(probe, noisy_inputs(probe, noise_std).to(device), batch_size)
    table = measure_batches(model, batches, default_points(model, strict=True))
    if probe["perturbation"] == "diffeo":
        table.insert(table.columns.get_loc("draws") + 1, "temperature", probe["temperature"])
        return table.assign(delta_nominal=probe["delta"], cut=probe["cut"])
    table["temperature"] = np.nan
    return table


def annotate_layers(table: pd.DataFrame) -> pd.DataFrame:
    """is_layer, layer (1..K), K and rel_depth = layer / K for one state's table (input row: 0)."""
    is_input = (table.kind == "input").to_numpy()
    is_layer = (table.role == "layer").to_numpy() & ~is_input  # estimator.role_of
    n = int(is_layer.sum())
    layer = np.full(len(table), np.nan)
    layer[is_layer] = np.arange(1, n + 1)
    layer[is_input] = 0
    return table.assign(is_layer=is_layer | is_input, layer=layer, K=n, rel_depth=layer / n)


def input_row(probe: dict, noise_std: float = 0.0, batch_size: int = 100) -> pd.DataFrame:
    """The probe set itself as a representation (k = 0)."""
    row = measure_probe(nn.Identity(), probe, noise_std, batch_size)
    return row.assign(k=0, name="input", kind="input")


def shuffle_seed(seed: int, net_seed: int, j: int) -> int:
    """Seed of the j-th channel permutation of the net trained with net_seed."""
    return seed_words([seed, net_seed, j], 1)[0]


def has_convs(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def measure_states(init: nn.Module, trained: nn.Module, probe: dict, noise_std: float = 0.0,
                   shuffles: int = 3, shuffle_base: int = 0, net_seed: int = 0, batch_size: int = 100,
                   dtype: torch.dtype = torch.float64, device="cpu", log=print) -> pd.DataFrame:
    """Long table of every state (init, best, shuffled x `shuffles`) on one probe set; each state's
    table starts with the input row (k = 0)."""
    models = [("init", None, init), ("best", None, trained)]
    if has_convs(trained):
        for j in range(shuffles):
            s = shuffle_seed(shuffle_base, net_seed, j)
            models.append(("shuffled", j, shuffle_channels(trained, s)))
    inp = input_row(probe, noise_std, batch_size)
    frames = []
    for state, j, model in models:
        m = copy.deepcopy(model).to(device=device, dtype=dtype)
        t = annotate_layers(pd.concat([inp, measure_probe(m, probe, noise_std, batch_size)], ignore_index=True))
        frames.append(t.assign(state=state, shuffle=j if j is not None else pd.NA))
        out = t[t.name == "output"].iloc[0]
        log(f"{state}{'' if j is None else f' #{j}'}: {len(t) - 1} points, K = {int(t.K.iloc[0])}, "
            f"output D {out.D:.4g} G {out.G:.4g} R {out.R:.4g}")
    table = pd.concat(frames, ignore_index=True)
    table["shuffle"] = table["shuffle"].astype("Int64")
    return table


def measure_trajectory(states: dict[str, nn.Module], history: pd.DataFrame, probe: dict, noise_std: float = 0.0,
                       batch_size: int = 100, dtype: torch.dtype = torch.float64, device="cpu",
                       log=print) -> pd.DataFrame:
    """The training trajectory (README, 'Real images'): every point's D_k, G_k, R_k (eq. 1) of the
    net at init and after each recorded epoch (states "epoch<n>", training/checkpoints.py).

    states: {state name: model}, init and epoch<n> states; history: the training curves (one row
    per epoch, epoch 0 = init) whose test and validation errors are copied onto each state's rows.
    Returns the long table of measure_states (input row first, annotate_layers columns) plus
    `epoch`, `test_error`, `val_error`; rows ordered by epoch. Raises ValueError for a state that
    is not a trajectory state and KeyError for an epoch missing from the history.
    """
    from spatialpool.training.checkpoints import trajectory_epoch
    curves = history.set_index("epoch")
    inp = input_row(probe, noise_std, batch_size)
    frames = []
    for state, model in sorted(states.items(), key=lambda kv: trajectory_epoch(kv[0])):
        epoch = trajectory_epoch(state)
        m = copy.deepcopy(model).to(device=device, dtype=dtype)
        t = annotate_layers(pd.concat([inp, measure_probe(m, probe, noise_std, batch_size)], ignore_index=True))
        row = curves.loc[epoch]
        frames.append(t.assign(state=state, epoch=epoch, test_error=row.test_error, val_error=row.val_error))
        out = t[t.name == "output"].iloc[0]
        log(f"{state}: test error {row.test_error:.4f}, output D {out.D:.4g} G {out.G:.4g} R {out.R:.4g}")
    return pd.concat(frames, ignore_index=True)


def filter_spectra(init: nn.Module, trained: nn.Module) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eq. 3 / B.1 spectra and the fig. C5 aggregate of every conv layer, init and best."""
    spectra, aggregates = compare({"init": init, "best": trained})
    for t in (spectra, aggregates):
        n = t.groupby("state").k.transform("max") if len(t) else t.k
        t["n_convs"] = n
        t["rel_depth"] = t.k / n if len(t) else t.k
    return spectra, aggregates


# --------------------------------------------------------------------------- per-net summary


def net_summary(sensitivity: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per net: training summary + output D_f, G_f, R_f (best checkpoint, and init) + displacement."""
    out = summary.copy()
    for state, suffix in (("best", ""), ("init", "_init")):
        row = sensitivity[(sensitivity.state == state) & (sensitivity.name == "output")].iloc[0]
        for m in ("D", "G", "R"):
            out[f"{m}_f{suffix}"] = row[m]
    row = sensitivity[sensitivity.state == "best"].iloc[0]
    out["displacement_rms"] = row.displacement_rms
    out["deformation_ratio"] = row.deformation_ratio
    out["K"] = int(sensitivity[sensitivity.state == "best"].K.iloc[0])
    return out
