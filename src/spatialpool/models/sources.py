"""Any model, for measuring it (the `spatialpool measure` command, measurement/any_model.py).

A model is named by one string:

- ``torchvision:NAME`` - a torchvision classification model (``torchvision.models.get_model``).
  ``weights``: a torchvision weights name (``DEFAULT``, ``IMAGENET1K_V1``, ...; torchvision
  fetches and caches them under ``$TORCH_HOME``) or a local state-dict file; none = a random
  initialisation, seeded, with ``num_classes`` outputs. With torchvision weights, the transform
  the weights expect (resize, crop, mean, std) comes from their metadata.
- ``package.module:function`` - any importable builder called as ``function(**kwargs)``;
  ``weights``: a state-dict file, or none for its own initialisation (seeded).
- ``spatialpool:ARCH`` - an architecture of this project's registry (models/registry.py) at
  ``width_factor``, randomly initialised (seeded), or ``checkpoint:PATH`` - a checkpoint the
  workflow wrote (``results/images/train/...pt``), one of its seeds and states (training/checkpoints.py).

Every in-place activation is switched to out-of-place, so that a hook on a layer sees that
layer's own output. Errors name what is wrong: ValueError for a malformed spec or an unknown
model, FileNotFoundError for a missing weights or checkpoint file, RuntimeError for weights that
do not fit the model.
"""
from __future__ import annotations

import importlib
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn


@dataclass
class LoadedModel:
    """A model ready to measure: eval mode, float32 (measurement casts), in-place ops off.

    name: a label for tables; spec: the string it was loaded from; weights: what initialised it
    ("random (seed s)", a weights name or a file); transform: {resize, crop, mean, std} the
    weights expect, or None when the model does not say; info: anything else worth recording.
    """
    name: str
    spec: str
    model: nn.Module
    weights: str
    transform: dict | None = None
    info: dict = field(default_factory=dict)


def _no_inplace(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if getattr(module, "inplace", False):
            module.inplace = False
    return model.eval()


def _state_dict(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    try:
        with warnings.catch_warnings():  # torch's note on a plain pickle's protocol: the error below says it
            warnings.filterwarnings("ignore", message=".*pickle protocol.*")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a damaged or foreign file, whatever the library says
        if "weights_only" in str(err):  # torch's advice (load it unsafely) is not ours to give
            raise RuntimeError(f"weights file {path} is not a readable state dict: not a torch file, damaged, or "
                               "holding Python objects other than tensors (not unpickled here: that could run "
                               "code). Save the weights with torch.save(model.state_dict(), path)") from None
        first = (str(err).splitlines() or [""])[0].split(". ")[0][:200]  # torch's first sentence, not its advice
        raise RuntimeError(f"weights file {path} is not a readable state dict ({type(err).__name__}: {first}); "
                           "expected a file written by torch.save(model.state_dict(), path)") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a common wrapping of saved weights
    if not isinstance(state, dict):
        raise RuntimeError(f"weights file {path} holds a {type(state).__name__}, not a state dict")
    return state


def _load_state(model: nn.Module, path, label: str) -> None:
    state = _state_dict(path)  # its own errors say what is wrong with the file
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        detail = " ".join(line.strip() for line in str(err).splitlines()[:3])
        hint = (" (weights trained for another number of classes: give it with --num-classes, e.g. 1000 for "
                "ImageNet weights)" if "size mismatch" in detail else "")
        raise RuntimeError(f"weights file {path} does not fit {label}: {detail[:400]}{hint}") from None


def _torchvision(name: str, weights: str | None, num_classes: int | None, seed: int) -> LoadedModel:
    from torchvision import models
    if name not in models.list_models(module=models):
        raise ValueError(f"torchvision has no classification model {name!r}; e.g. "
                         f"{', '.join(sorted(models.list_models(module=models))[:8])}, ...")
    if weights is None:
        torch.manual_seed(seed)
        kwargs = {} if num_classes is None else {"num_classes": num_classes}
        return LoadedModel(name, f"torchvision:{name}", _no_inplace(models.get_model(name, weights=None, **kwargs)),
                           f"random (seed {seed})", None, dict(num_classes=num_classes, seed=seed))
    if Path(weights).suffix in (".pt", ".pth") or Path(weights).exists():
        model = models.get_model(name, weights=None, **({} if num_classes is None else {"num_classes": num_classes}))
        _load_state(model, weights, f"torchvision:{name}")
        return LoadedModel(name, f"torchvision:{name}", _no_inplace(model), str(weights))
    try:
        enum = models.get_model_weights(name)[weights]
    except KeyError:
        known = [w.name for w in models.get_model_weights(name)] + ["DEFAULT"]
        raise ValueError(f"torchvision:{name} has no weights {weights!r}; known: {known} "
                         "(or give a local state-dict file)") from None
    preset = enum.transforms()  # ImageClassification: resize, crop, mean, std of the weights
    transform = dict(resize=int(preset.resize_size[0]), crop=int(preset.crop_size[0]),
                     mean=tuple(preset.mean), std=tuple(preset.std))
    try:
        model = models.get_model(name, weights=enum)  # fetched by torchvision if not cached
    except OSError as err:  # URLError is an OSError: no network, or the download failed
        raise RuntimeError(f"could not fetch torchvision's {enum} ({type(err).__name__}: {err}); on a machine "
                           "without internet, download the weights elsewhere and give the state-dict file as the "
                           "weights instead") from None
    return LoadedModel(name, f"torchvision:{name}", _no_inplace(model), f"{enum}", transform,
                       dict(categories=len(enum.meta.get("categories", []))))


def _builder(spec: str, weights: str | None, seed: int, kwargs: dict) -> LoadedModel:
    module_name, _, function = spec.partition(":")
    try:
        builder = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import the model builder {spec!r}: {err}") from err
    torch.manual_seed(seed)
    model = builder(**kwargs)
    if not isinstance(model, nn.Module):
        raise ValueError(f"{spec} returned a {type(model).__name__}, not a torch.nn.Module")
    if weights is not None:
        _load_state(model, weights, spec)
    return LoadedModel(function, spec, _no_inplace(model), str(weights) if weights else f"random (seed {seed})")


def _project(arch: str, width_factor: float, num_classes: int | None, seed: int, input_size: int) -> LoadedModel:
    from spatialpool.models import registry
    if arch not in registry.image_architectures():
        raise ValueError(f"unknown architecture {arch!r}; this project's: {registry.image_architectures()}")
    torch.manual_seed(seed)
    spec = dict(name=arch, width_factor=width_factor, num_classes=10 if num_classes is None else num_classes,
                in_channels=3, input_size=input_size)
    return LoadedModel(arch, f"spatialpool:{arch}", _no_inplace(registry.build(spec)), f"random (seed {seed})",
                       None, dict(width_factor=width_factor))


def _checkpoint(path: str, seed: int | None, state: str) -> LoadedModel:
    from spatialpool.models import registry
    from spatialpool.training.checkpoints import checkpoint_seeds, load_checkpoint
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    from spatialpool.io import CorruptedIntermediate
    try:
        if seed is None:
            seed = checkpoint_seeds(path)[0]
        ckpt = load_checkpoint(path, seed)
    except CorruptedIntermediate as err:
        raise RuntimeError(f"checkpoint {path} is not a readable checkpoint of this workflow ({err.problem})") from None
    if ckpt["states"].get(state) is None:
        raise ValueError(f"checkpoint {path} seed {seed} has no state {state!r}; it has "
                         f"{sorted(k for k, v in ckpt['states'].items() if v is not None)}")
    model = registry.build(ckpt["arch"], ckpt["states"][state])
    name = f"{ckpt['arch']['name']}[{Path(path).stem}:{state}]"
    return LoadedModel(name, f"checkpoint:{path}", _no_inplace(model), f"{path} seed {seed} state {state}",
                       None, dict(seed=seed, state=state))


def load_model(spec: str, weights: str | None = None, num_classes: int | None = None, seed: int = 0,
               width_factor: float = 1.0, state: str = "best", checkpoint_seed: int | None = None,
               builder_kwargs: dict | None = None, input_size: int = 32) -> LoadedModel:
    """The model a spec names (module docstring), in eval mode on the CPU.

    num_classes: outputs of a randomly initialised model (None: the builder's default; torchvision
    weights fix their own); seed: torch's seed before a random initialisation; width_factor: for
    this project's architectures, built for input_size x input_size RGB images; state /
    checkpoint_seed: which weights of a workflow checkpoint (None: its first seed).

    ValueError (module docstring), also for num_classes < 2 or width_factor not a finite number > 0
    (0 is not "the default"); FileNotFoundError; RuntimeError for weights that do not fit.
    """
    if num_classes is not None and num_classes < 2:
        raise ValueError(f"num_classes (--num-classes) must be >= 2, got {num_classes}")
    if not (math.isfinite(width_factor) and width_factor > 0):
        raise ValueError(f"width_factor (--width-factor) must be a finite number > 0, got {width_factor}")
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ValueError(f"model {spec!r}: expected torchvision:NAME, spatialpool:ARCH, checkpoint:PATH "
                         "or package.module:function")
    if kind == "torchvision":
        return _torchvision(rest, weights, num_classes, seed)
    if kind == "spatialpool":
        if weights is not None:
            raise ValueError(f"spatialpool:{rest} is randomly initialised (no --weights); give a workflow "
                             "checkpoint as checkpoint:PATH")
        return _project(rest, width_factor, num_classes, seed, input_size)
    if kind == "checkpoint":
        return _checkpoint(rest, checkpoint_seed, state)
    return _builder(spec, weights, seed, builder_kwargs or {})
