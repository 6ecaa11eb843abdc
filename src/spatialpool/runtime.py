"""One place for what every stage needs from its machine: seed derivation, the device, atomic writes.

- ``seed_words(entropy, n)``: n independent 32-bit seeds from an integer or a list of integers
  (numpy's SeedSequence): the 1D nets' init and minibatch seeds (training.scale_detection.init_seeds), an image
  net's init / batch / augmentation / noise / dropout seeds (training.images.RunSeeds), a probe
  image's draws (perturbations.registry.image_seed), a channel permutation (measurement.images.shuffle_seed).
  Every seed is recorded with the result it made.
- ``pick_device(name)``: ``"auto"`` is CUDA when torch sees a GPU, else the CPU.
- ``atomic_write(path, write)``: the file appears whole or not at all (a killed job leaves no
  partial output): written beside its destination, flushed to disk, then renamed into place.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def seed_words(entropy, n: int, dtype=np.uint32) -> list[int]:
    """n seeds derived from entropy (an int or a sequence of ints) by numpy's SeedSequence."""
    return [int(w) for w in np.random.SeedSequence(entropy).generate_state(n, dtype)]


def pick_device(name: str = "auto"):
    """torch.device: name, or for "auto" CUDA when available, else the CPU."""
    import torch
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def atomic_write(path, write) -> Path:
    """Call write(binary file object) on a temporary file beside `path`, fsync it, rename it into
    place; on any error the temporary file is removed and `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
