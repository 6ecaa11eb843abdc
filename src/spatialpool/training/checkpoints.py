"""The one checkpoint layout: what every training job writes and every measuring job reads.

A checkpoint file (torch.save, written atomically) holds

    {"layout": 1,
     "arch": {"name": <registered architecture>, **what models.registry.build needs},
     "seeds": {seed: {"states": {state: state dict or None}, **per-seed extras}}}

States are named by when they were taken, with the names of every table's ``state`` column:

- ``init``: at initialisation;
- ``t_star`` (1D nets, paper sec. 4.3): the first epoch with zero training loss; None if never reached;
- ``best`` (image nets, paper app. C.1): the epoch of lowest selection error (test error, as the
  authors select, or validation error), the checkpoint the image measurements use;
- ``final``: the end of training.

A 1D training job writes all its seeds in one file (they train as one stacked model); an image
job writes its one seed. ``load_checkpoint(path, seed)`` returns that seed's record, and
``models.registry.build(record["arch"], record["states"][state])`` the net.
"""
from __future__ import annotations

import os
import re
from typing import Any

from spatialpool.io import CorruptedIntermediate, read_torch
from spatialpool.runtime import atomic_write

LAYOUT = 1
STATES = ("init", "t_star", "best", "final")
# Trajectory states: the weights after epoch n (image nets with trajectory_epochs), "epoch<n>".
TRAJECTORY_STATE = re.compile(r"epoch[1-9][0-9]*")


def is_state(name: str) -> bool:
    """A state name of the vocabulary: one of STATES or a trajectory state "epoch<n>"."""
    return name in STATES or TRAJECTORY_STATE.fullmatch(name) is not None


def trajectory_epoch(name: str) -> int:
    """The epoch of a trajectory state ("epoch12" -> 12); init is epoch 0. ValueError otherwise."""
    if name == "init":
        return 0
    if TRAJECTORY_STATE.fullmatch(name) is None:
        raise ValueError(f"{name!r} is not a trajectory state (init or epoch<n>)")
    return int(name[5:])


def save_checkpoint(path: str | os.PathLike, arch: dict, seeds: dict[int, dict]) -> None:
    """Write a checkpoint atomically. arch: must name a registered architecture ("name");
    seeds: seed -> {"states": {state: state dict or None}, ...}. ValueError for a state name
    outside the vocabulary (is_state) or a missing arch name."""
    import torch

    if "name" not in arch:
        raise ValueError("a checkpoint's arch must name its registered architecture ('name')")
    for seed, record in seeds.items():
        unknown = sorted(s for s in record["states"] if not is_state(s))
        if unknown:
            raise ValueError(f"seed {seed}: unknown states {unknown}; expected some of {STATES} or epoch<n>")
    payload = {"layout": LAYOUT, "arch": dict(arch), "seeds": {int(s): r for s, r in seeds.items()}}
    atomic_write(path, lambda fh: torch.save(payload, fh))


def checkpoint_seeds(path: str | os.PathLike) -> list[int]:
    """The seeds a checkpoint holds, sorted (CorruptedIntermediate as load_checkpoint)."""
    ckpt = read_torch(path, mmap=True, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or ckpt.get("layout") != LAYOUT:
        raise CorruptedIntermediate(path, f"not a checkpoint of layout {LAYOUT} (written by another version?)")
    return sorted(int(s) for s in ckpt["seeds"])


def load_checkpoint(path: str | os.PathLike, seed: int, **load_kwargs: Any) -> dict:
    """One seed's record: {"arch", "seed", "states", **extras}. Memory-mapped by default, so a
    per-seed job of a many-seed file reads only its own tensors.

    Raises CorruptedIntermediate, naming the file, if it is missing, unreadable or not in this
    layout (a checkpoint written by an older version of the workflow: rerun its training rule),
    and KeyError naming the seeds it holds if `seed` is not one of them."""
    load_kwargs = {"mmap": True, "map_location": "cpu", "weights_only": False, **load_kwargs}
    ckpt = read_torch(path, **load_kwargs)
    if not isinstance(ckpt, dict) or ckpt.get("layout") != LAYOUT:
        raise CorruptedIntermediate(path, f"not a checkpoint of layout {LAYOUT} (written by another version?)")
    if int(seed) not in ckpt["seeds"]:
        raise KeyError(f"{path} holds seeds {sorted(ckpt['seeds'])}, not seed {seed}")
    return {"arch": ckpt["arch"], "seed": int(seed), **ckpt["seeds"][int(seed)]}
