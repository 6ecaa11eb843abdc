"""Layer-wise D_k, G_k, R_k of image models in one forward pass per mini-batch (paper eq. 1).

The definitions are those of sensitivity.py (README, 'Definitions the paper leaves open'): numerators are mean
squared distances between perturbed and clean representations, Delta is the mean squared
distance over all pairs of clean probe images, i = j zeros included, i.e. 2 * the sum of the
per-feature (population) variances; R = D / G, so Delta cancels there.

How it runs. Each mini-batch of b probe images gets `draws` deformations and as many
norm-matched noises per image; [clean | deformed | noisy] go through the model once. A forward
hook on every measurement point reduces that point's output on the spot to float64 sums:
numerator sums, and a running mean and sum of squared deviations per feature (Chan's update) for
Delta. Nothing is kept across modules or batches but those per-feature moments, so memory is
bounded by one mini-batch's activations plus 2 floats per feature and point. Reducing inside
the hook also makes in-place activations harmless: a conv output is read before the following
ReLU(inplace=True) overwrites it.

The estimator (measure_batches) draws nothing: the perturbed images come with the batches of the
probe set (perturbations.py). Diffeomorphism draws are seeded per probe image (seed, index in the
probe set), so results do not depend on the mini-batch size, and every model measured with the
same seed sees the same perturbations.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch
from torch import nn

from spatialpool.perturbations.registry import diffeo_batches
from spatialpool.measurement.sensitivity import delta_is_undefined, divide_by_delta

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid,
               nn.Hardswish, nn.Mish, nn.Softplus)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
INNER_TYPES = (nn.Conv2d, nn.BatchNorm2d, nn.Linear) + POOLS  # linear maps, normalisation, pooling
POINT_TYPES = INNER_TYPES + ACTIVATIONS
SKIPPED_TYPES = (nn.Dropout, nn.Dropout2d, nn.Flatten, nn.Identity)  # not representations of their own
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def role_of(module: nn.Module) -> str:
    """'layer' for the representations the paper plots against depth (an activation's output, or a
    block's: a module with children and a forward of its own), 'inner' for the linear maps,
    normalisations and pooling between them. The output of the whole net is a layer too. A module
    class of one's own declares its role with a class attribute, measurement_role = "layer" or
    "inner" (architectures.ScaledLinear does)."""
    declared = getattr(module, "measurement_role", None)
    if declared is not None:
        return declared
    return "inner" if isinstance(module, INNER_TYPES) else "layer"


@dataclass(frozen=True)
class Point:
    """One measurement point: k (1-based, forward order), module name, layer type, per-image shape,
    role ('layer' or 'inner', role_of)."""
    k: int
    name: str
    kind: str
    shape: tuple[int, ...]
    role: str = "layer"

    @property
    def features(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spatial(self) -> int | None:
        """Side of the (square) feature map, None for flat representations."""
        return self.shape[-1] if len(self.shape) == 3 else None


def default_points(model: nn.Module, inside_blocks: bool = False, strict: bool = False) -> list[str]:
    """Names of the modules to measure, in registration order (the measurement points of every
    architecture registered with points="modules", models/registry.py).

    Containers (Sequential, ModuleList, ModuleDict) are walked through; every Conv2d, BatchNorm2d,
    activation, pooling and Linear is a point. Any other module with children (a residual block,
    an inverted-residual block, ...) has its own forward, so its output is a point; its interior,
    shortcut included, is measured only with inside_blocks=True. Dropout, Flatten and Identity
    are skipped. Any other leaf module is skipped too, unless strict: then it is a ValueError
    naming it, so that a new architecture cannot be measured with a representation left out
    unnoticed (the workflow's registered architectures are measured strictly).
    """
    names, unknown = [], []

    def visit(module: nn.Module, prefix: str):
        for name, child in module.named_children():
            full = prefix + name
            if isinstance(child, CONTAINERS):
                visit(child, full + ".")
            elif isinstance(child, POINT_TYPES) or hasattr(child, "measurement_role"):
                names.append(full)
            elif next(child.children(), None) is not None:
                if inside_blocks:
                    visit(child, full + ".")
                names.append(full)
            elif not isinstance(child, SKIPPED_TYPES):
                unknown.append(f"{full} ({type(child).__name__})")

    visit(model, "")
    if strict and unknown:
        raise ValueError(f"{type(model).__name__}: no measurement rule for the leaf modules {unknown}; "
                         "give their classes a measurement_role ('layer' or 'inner'; role_of) or add their types "
                         "to measurement/estimator.py's POINT_TYPES or SKIPPED_TYPES")
    return names


class _Hooks:
    """Forward hooks on named modules; each output goes to sink(key, kind, output, role) as it is made.

    A module called twice in one forward (e.g. a block's shared ReLU) yields two points,
    'name' and 'name#2'. Call reset() before every forward.
    """

    def __init__(self, model: nn.Module, names: Sequence[str], sink: Callable):
        modules = dict(model.named_modules())
        missing = [n for n in names if n not in modules]
        if missing:
            raise KeyError(f"no such modules: {missing}")
        self.sink, self.calls = sink, {}
        # kind and role per module looked up once, not on every call
        self.handles = [modules[n].register_forward_hook(
            partial(self._hook, n, type(modules[n]).__name__, role_of(modules[n]))) for n in names]

    def _hook(self, name, kind, role, module, inputs, output):
        if not torch.is_tensor(output):
            raise TypeError(f"{name} returns {type(output).__name__}, not a tensor")
        count = self.calls[name] = self.calls.get(name, 0) + 1
        self.sink(name if count == 1 else f"{name}#{count}", kind, output, role)

    def reset(self):
        self.calls.clear()

    def close(self):
        for h in self.handles:
            h.remove()


def _eval_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if not any(m.training for m in model.modules()):  # the usual case: no mode switch per batch
        with torch.no_grad():
            return model(x)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        model.train(was_training)


def capture(model: nn.Module, x: torch.Tensor, points: Sequence[str] | None = None
            ) -> tuple[list[Point], list[torch.Tensor]]:
    """Run x through the model (eval mode) and return every point's output, cloned, plus the output."""
    points = default_points(model) if points is None else points
    keys, outs = [], []

    def sink(key, kind, y, role="layer"):
        keys.append((key, kind, role))
        outs.append(y.detach().clone())

    hooks = _Hooks(model, points, sink)
    try:
        out = _eval_forward(model, x)
    finally:
        hooks.close()
    keys.append(("output", "output", "layer"))
    outs.append(out.detach().clone())
    labels = [Point(k, key, kind, tuple(y.shape[1:]), role)
              for k, ((key, kind, role), y) in enumerate(zip(keys, outs), 1)]
    return labels, outs


@dataclass
class _Sums:
    """One point's float64 sums: clean-image count, per-feature mean and sum of squared deviations,
    and per perturbation the sum of squared distances over `pairs` (image, draw) pairs."""
    mean: torch.Tensor
    m2: torch.Tensor
    numer: list[float]
    count: int = 0
    pairs: int = 0


class Accumulator:
    """Float64 streaming sums for every point and perturbation.

    A forward batch is laid out as [clean (b) | one block of b * R per perturbation, image-major].
    """

    def __init__(self, perturbations: Sequence[str] = ("D", "G")):
        self.perturbations = tuple(perturbations)
        self.points: list[Point] = []
        self.sums: dict[str, _Sums] = {}
        self.b = self.draws = None

    def layout(self, b: int, draws: int):
        self.b, self.draws = b, draws

    def add(self, key: str, kind: str, y: torch.Tensor, role: str = "layer"):
        # Runs once per point and mini-batch: with a small model the cost is the number of torch
        # calls, not the arithmetic, so every step below is one call where one call can do it.
        b, r, n_pert = self.b, self.draws, len(self.perturbations)
        if len(y) != b * (1 + r * n_pert):
            raise ValueError(f"{key}: batch of {len(y)} does not fit {b} images x {r} draws")
        s = self.sums.get(key)
        if s is None:
            self.points.append(Point(len(self.points) + 1, key, kind, tuple(y.shape[1:]), role))
            zeros = torch.zeros(self.points[-1].features, dtype=torch.float64, device=y.device)
            s = self.sums[key] = _Sums(zeros, zeros.clone(), [0.0] * n_pert)
        if y.requires_grad:
            y = y.detach()
        y = y.reshape(len(y), -1)
        if y.dtype != torch.float64:
            y = y.double()
        clean = y[:b]  # only read: the deviations below are new tensors
        # squared distances to the clean image, summed per perturbation (block p: [b, r, F], image-major)
        numer = (y[b:].view(n_pert, b, r, -1) - clean[:, None]).pow_(2).sum((1, 2, 3)).tolist()
        for p in range(n_pert):
            s.numer[p] += numer[p]
        s.pairs += b * r
        # Chan et al.'s pairwise update of the per-feature mean and sum of squared deviations
        batch_mean = clean.mean(0)
        batch_m2 = (clean - batch_mean).pow_(2).sum(0)
        n = s.count + b
        d = batch_mean.sub_(s.mean)
        s.mean.add_(d, alpha=b / n)
        s.m2.add_(batch_m2.addcmul_(d, d, value=s.count * b / n))
        s.count = n

    def delta(self, self_pairs: bool = True) -> np.ndarray:
        """Mean of ||f(x_i) - f(x_j)||^2 over all pairs (i = j included) or over i != j only."""
        sums = [self.sums[p.name] for p in self.points]
        return np.array([2 * s.m2.sum().item() / (s.count if self_pairs else s.count - 1) for s in sums])

    def undefined(self) -> np.ndarray:
        """Bool [K]: points whose representation does not differ between probe images beyond
        round-off (sensitivity.delta_is_undefined, the rule shared with sensitivity.py)."""
        sums = [self.sums[p.name] for p in self.points]
        population = np.array([2 * s.m2.sum().item() / s.count for s in sums])
        # mean of f^2 over the probe images = per-feature mean^2 + variance, summed over features
        mean_square = np.array([s.mean.square().sum().item() + s.m2.sum().item() / s.count for s in sums])
        return delta_is_undefined(population, mean_square, np.array([s.count for s in sums]))

    def result(self, self_pairs: bool = True) -> dict[str, np.ndarray]:
        """{'delta': [K], name: [K] N/Delta per perturbation}; NaN where the representation is the
        same for every probe image up to round-off (see undefined()), as in sensitivity.py."""
        delta = self.delta(self_pairs)
        undefined = self.undefined()
        out = {"delta": delta}
        for p, name in enumerate(self.perturbations):
            mean_sq = np.array([self.sums[q.name].numer[p] / self.sums[q.name].pairs for q in self.points])
            out[name] = divide_by_delta(mean_sq, delta, undefined)
        return out


def measure_representations(represent: Callable[[torch.Tensor], Sequence[torch.Tensor]],
                            clean: torch.Tensor, perturbed: dict[str, torch.Tensor],
                            batch_size: int = 64, self_pairs: bool = True) -> dict[str, np.ndarray]:
    """Eq. 1 for representations given as a function (the 1D nets' states, sensitivity.py's
    definitions): the same streaming estimator as measure_batches, without hooks.

    clean [P, ...], perturbed[name] [P, R, ...] (the same R for all); represent returns every
    layer's representation of a batch, and is called once per mini-batch on all versions. It may
    be a generator yielding layer after layer, so that only one layer's activations are alive.
    Returns {'delta': [K], name: [K] N / Delta per perturbation (NaN where undefined),
    'undefined': [K] bool (sensitivity.delta_is_undefined)}. The two-pass reference it agrees with
    to rounding is benchmarks/baselines.py:sensitivities.
    Raises ValueError if the perturbations have different numbers of draws.
    """
    names = list(perturbed)
    draws = {v.shape[1] for v in perturbed.values()}
    if len(draws) != 1:
        raise ValueError(f"every perturbation needs the same number of draws, got {sorted(draws)}")
    acc = Accumulator(names)
    with torch.no_grad():
        for lo in range(0, len(clean), batch_size):
            x = clean[lo:lo + batch_size]
            acc.layout(len(x), next(iter(draws)))
            xs = torch.cat([x] + [perturbed[n][lo:lo + batch_size].flatten(0, 1) for n in names])
            for k, rep in enumerate(represent(xs)):
                acc.add(str(k), "layer", rep)
    return {**acc.result(self_pairs), "undefined": acc.undefined()}


def points_table(points, res: dict) -> pd.DataFrame:
    """One row per measured point: its label, Delta, D, G and R = D/G."""
    table = pd.DataFrame({
        "k": [p.k for p in points], "name": [p.name for p in points],
        "kind": [p.kind for p in points], "role": [p.role for p in points],
        "shape": ["x".join(map(str, p.shape)) for p in points],
        "features": [p.features for p in points],
        "spatial": pd.array([p.spatial for p in points], dtype="Int64"),
        "delta": res["delta"], "D": res["D"], "G": res["G"],
    })
    table["R"] = table.D / table.G
    return table


def measure_batches(model: nn.Module, batches, points: Sequence[str] | None = None,
                    self_pairs: bool = True, clean_outputs: list | None = None,
                    input_point: bool = False) -> pd.DataFrame:
    """The one streaming estimator of eq. 1: D, G, R at every point and at the output.

    batches: an iterable of (clean [b, ...], {name: perturbed [b, R, ...]}, realised) as
    perturbations.py yields them (any names, the same R for all; the table has a column per name,
    D and G for the workflow's probe sets); realised may hold per (image, draw) `displacement`
    (RMS, pixels) and `deformation_ratio` (||tau x - x||^2 / ||x||^2). The estimator draws
    nothing: every perturbation comes from the batches. The model runs in eval mode in its own
    dtype and device; sums are float64. Columns: k, name, kind, shape, features, spatial, delta,
    one per perturbation name, R = D / G, probe_size, draws, displacement_rms (sqrt of the mean
    square displacement) and deformation_ratio (mean), NaN where the batches do not say.
    clean_outputs: a list that receives the model's output on each batch's clean images (on the
    CPU), e.g. for the probe's test error without a second forward pass.
    input_point: also measure the probe images themselves, in float64 before the cast to the
    model's dtype, as a first row (k = 0, name and kind "input"): the numbers of measuring
    nn.Identity on the same batches, without a second pass over them.
    """
    points = default_points(model) if points is None else list(points)
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.float64
    device = param.device if param is not None else torch.device("cpu")
    acc = hooks = None
    seen, draws, disp_sq, ratio = 0, None, 0.0, 0.0
    realised_keys = None
    try:
        for x, perturbed, realised in batches:
            names = list(perturbed)
            if acc is None:
                acc = Accumulator(names)
                hooks = _Hooks(model, points, acc.add)
                realised_keys = set(realised)
            r = {v.shape[1] for v in perturbed.values()}
            if len(r) != 1 or names != list(acc.perturbations):
                raise ValueError(f"every batch needs the same perturbations and draws, got {names} with {sorted(r)}")
            draws = r.pop()
            x = x.to(device)
            xs = torch.cat([x.double()] + [perturbed[n].to(device).flatten(0, 1) for n in names])
            acc.layout(len(x), draws)
            hooks.reset()
            if input_point:
                acc.add("input", "input", xs)
            out = _eval_forward(model, xs.to(dtype))
            if clean_outputs is not None:
                clean_outputs.append(out[:len(x)].detach().cpu())
            acc.add("output", "output", out)
            seen += len(x)
            realised_keys &= set(realised)
            if "displacement" in realised:
                disp_sq += realised["displacement"].pow(2).sum().item()
            if "deformation_ratio" in realised:
                ratio += realised["deformation_ratio"].sum().item()
    finally:
        if hooks is not None:
            hooks.close()
    if acc is None:
        raise ValueError("the probe set yielded no images")
    table = points_table(acc.points, acc.result(self_pairs))
    if input_point:
        table["k"] -= 1
    table["probe_size"], table["draws"] = seen, draws
    table["displacement_rms"] = np.sqrt(disp_sq / (seen * draws)) if "displacement" in realised_keys else np.nan
    table["deformation_ratio"] = ratio / (seen * draws) if "deformation_ratio" in realised_keys else np.nan
    return table


def measure(model: nn.Module, images, temp: float, cut: int = 3, draws: int = 1, seed: int = 0,
            batch_size: int = 64, points: Sequence[str] | None = None,
            self_pairs: bool = True) -> pd.DataFrame:
    """D_k, G_k, R_k of a model under diffeomorphisms at temperature temp (perturbations.registry.diffeo_batches)
    and their matched noise: measure_batches on images [P, C, n, n] or an iterable of batches, plus
    a temperature column. Draws are seeded per image (seed, index), as in a probe set.
    """
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    images = images.to(device) if torch.is_tensor(images) else (
        (b[0] if isinstance(b, (tuple, list)) else b).to(device) for b in images)
    probe = dict(temperature=temp, cut=cut, draws=draws, seed=seed)
    table = measure_batches(model, diffeo_batches(probe, images, batch_size), points, self_pairs)
    table.insert(table.columns.get_loc("draws") + 1, "temperature", temp)
    return table
