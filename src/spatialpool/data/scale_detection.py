"""One-dimensional scale-detection tasks of section 4 (and their 1-pixel deformations).

An input is a length-L signal with two active pixels of value sqrt(L/2), so ||x||^2 = L.
Every unordered pair of distinct sites is enumerated (no sampling), the classes are balanced
by keeping the smaller class whole and a seeded random subset of the larger one, and the
result is split into training points and a test set by one seeded permutation.

Task 1 ("distance"): periodic distance d between the pixels; +1 if d < xi - gap/2,
-1 if d >= xi + gap/2, the pairs in between dropped.
Task 2 ("patches"): non-overlapping patches of size xi; +1 iff both pixels share a patch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Task:
    kind: str  # "distance" (task 1) or "patches" (task 2)
    length: int
    xi: int
    gap: int = 0

    def __post_init__(self):
        if self.kind not in ("distance", "patches"):
            raise ValueError(f"unknown task kind {self.kind!r}: expected 'distance' or 'patches'")
        if self.kind == "distance" and self.gap > self.xi:
            raise ValueError(f"gap {self.gap} is larger than the scale xi {self.xi}")
        if self.kind == "patches" and self.length % self.xi:
            raise ValueError(f"length {self.length} is not a multiple of the patch size xi {self.xi}")

    @property
    def periodic(self) -> bool:
        return self.kind == "distance"

    def distance(self, r1, r2):
        d = np.abs(np.asarray(r2) - np.asarray(r1))
        return np.minimum(d, self.length - d) if self.periodic else d

    def label(self, r1, r2):
        """+1 / -1 labels, 0 where task 1 drops the pair (inside the gap)."""
        r1, r2 = np.asarray(r1), np.asarray(r2)
        if self.kind == "patches":
            return np.where(r1 // self.xi == r2 // self.xi, 1, -1)
        d = self.distance(r1, r2)
        half = self.gap / 2
        return np.where(d < self.xi - half, 1, np.where(d >= self.xi + half, -1, 0))


def all_pairs(task: Task):
    """Every unordered pair of distinct sites with its label (dropped pairs removed)."""
    r1, r2 = np.triu_indices(task.length, k=1)
    y = task.label(r1, r2)
    keep = y != 0
    return r1[keep], r2[keep], y[keep]


def class_counts(task: Task) -> tuple[int, int]:
    _, _, y = all_pairs(task)
    return int((y == 1).sum()), int((y == -1).sum())


def render(task: Task, r1, r2) -> np.ndarray:
    """Signals [N, 1, L]; coinciding pixels add up."""
    r1, r2 = np.atleast_1d(r1), np.atleast_1d(r2)
    x = np.zeros((len(r1), 1, task.length))
    amp = np.sqrt(task.length / 2)
    rows = np.arange(len(r1))
    np.add.at(x, (rows, 0, r1), amp)
    np.add.at(x, (rows, 0, r2), amp)
    return x


def make_dataset(task: Task, n_train: int, seed: int) -> dict:
    """Balanced, seeded train/test split of all pairs. Returns numpy arrays and the seed."""
    r1, r2, y = all_pairs(task)
    n_pos, n_neg = int((y == 1).sum()), int((y == -1).sum())
    n_class = min(n_pos, n_neg)
    rng = np.random.default_rng(seed)
    keep = np.concatenate([
        rng.choice(np.flatnonzero(y == c), size=n_class, replace=False) for c in (1, -1)
    ])
    keep = rng.permutation(keep)
    if n_train >= len(keep):
        raise ValueError(f"n_train={n_train} leaves no test data: only {len(keep)} balanced pairs")
    train, test = keep[:n_train], keep[n_train:]
    return {
        "train_sites": np.stack([r1[train], r2[train]], 1),
        "train_y": y[train],
        "test_sites": np.stack([r1[test], r2[test]], 1),
        "test_y": y[test],
        "seed": seed,
    }


def deform_sites(task: Task, sites: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move each active pixel by +-1 with probability 1/2 (sec. 4).

    Task 1 is periodic, so moves wrap around. Task 2 undoes a move that would take a pixel
    out of its patch (or out of the signal), which keeps the label.
    """
    step = rng.choice(np.array([-1, 1]), size=sites.shape)
    moved = sites + step
    if task.periodic:
        return moved % task.length
    same_patch = (moved >= 0) & (moved < task.length) & (moved // task.xi == sites // task.xi)
    return np.where(same_patch, moved, sites)
