"""Image data for the real-data half (paper sec. 2-3, README, 'Real images').

Every data set comes out as an `ImageSplits`: *raw* images (uint8 0-255, or floats on their
own scale) plus the per-channel mean/std that normalise them. Raw storage matters: the
paper's augmentation pads with black pixels *before* normalisation (torchvision's RandomCrop
on the PIL image), so a padded pixel must become -mean/std, not 0. The training loop pads,
crops and flips raw batches on the device and normalises afterwards.

- CIFAR-10: prepared once into one uint8 .npz by data/cifar10.py (download or official
  archive, md5-checked), which `load_cifar10` reads in a second.
- Noisy CIFAR-10 (figs 1 right, C3): x + std * z / sqrt(C H W) after normalisation, a fresh
  z per access, train and test (`InputNoise`).
- ImageNet: an ImageFolder validation tree with the standard eval transform, and torchvision
  pretrained models by name or from a local weights file.
- Digits: scikit-learn's bundled 8x8 digits, upsampled to 32x32 and copied to 3 channels,
  the offline stand-in that lets CIFAR-style nets run unchanged with no download.
- 2D scale detection, task 1 (sec. 3): two active pixels on a side x side image, label by
  Euclidean distance with a gap. Sites are the product of the two coordinates, so diagonal
  configurations exist (the authors' generator, built from permutations, never makes them).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import torch
import torch.nn.functional as F_

from spatialpool.io import CorruptedIntermediate, read_npz

# --------------------------------------------------------------------------- containers


@dataclass
class ImageSplits:
    """Raw images [N, C, H, W] and labels per split, and how to normalise them.

    `scale` maps raw values to [0, 1] before (x - mean) / std: 255 for uint8, 1 for floats.
    `info` records where the data came from and every seed used to draw or split it.
    """
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale: float = 1.0
    classes: list = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def split(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"x_{which}"), getattr(self, f"y_{which}")

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Raw images -> float normalised images, on x's device."""
        mean = torch.tensor(self.mean, device=x.device, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=torch.float32).view(1, -1, 1, 1)
        return (x.float() / self.scale - mean) / std

    def normalised(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.split(which)
        return self.normalise(x), y

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


# --------------------------------------------------------------------------- CIFAR-10

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)


class DataIntegrityError(RuntimeError):
    """A data file is missing, corrupted or fails its checksum; the message names the file."""


def load_cifar10(npz: str | os.PathLike, n_val: int = 5000, split_seed: int = 0,
                 n_train: int | None = None, n_test: int | None = None) -> ImageSplits:
    """CIFAR-10 from prepare_cifar10's file; n_val training images held out by a seeded draw.

    The authors select checkpoints on the test set and train on all 50000 images; n_val = 0
    reproduces that (select on 'test' then). n_train / n_test (None: all) keep a seeded random
    subset of the remaining training images / of the test images (reduced configurations); the
    kept indices are in `info`. `info["label"]` names the data as results must show it
    ("CIFAR-10" or "CIFAR-10 (JPEG copy)", data/cifar10.py). Raises DataIntegrityError naming
    the file if it is missing or unreadable, ValueError for sizes larger than the file holds.
    """
    path = Path(npz)
    try:
        arrays = read_npz(path)
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test", "classes") if k not in arrays]
        if missing:
            raise CorruptedIntermediate(path, f"no arrays {missing}")
    except CorruptedIntermediate as err:
        # the message names the file and says how to rebuild it (the cifar10 rule remakes it)
        raise DataIntegrityError(f"CIFAR-10: {err}") from err
    x, y = torch.from_numpy(arrays["x_train"]), torch.from_numpy(arrays["y_train"]).long()
    train_idx, val_idx = _split_indices(len(x), n_val, split_seed)
    train_idx = _subset(train_idx, n_train, [split_seed, 1], "n_train")
    test_idx = _subset(torch.arange(len(arrays["x_test"])), n_test, [split_seed, 2], "n_test")
    label = str(arrays["label"]) if "label" in arrays else "CIFAR-10"
    return ImageSplits(
        "cifar10", x[train_idx], y[train_idx], x[val_idx], y[val_idx],
        torch.from_numpy(arrays["x_test"])[test_idx], torch.from_numpy(arrays["y_test"]).long()[test_idx],
        CIFAR10_MEAN, CIFAR10_STD, scale=255.0, classes=[str(c) for c in arrays["classes"]],
        info=dict(source=str(path), label=label, source_form=str(arrays.get("source_form", "official")),
                  source_sha256=str(arrays.get("source_sha256", "")), n_val=n_val, split_seed=split_seed,
                  train_index=train_idx.numpy(), val_index=val_idx.numpy(), test_index=test_idx.numpy()))


def _subset(index: torch.Tensor, n: int | None, seed, what: str) -> torch.Tensor:
    """A seeded random subset of n of `index` (sorted), or all of it for n = None."""
    if n is None:
        return index
    if not 0 < n <= len(index):
        raise ValueError(f"{what}={n} must be in [1, {len(index)}]")
    keep = np.sort(np.random.default_rng(seed).choice(len(index), n, replace=False))
    return index[torch.from_numpy(keep)]


def _split_indices(n: int, n_val: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not 0 <= n_val < n:
        raise ValueError(f"n_val={n_val} must be in [0, {n})")
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    return perm[n_val:].sort().values, perm[:n_val].sort().values


# --------------------------------------------------------------------------- noisy CIFAR-10


class InputNoise:
    """x + std * z / sqrt(C H W) on normalised images (noisy CIFAR-10, README, 'Real images').

    ||z|| / sqrt(C H W) is about 1, so the corruption has norm about std. A fresh z on every
    call (every access, train and test), drawn from a seeded generator on x's device.
    """

    def __init__(self, std: float, seed: int, device: str | torch.device = "cpu"):
        self.std = float(std)
        self.seed = seed
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.std == 0:
            return x
        z = torch.randn(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
        return x + self.std * z / math.sqrt(x[0].numel())


# --------------------------------------------------------------------------- ImageNet

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_eval_transform(resize: int = 256, crop: int = 224):
    """The standard evaluation transform of torchvision's ImageNet models."""
    from torchvision import transforms as T
    return T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor(),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def imagenet_val_folder(root: str | os.PathLike, transform=None):
    """A validation tree root/<wnid>/*.JPEG read by data/image_folder.py's rules: hidden folders and
    files (``.ipynb_checkpoints/``, ``._name.JPEG``, ``.DS_Store``) and non-image files are never a
    class or a sample; every image is converted to RGB; an unreadable file raises
    ImageFolderError naming it.

    Class indices are the sorted folder names, which is torchvision's class order only when the
    folders are all 1000 WordNet ids: `complete` (an attribute of the returned ImageFolder) says
    whether they are, and a probe error on a subset of the classes is meaningless.
    """
    from PIL import Image, UnidentifiedImageError
    from torchvision.datasets import ImageFolder

    from spatialpool.data.image_folder import ImageFolderError, is_sample

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"ImageNet validation folder {root} does not exist")

    class Folder(ImageFolder):
        def find_classes(self, directory):
            classes = sorted(e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith("."))
            if not classes:
                raise ImageFolderError(f"{directory}: no class folders")
            return classes, {c: i for i, c in enumerate(classes)}

    def load(path):
        try:
            with Image.open(path) as img:
                return img.convert("RGB")
        except (UnidentifiedImageError, OSError) as err:
            raise ImageFolderError(f"{path}: not a readable image ({err})") from None

    folder = Folder(str(root), transform=transform or imagenet_eval_transform(), loader=load,
                    is_valid_file=lambda p: is_sample(PurePosixPath(Path(p).relative_to(root).as_posix())))
    folder.complete = len(folder.classes) == 1000
    return folder


def imagenet_val_loader(root: str | os.PathLike, batch_size: int = 100, num_workers: int = 0,
                        transform=None) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(imagenet_val_folder(root, transform), batch_size=batch_size,
                                       shuffle=False, num_workers=num_workers)


def resolve_weights(name: str, weights: str = "DEFAULT"):
    """torchvision's weights enum member for model `name` ('DEFAULT', 'IMAGENET1K_V1', ...)."""
    from torchvision import models
    return models.get_model_weights(name)[weights]


def pretrained_imagenet_model(name: str, weights: str | os.PathLike = "DEFAULT") -> torch.nn.Module:
    """A torchvision ImageNet model in eval mode with every in-place activation made out-of-place.

    weights: a torchvision weights name (fetched and cached by torchvision under $TORCH_HOME),
    or the path of a local state-dict file (.pth) for machines without internet. In-place
    ReLUs are switched off so forward hooks see each layer's own output (a defect of the authors' code, README).
    """
    from torchvision import models
    path = Path(weights)
    if path.suffix in (".pth", ".pt") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"weights file {path} does not exist")
        model = models.get_model(name, weights=None)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    else:
        model = models.get_model(name, weights=resolve_weights(name, str(weights)))
    for module in model.modules():
        if getattr(module, "inplace", False):
            module.inplace = False
    return model.eval()


# --------------------------------------------------------------------------- digits


def load_digits_images(split_seed: int = 0, n_val: int = 300, n_test: int = 300,
                       size: int = 32, channels: int = 3) -> ImageSplits:
    """scikit-learn's 1797 8x8 digits as CIFAR-shaped images, with a seeded 3-way split.

    Pixels 0..16 are scaled to [0, 1], upsampled bilinearly to size x size and copied to
    `channels` channels. mean/std are measured on the training split only.
    """
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    x = F_.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    x = x.expand(-1, channels, -1, -1).contiguous()
    y = torch.tensor(digits.target, dtype=torch.long)
    n = len(x)
    if n_val + n_test >= n:
        raise ValueError(f"n_val + n_test = {n_val + n_test} leaves no training images of {n}")
    perm = torch.from_numpy(np.random.default_rng(split_seed).permutation(n))
    test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    mean = x[train].mean(dim=(0, 2, 3))
    std = x[train].std(dim=(0, 2, 3))
    return ImageSplits("digits", x[train], y[train], x[val], y[val], x[test], y[test],
                       tuple(mean.tolist()), tuple(std.tolist()), scale=1.0,
                       classes=[str(c) for c in range(10)],
                       info=dict(source="sklearn.datasets.load_digits", label="digits (CIFAR-10 stand-in)",
                                 split_seed=split_seed,
                                 n_val=n_val, n_test=n_test, size=size, train_index=train.numpy(),
                                 val_index=val.numpy(), test_index=test.numpy()))


# --------------------------------------------------------------------------- 2D scale detection


@dataclass(frozen=True)
class Task2D:
    """Task 1 in 2D (sec. 3): label +1 if d < xi - gap/2, -1 if d >= xi + gap/2, else dropped.

    d is the Euclidean distance between the two active pixels (no periodicity).
    """
    side: int = 28
    xi: float = 14.0
    gap: float = 2.0

    def __post_init__(self):
        if self.gap > self.xi:
            raise ValueError(f"gap {self.gap} is larger than the scale xi {self.xi}")

    def coords(self, sites) -> np.ndarray:
        """Site index -> (row, col); sites range over the full product of coordinates."""
        sites = np.asarray(sites)
        return np.stack([sites // self.side, sites % self.side], -1)

    def distance(self, p1, p2) -> np.ndarray:
        d = np.asarray(p1, dtype=float) - np.asarray(p2, dtype=float)
        return np.sqrt((d ** 2).sum(-1))

    def label(self, p1, p2) -> np.ndarray:
        """+1 / -1, and 0 for pairs inside the gap."""
        d = self.distance(p1, p2)
        half = self.gap / 2
        return np.where(d < self.xi - half, 1, np.where(d >= self.xi + half, -1, 0))


def all_pairs_2d(task: Task2D) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unordered pair of distinct pixels, as (row, col) [M, 2] twice, with labels (gap dropped)."""
    s1, s2 = np.triu_indices(task.side * task.side, k=1)
    p1, p2 = task.coords(s1), task.coords(s2)
    y = task.label(p1, p2)
    keep = y != 0
    return p1[keep], p2[keep], y[keep]


def render_2d(task: Task2D, p1, p2, amplitude: float | None = None, pad_to: int | None = None) -> torch.Tensor:
    """Images [N, 1, S, S] with value `amplitude` at both active pixels (default sqrt(side^2 / 2),
    so ||x||^2 = side^2, the 1D convention of sec. 4), zero-padded symmetrically to pad_to."""
    p1, p2 = np.atleast_2d(p1), np.atleast_2d(p2)
    amp = math.sqrt(task.side ** 2 / 2) if amplitude is None else amplitude
    x = torch.zeros(len(p1), 1, task.side, task.side)
    rows = torch.arange(len(p1))
    for p in (p1, p2):
        p = torch.as_tensor(p, dtype=torch.long)
        x.index_put_((rows, torch.zeros_like(rows), p[:, 0], p[:, 1]), torch.tensor(amp), accumulate=True)
    if pad_to is not None and pad_to != task.side:
        if pad_to < task.side:
            raise ValueError(f"pad_to={pad_to} is smaller than the image side {task.side}")
        before = (pad_to - task.side) // 2
        after = pad_to - task.side - before
        x = F_.pad(x, (before, after, before, after))
    return x


NEIGHBOURS_8 = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)])


def move_pixels_2d(task: Task2D, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The 2D 'diffeo': each active pixel goes to a uniformly drawn one of its 8 neighbours,
    clipped to the image (so a border pixel may stay or slide along the border).

    Each pixel moves by at most sqrt(2), so d changes by at most 2 sqrt(2): the sign of
    xi - d is protected only when gap/2 > 2 sqrt(2), the classes (+1 vs -1) when gap > 2 sqrt(2).
    With the paper's gap 2 some moves carry a pair across xi.
    """
    p = np.asarray(p)
    step = NEIGHBOURS_8[rng.integers(0, 8, size=p.shape[:-1])]
    return np.clip(p + step, 0, task.side - 1)


def make_scale_detection_2d(task: Task2D, n_train: int, n_test: int, seed: int, n_val: int = 0,
                            pad_to: int | None = 32, amplitude: float | None = None) -> ImageSplits:
    """Seeded, class-balanced draw of distinct pairs, split into train / val / test.

    Half of the n_train + n_val + n_test pairs (rounded down) are drawn from the +1 class and
    the rest from the -1 class, without replacement, then shuffled and split. Labels are
    float +-1 (hinge loss). Images are not normalised (mean 0, std 1 in the container).
    """
    p1, p2, y = all_pairs_2d(task)
    total = n_train + n_val + n_test
    n_pos = total // 2
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == -1)
    if n_pos > len(pos) or total - n_pos > len(neg):
        raise ValueError(f"{total} points need {n_pos} / {total - n_pos} per class; "
                         f"the task has {len(pos)} / {len(neg)}")
    keep = rng.permutation(np.concatenate([rng.choice(pos, n_pos, replace=False),
                                           rng.choice(neg, total - n_pos, replace=False)]))
    parts = np.split(keep, [n_train, n_train + n_val])
    xs = [render_2d(task, p1[k], p2[k], amplitude, pad_to) for k in parts]
    ys = [torch.tensor(y[k], dtype=torch.float32) for k in parts]
    sites = {f"{name}_pixels": np.stack([p1[k], p2[k]], 1) for name, k in zip(("train", "val", "test"), parts)}
    return ImageSplits("scale_detection_2d", xs[0], ys[0], xs[1], ys[1], xs[2], ys[2],
                       (0.0,), (1.0,), scale=1.0, classes=[-1, 1],
                       info=dict(task=dict(side=task.side, xi=task.xi, gap=task.gap), seed=seed,
                                 label="2D scale detection",
                                 n_train=n_train, n_val=n_val, n_test=n_test, pad_to=pad_to,
                                 amplitude=math.sqrt(task.side ** 2 / 2) if amplitude is None else amplitude,
                                 **sites))
