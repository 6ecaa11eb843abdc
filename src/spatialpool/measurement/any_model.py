"""Layer-wise D_k, G_k, R_k (paper eq. 1) of any model on any images: the measurement behind the
`spatialpool measure` command, on the workflow's one measurement path.

The probe set is the workflow's (measurement/images.natural_probe): `size` images drawn from the
pool by a seeded generator, normalised, in float64; per image and draw, one diffeomorphism of
Petrini et al. at T = 4 delta^2 / (pi n^2 ln c) and one noise of the same norm per image,
both drawn from (seed, image index) by perturbations/registry.py. The estimator is the workflow's
one streaming estimator (measurement/estimator.measure_batches): every chosen module is read by
a forward hook in one pass of [clean | deformed | noisy], reduced to float64 sums. So the same
model, data and probe settings give the workflow's numbers exactly (tests/test_measure_cli.py).

Measured points (`layers`): by default the workflow's set (estimator.default_points): every
Conv2d, BatchNorm2d, activation, pooling and Linear, and every block with a forward of its own
(a residual block, ...), walking through Sequential containers; other leaf modules are skipped
and listed in the log. A selection instead names module types (``ReLU``, ``Conv2d``: every
module of that class) or name patterns (fnmatch: ``layer?.0``; ``*`` also matches dots), in
forward order. The output of
the whole model is always measured. Relative depth k/K counts the 'layer' points (activations,
blocks, the output: estimator.role_of) as in the paper's figures; the others get the depth of
the layer they lie in.

The temperature range of Petrini et al. (T1, T2) = (1 / (pi n^2 ln c), 4 / (pi^3 c^2 ln c)) is
checked: T1 moves pixels by about half a pixel, above T2 the deformation may fold. A T outside is
reported (column `in_temperature_range`) and warned about, not refused.
"""
from __future__ import annotations

import fnmatch
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from spatialpool.data.images import ImageSplits
from spatialpool.data.sources import check_side
from spatialpool.measurement.estimator import SKIPPED_TYPES, default_points, measure_batches
from spatialpool.measurement.images import annotate_layers, natural_probe
from spatialpool.models.sources import LoadedModel
from spatialpool.perturbations.diffeo import temperature_bounds
from spatialpool.perturbations.registry import batches_of
from spatialpool.runtime import pick_device


MIN_BOOTSTRAP_MODELS = 5  # a percentile bootstrap over fewer models is mostly degenerate resamples


ROWS_PER_PASS = 64


def default_batch_size(draws: int) -> int:
    """Probe images per forward pass such that a pass holds at most ROWS_PER_PASS images (each
    probe image enters as 1 clean + `draws` deformed + `draws` noisy): 21 at one draw.

    Measured (benchmarks/measure_command.py, README "Measuring your own models"): on a CPU in
    float64 the time per image doubles for LeNet above about 64 images per pass, because glibc's
    malloc then serves the activations by fresh mmap calls whose pages fault in on every pass (with
    MALLOC_MMAP_THRESHOLD_ raised the step disappears); ResNet18 and MobileNetV3-small are as fast
    or faster at 21 images as at 16."""
    return max(1, ROWS_PER_PASS // (1 + 2 * draws))


@dataclass(frozen=True)
class ProbeSettings:
    """size: probe images; draws: perturbations per image; seed: the probe's seed (images and
    perturbations); delta: the diffeomorphism's nominal displacement (pixels); cut: its highest
    mode c; batch_size: probe images per forward pass (None: default_batch_size(draws)); dtype:
    of the model and the sums ("float64" as in the workflow); device: "cpu", "cuda", "cuda:<index>",
    "mps" or "auto" (CUDA when torch sees a GPU, else the CPU; recorded resolved).

    ValueError naming the field and its command-line flag: size, draws or batch_size < 1, seed < 0,
    cut < 2, delta not a finite number > 0, another dtype, a device torch does not know or that
    is not available here."""
    size: int = 200
    draws: int = 1
    seed: int = 0
    delta: float = 1.0
    cut: int = 3
    batch_size: int | None = None
    dtype: str = "float64"
    device: str = "cpu"

    def __post_init__(self):
        for key in ("size", "draws", "batch_size"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ValueError(f"{key} (--{key.replace('_', '-')}) must be >= 1, got {value}")
        if self.batch_size is None:  # frozen: the resolved size is what asdict() records
            object.__setattr__(self, "batch_size", default_batch_size(self.draws))
        if self.seed < 0:
            raise ValueError(f"seed (--seed) must be >= 0, got {self.seed}")
        if self.cut < 2:
            raise ValueError(f"cut (--cut) must be >= 2 (ln c > 0), got {self.cut}")
        if not (math.isfinite(self.delta) and self.delta > 0):
            raise ValueError(f"delta (--delta) must be a finite number > 0, got {self.delta}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype (--dtype) must be float64 or float32, got {self.dtype!r}")
        object.__setattr__(self, "device", check_device(self.device))


def check_device(name: str) -> str:
    """The device a name means ("auto": CUDA when torch sees a GPU, else the CPU), as a string;
    ValueError naming --device for a name torch does not know or a device not available here."""
    if name == "auto":
        return str(pick_device("auto"))
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device (--device) {name!r} is not a device: give cpu, cuda, cuda:<index>, mps "
                         "or auto") from None
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0:
            raise ValueError(f"device (--device) {name!r}: torch sees no CUDA device here; give cpu (or auto)")
        if device.index is not None and device.index >= count:
            raise ValueError(f"device (--device) {name!r}: torch sees {count} CUDA device(s), "
                             f"cuda:0 to cuda:{count - 1}")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"device (--device) {name!r}: MPS is not available here; give cpu (or auto)")
    elif device.type != "cpu":
        raise ValueError(f"device (--device) {name!r}: give cpu, cuda, cuda:<index>, mps or auto")
    return name


def select_points(model: nn.Module, layers: Sequence[str] | None = None, log=print) -> list[str]:
    """Names of the modules to measure (module docstring), in forward-registration order.

    ValueError naming the selection item that matches no module."""
    if not layers:
        points = default_points(model)
        named = dict(model.named_modules())
        skipped = [f"{n} ({type(m).__name__})" for n, m in named.items()
                   if n and next(m.children(), None) is None and not isinstance(m, SKIPPED_TYPES)
                   and not any(n == p or n.startswith(p + ".") for p in points)]
        if skipped:
            log(f"not measured (no measurement rule for their type; select them with layers): {', '.join(skipped[:12])}"
                + (f" and {len(skipped) - 12} more" if len(skipped) > 12 else ""))
        return points
    named = [(n, m) for n, m in model.named_modules() if n]
    chosen = set()
    for item in layers:
        hits = {n for n, m in named if type(m).__name__ == item} or {n for n, _ in named if fnmatch.fnmatchcase(n, item)}
        if not hits:
            types = sorted({type(m).__name__ for _, m in named})
            raise ValueError(f"layer selection {item!r} matches no module type or name; types here: {', '.join(types)}")
        chosen |= hits
    return [n for n, _ in named if n in chosen]


def check_input(loaded: LoadedModel, x: torch.Tensor) -> None:
    """One forward pass of one image; ValueError naming the model and the shape if it fails."""
    try:
        with torch.no_grad():
            loaded.model.float()(x[:1].float())
    except Exception as err:  # noqa: BLE001 - any failure here means the shape does not fit
        raise ValueError(f"model {loaded.name} ({loaded.spec}) does not accept images of shape "
                         f"{list(x.shape[1:])}: {type(err).__name__}: {str(err).splitlines()[0]}. Resize them "
                         "(--resize, --crop) to what the model expects") from None


def probe_error(outputs: Sequence[torch.Tensor], labels: torch.Tensor, n_classes: int) -> float:
    """Top-1 error of the model's outputs on the clean probe images (in probe order); nan unless
    it has n_classes outputs."""
    out = torch.cat(list(outputs))
    if out.ndim != 2 or out.shape[1] != n_classes or n_classes < 2:
        return float("nan")
    return float((out.argmax(1) != labels).double().mean())


class _Progress:
    """tqdm over a probe's batches: a bar with rate and ETA on stderr."""

    def __init__(self, batches, total: int, desc: str, enabled: bool):
        from tqdm import tqdm
        self.bar = tqdm(batches, total=total, desc=desc, unit="batch", file=sys.stderr, disable=not enabled,
                        mininterval=1.0)

    def __iter__(self):
        yield from self.bar
        self.bar.close()


def make_probe(splits: ImageSplits, settings: ProbeSettings) -> dict:
    """The probe set (module docstring) and its temperature check. ValueError if the images are
    too small for a diffeomorphism (data/sources.check_side) or fewer than the probe's size."""
    check_side(splits)
    if settings.size > len(splits.x_test):
        raise ValueError(f"size (--size) {settings.size} is larger than the pool of "
                         f"{splits.info.get('label', splits.name)} ({len(splits.x_test)} images)")
    probe = natural_probe(splits, settings.size, settings.draws, settings.seed, settings.delta, settings.cut)
    t1, t2 = temperature_bounds(probe["side"], settings.cut)
    probe.update(T1=t1, T2=t2, in_temperature_range=bool(t1 <= probe["temperature"] <= t2))
    return probe


def describe_probe(probe: dict, data_label: str) -> str:
    return (f"{probe['size']} images of {data_label}, seed {probe['seed']}, {probe['draws']} draw(s); "
            f"diffeo delta {probe['delta']:g} c {probe['cut']} T {probe['temperature']:.4g} "
            f"(range {probe['T1']:.3g}-{probe['T2']:.3g}); noise matched per image")


CACHE_BYTES = 256 * 2 ** 20  # probe batches up to this size are drawn once and shared by every model


def probe_batches(probe: dict, batch_size: int):
    """The probe's batches (clean, {"D", "G"}, realised), drawn once and kept when they fit in
    CACHE_BYTES (then every model reuses the same tensors), else a fresh
    generator per call (the draws are seeded per image, so both give the same numbers)."""
    x = probe["x"]
    size = x.numel() * x.element_size() * (1 + 2 * probe["draws"])
    if size > CACHE_BYTES:
        return batches_of(probe, x, batch_size)
    key = ("_batches", batch_size)
    if key not in probe:
        probe[key] = list(batches_of(probe, x, batch_size))
    return probe[key]


def measure_model(loaded: LoadedModel, probe: dict, settings: ProbeSettings, layers: Sequence[str] | None = None,
                  n_classes: int = 0, progress: bool = True, log=print, checked: bool = False
                  ) -> tuple[pd.DataFrame, dict]:
    """One model on a probe set: (layer table, output summary). ValueError if the model does not
    accept the probe images' shape (check_input; skipped when the caller has `checked` it).

    Layer table: the input row (k = 0) and one row per measured point and the output, with the
    estimator's columns (k, name, kind, role, shape, features, spatial, delta = Delta, D, G, R,
    probe_size, draws, displacement_rms in pixels, deformation_ratio) and annotate_layers'
    (is_layer, layer, K, rel_depth), `depth` (rel_depth carried to the inner points) and `model`.
    Summary: model, spec, weights, D_f, G_f, R_f, probe_error (top-1 on the clean probe images,
    nan when the outputs are not the data's classes), parameters, seconds.
    """
    dtype = getattr(torch, settings.dtype)
    if not checked:
        check_input(loaded, probe["x"])
    points = select_points(loaded.model, layers, log=log)
    model = loaded.model.to(device=settings.device, dtype=dtype).eval()
    start = time.perf_counter()
    total = math.ceil(probe["size"] / settings.batch_size)
    batches = _Progress(probe_batches(probe, settings.batch_size), total, loaded.name, progress)
    clean = []  # the model's outputs on the clean probe images, for the probe error: no second pass
    # the input row (k = 0, measurement.images.input_row's numbers) comes from the same pass
    table = measure_batches(model, batches, points, clean_outputs=clean, input_point=True)
    seconds = time.perf_counter() - start
    table = annotate_layers(table)
    table["depth"] = table.rel_depth.where(table.is_layer).bfill().fillna(1.0)
    table.insert(0, "model", loaded.name)
    out = table[table.name == "output"].iloc[0]
    # points: the measured representations (a module called twice, e.g. a reused ReLU, gives two: name, name#2)
    summary = dict(model=loaded.name, spec=loaded.spec, weights=loaded.weights, D_f=float(out.D), G_f=float(out.G),
                   R_f=float(out.R), probe_error=probe_error(clean, probe["y"], n_classes),
                   parameters=sum(p.numel() for p in loaded.model.parameters()),
                   points=int((~table.name.isin(["input", "output"])).sum()), seconds=seconds)
    loaded.model.float()
    return table, summary


def correlations(outputs: pd.DataFrame, seed: int = 0, n_resamples: int = 2000, level: float = 0.95) -> pd.DataFrame:
    """rho(log probe error, log X) across the models for X = D_f, G_f, R_f, with percentile bootstrap
    intervals over models (analysis/correlations.bootstrap_rho; paper fig. 1 middle). Models with no
    probe error are left out; fewer than 3 left: rho is nan. The interval needs at least
    MIN_BOOTSTRAP_MODELS models (with fewer, most resamples repeat one or two models and rho of a
    resample is degenerate); n_dropped counts the resamples whose rho is undefined (all of its
    models alike), and `note` says when the interval is not given."""
    from spatialpool.analysis.correlations import bootstrap_rho, log_correlation
    ok = outputs[np.isfinite(outputs.probe_error) & (outputs.probe_error > 0)]
    rows = []
    for measure in ("D_f", "G_f", "R_f"):
        n = len(ok)
        if n >= MIN_BOOTSTRAP_MODELS:
            r = bootstrap_rho(ok.probe_error, ok[measure], seed, n_resamples, level)
            r.update(ci_low=float(np.clip(r["ci_low"], -1, 1)), ci_high=float(np.clip(r["ci_high"], -1, 1)), note="")
        else:
            r = dict(rho=log_correlation(ok.probe_error, ok[measure]) if n >= 3 else np.nan, ci_low=np.nan,
                     ci_high=np.nan, n_dropped=0,
                     note=f"{n} models: too few for {'a correlation' if n < 3 else 'a bootstrap interval'} "
                          f"(needs {3 if n < 3 else MIN_BOOTSTRAP_MODELS})")
        rows.append(dict(measure=measure, n_models=n, models=", ".join(ok.model), **r))
    return pd.DataFrame(rows)


def distinct_names(models: Sequence[LoadedModel]) -> list[LoadedModel]:
    """The models, each with a name no other has (tables and figures tell models apart by name):
    a name shared by several gets what initialised each ("resnet18 [random (seed 0)]",
    "resnet18 [trained.pt]"), then "#2", "#3", ... if that is shared too. Unique names stay."""
    from dataclasses import replace
    from pathlib import Path
    names = [m.name for m in models]
    out = []
    for m in models:
        if names.count(m.name) == 1:
            out.append(m)
            continue
        weights = Path(m.weights).name if Path(m.weights).suffix else m.weights
        out.append(replace(m, name=f"{m.name} [{weights}]"))
    labels = [m.name for m in out]
    for i, m in enumerate(out):
        if labels.count(m.name) > 1:
            out[i] = replace(m, name=f"{m.name} #{labels[:i + 1].count(m.name)}")
    return out


def measure_models(models: Sequence[LoadedModel], splits: ImageSplits, settings: ProbeSettings = ProbeSettings(),
                   layers: Sequence[str] | None = None, progress: bool = True, log=print) -> dict:
    """Every model on one probe set of one data pool.

    Returns {"layers": the models' layer tables stacked (plus the probe's description, data label,
    temperature and its range), "outputs": one summary row per model, "probe": the probe's
    settings}. ValueError before any measurement if the images are too small or too few for the
    probe (make_probe), a model does not accept the images' shape, or the layer selection matches
    nothing in any one model (every model is checked before the first is measured); models of the
    same name get distinct labels (distinct_names). The temperature range is checked and a T
    outside it logged.
    """
    probe = make_probe(splits, settings)
    label = splits.info.get("label", splits.name)
    if not probe["in_temperature_range"]:
        log(f"warning: T = {probe['temperature']:.4g} lies outside Petrini et al.'s range "
            f"[{probe['T1']:.4g}, {probe['T2']:.4g}] for n = {probe['side']}, c = {settings.cut}")
    for m in models:  # every model's shape and point selection, before any is measured
        check_input(m, probe["x"])
        try:
            select_points(m.model, layers, log=lambda _: None)
        except ValueError as err:
            raise ValueError(f"--layers: model {m.name} ({m.spec}): {err}") from None
    models = distinct_names(models)
    tables, summaries = [], []
    n_classes = len(splits.classes)
    for m in models:
        table, summary = measure_model(m, probe, settings, layers, n_classes, progress, log, checked=True)
        log(f"{m.name}: D_f {summary['D_f']:.4g} G_f {summary['G_f']:.4g} R_f {summary['R_f']:.4g} "
            f"error {summary['probe_error']:.3f} ({summary['points']} points, {summary['seconds']:.1f} s)")
        tables.append(table)
        summaries.append(summary)
    description = describe_probe(probe, label)
    extra = dict(data=label, probe=description, temperature=probe["temperature"],
                 in_temperature_range=probe["in_temperature_range"])
    return dict(layers=pd.concat(tables, ignore_index=True).assign(**extra),
                outputs=pd.DataFrame(summaries).assign(**extra), probe=asdict(settings))
