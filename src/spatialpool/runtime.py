"""One place for what every stage needs from its machine: seed derivation, the device, atomic writes.

- ``seed_words(entropy, n)``: n independent 32-bit seeds from an integer or a list of integers
  (numpy's SeedSequence): the 1D nets' init and minibatch seeds (training.scale_detection.init_seeds), an image
  net's init / batch / augmentation / noise / dropout seeds (training.images.RunSeeds), a probe
  image's draws (perturbations.registry.image_seed), a channel permutation (measurement.images.shuffle_seed).
  Every seed is recorded with the result it made.
- ``pick_device(name)``: ``"auto"`` is CUDA when torch sees a GPU, else the CPU.
- ``atomic_write(path, write)``: the file appears whole or not at all (a killed job leaves no
  partial output): written beside its destination, flushed to disk, then renamed into place.
- ``flush_denormals()``: a block in which the CPU computes with subnormal floats as zeros (the
  1D nets' training, where swish makes them and x86 cores are slow on them).
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def seed_words(entropy, n: int, dtype=np.uint32) -> list[int]:
    """n seeds derived from entropy (an int or a sequence of ints) by numpy's SeedSequence."""
    return [int(w) for w in np.random.SeedSequence(entropy).generate_state(n, dtype)]


# numpy's SeedSequence hash (numpy/random/bit_generator.pyx), for pair_seeds below
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _MASK32 = 0xCA01F9DD, 0x4973F715, 0xFFFFFFFF


def pair_seeds(first: int, seconds) -> np.ndarray:
    """uint64 [n]: seed_words([first, s], 1, np.uint64)[0] for every s in `seconds`, in one
    vectorised pass instead of one SeedSequence per pair (a probe's per-image seeds: measured at
    about 25 us each, as much as drawing the image's perturbations). Pairs of 32-bit integers
    only (each is then one entropy word); ValueError otherwise. tests/test_diffeo.py checks
    it against numpy for every branch of the hash."""
    second = np.asarray(seconds, dtype=np.int64)
    if not 0 <= first <= _MASK32 or second.size and not (0 <= second.min() and second.max() <= _MASK32):
        raise ValueError("pair_seeds takes integers in [0, 2**32); use seed_words for others")
    words = np.uint64(_MASK32)

    def hasher(init: int, mult: int):
        """SeedSequence's hashmix with its own running constant (a Python int: it evolves the
        same way for every pair)."""
        const = init

        def hashmix(value):
            nonlocal const
            value = value ^ np.uint64(const)
            const = (const * mult) & _MASK32
            value = (value * np.uint64(const)) & words
            return value ^ (value >> np.uint64(16))
        return hashmix

    def mix(x, y):
        result = (np.uint64(_MIX_L) * x - np.uint64(_MIX_R) * y) & words
        return result ^ (result >> np.uint64(16))

    hashmix = hasher(_INIT_A, _MULT_A)
    zero = np.zeros(second.shape, np.uint64)
    entropy = [np.full(second.shape, first, np.uint64), second.astype(np.uint64), zero, zero]  # pool of 4 words
    pool = [hashmix(word) for word in entropy]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    output = hasher(_INIT_B, _MULT_B)
    state = [output(word) for word in pool[:2]]  # generate_state(2 uint32 words), read as one little-endian uint64
    return state[0] | (state[1] << np.uint64(32))


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


@contextmanager
def flush_denormals(enabled: bool = True):
    """Within the block, the CPU reads and writes subnormal floats (|x| below float32's smallest
    normal number 1.2e-38, float64's 2.2e-308) as zeros: x86's flush-to-zero and
    denormals-are-zero modes, through torch.set_flush_denormal. Off again on exit (torch's default;
    torch has no getter for the previous state). enabled=False: no change. GPUs are not affected.

    Why: x86 cores take microcode assists, tens to hundreds of cycles, on every operation with a
    subnormal operand or result. Swish at large beta makes them: sigmoid(beta z) in its
    negative tail, and the gradients through it (measured: 100-400 subnormal elements per layer
    in the gradients of a freshly initialised swish:16 net of the default config). There a
    stacked training step took 15.9 ms, and 5.2 ms with them flushed; the default swish:16 block
    trained 1.22x faster over its 24,000 steps (benchmarks/flush_subnormals.py, 2026-12-06,
    Intel Xeon; docs/performance.md, "Subnormal floats"). What flushing changes
    is below 1.2e-38 in magnitude: it is absorbed by every sum with a normal term, and the
    default config's blocks train to bitwise the same weights either way (tests/test_stacked.py
    checks a case where the gradients hold subnormals).
    """
    import torch
    if not enabled:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
