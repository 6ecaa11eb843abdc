"""The real-image half of the workflow (paper sec. 2-3, app. C): config -> grid of trained nets.

The `images:` section of the config names data sets, then *groups*: one group trains a list of
architectures on one data set, every architecture over its seeds and noise levels. An
architecture entry may override the group's `width_factor`, `seeds`, `noise` and `train`
settings, so a grid can train cheap nets at several noise levels and expensive ones at one.
Functions below take the section as `normalise` returns it (groups and architectures by name).

Training settings are the authors' protocol for the architecture and task
(`training.images.paper_protocol`: SGD/cosine for CNNs, Adam for FCNs, hinge loss and no
augmentation for scale detection) with the group's and then the architecture's `train` keys
on top; the noise level becomes `noise_std`.

The helpers here are used by the rule files (to expand the grid and build each job's params)
and by the scripts (to rebuild data sets), so both agree by construction.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from spatialpool.data.kinds import kind

# torch, torchvision and the training code are imported inside the functions that need them: the
# rule files import this module when Snakemake parses them, and configs without images pay nothing.

# ImageTrainConfig fields that do not change results: never rerun triggers.
NOT_TRIGGERS = ("progress_seconds",)


def normalise(images: dict | None) -> dict:
    """The section with data sets, groups and architectures keyed by name ({} without a section).

    In the config all three are lists (`datasets: [{name: ..., kind: ...}]`, `groups: [{name: ...,
    archs: [{arch: ...}, ...]}]`): Snakemake merges a --configfile into config.yaml key by key, so
    dicts would add the default's entries to every other configuration, while lists replace them.
    """
    if not images:
        return {}
    out = dict(images)
    out["datasets"] = {d["name"]: {k: v for k, v in d.items() if k != "name"} for d in images["datasets"]}
    out["groups"] = {g["name"]: {**{k: v for k, v in g.items() if k != "name"},
                                 "archs": {a["arch"]: {k: v for k, v in a.items() if k != "arch"} for a in g["archs"]}}
                     for g in images["groups"]}
    return out


def noise_label(value) -> str:
    """A noise std as it appears in paths: 0, 0.01, 10, 1e-05 ..."""
    return f"{float(value):g}"


def dataset_of(images: dict, group: str) -> dict:
    return images["datasets"][images["groups"][group]["dataset"]]


def task_of(images: dict, group: str) -> str:
    return kind(dataset_of(images, group)["kind"]).task


def arch_spec(images: dict, group: str, arch: str) -> dict:
    """The architecture's settings in a group: width_factor, seeds, noise (labels), train overrides."""
    g = images["groups"][group]
    a = g["archs"][arch]
    return dict(
        width_factor=float(a.get("width_factor", g.get("width_factor", 1.0))),
        seeds=list(a.get("seeds", g["seeds"])),
        noise=[noise_label(v) for v in a.get("noise", g.get("noise", [0]))],
        train={**g.get("train", {}), **a.get("train", {})},
    )


def grid(images: dict, groups=None) -> list[dict]:
    """Every trained net: dicts with group, arch, noise (label), seed, in config order."""
    out = []
    for group in groups or images["groups"]:
        for arch in images["groups"][group]["archs"]:
            spec = arch_spec(images, group, arch)
            for noise in spec["noise"]:
                for seed in spec["seeds"]:
                    out.append(dict(group=group, arch=arch, noise=noise, seed=seed))
    return out


def train_config(images: dict, group: str, arch: str, noise: str):
    """The net's ImageTrainConfig."""
    from spatialpool.training.protocols import paper_protocol
    spec = arch_spec(images, group, arch)
    overrides = dict(spec["train"])
    epochs = overrides.pop("epochs", 250)
    return paper_protocol(task_of(images, group), arch, epochs=epochs, noise_std=float(noise), **overrides)


def train_params(images: dict, group: str, arch: str, noise: str) -> dict:
    """The resolved training settings as a plain dict (the rule's params: a change reruns the net)."""
    cfg = dataclasses.asdict(train_config(images, group, arch, noise))
    return {k: v for k, v in sorted(cfg.items()) if k not in NOT_TRIGGERS}


# --------------------------------------------------------------------------- data sets


def make_dataset(spec: dict):
    """A generated data set from its config entry, as ImageSplits (the kind's `make`, datasets.py).

    Raises ValueError for a kind that is prepared by a rule of its own (CIFAR-10), KeyError for an
    unregistered kind.
    """
    import importlib
    k = kind(spec["kind"])
    if k.make is None:
        raise ValueError(f"data set kind {spec['kind']!r} is not generated; it is prepared by its own rule")
    module, attr = k.make.split(":")
    return getattr(importlib.import_module(module), attr)(spec)


def digits_from_config(spec: dict):
    from spatialpool.data.images import load_digits_images
    return load_digits_images(split_seed=spec["split_seed"], n_val=spec["n_val"], n_test=spec["n_test"])


def scale_detection_2d_from_config(spec: dict):
    from spatialpool.data.images import Task2D, make_scale_detection_2d
    task = Task2D(side=spec["side"], xi=spec["xi"], gap=spec["gap"])
    return make_scale_detection_2d(task, spec["n_train"], spec["n_test"], spec["seed"],
                                   n_val=spec["n_val"], pad_to=spec.get("pad_to", 32))


def save_splits(splits, path) -> None:
    import torch
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dataclasses.asdict(splits), path)


def load_dataset(spec: dict, path):
    """The data set (ImageSplits) of a config entry from the file its data rule wrote.

    Raises CorruptedIntermediate (images.DataIntegrityError for CIFAR-10), naming the file and
    how to rebuild it, if the file is missing or unreadable.
    """
    from spatialpool.data.images import ImageSplits, load_cifar10
    from .io import read_torch
    if not kind(spec["kind"]).generated:  # the one prepared kind: CIFAR-10 (rule cifar10_dataset)
        return load_cifar10(path, n_val=spec["n_val"], split_seed=spec["split_seed"],
                            n_train=spec.get("n_train"), n_test=spec.get("n_test"))
    return ImageSplits(**read_torch(path, weights_only=False))


def n_test(spec: dict) -> int:
    """Test-set size of a data set's config entry (CIFAR-10: 10000 unless the entry's n_test)."""
    return kind(spec["kind"]).test_size(spec)


def image_side(spec: dict) -> int:
    return kind(spec["kind"]).side(spec)
