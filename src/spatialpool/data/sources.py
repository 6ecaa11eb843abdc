"""Images to measure any model on (the `spatialpool measure` command), as an ImageSplits whose test
split is the pool the probe set is drawn from.

A data source is one string:

- ``digits`` - scikit-learn's digits as 32 x 32 RGB images (data/images.load_digits_images,
  split seed 0, 300 test images; the workflow's default digits data set);
- ``cifar10:PATH`` - CIFAR-10's 10,000 test images; PATH is the workflow's prepared
  ``cifar10.npz``, or any source data/cifar10.py reads (official archive or batches, an image
  folder or archive such as a JPEG copy), converted on the fly (about 20 s);
- ``PATH`` - an image folder or ``.tar``/``.tar.gz`` archive in the ImageFolder layout, read by
  data/image_folder.py (hidden entries ignored, every 8-bit mode to RGB); its ``test/`` split when
  it has ``train/`` and ``test/``, else the whole tree. Classes are the sorted folder names.

The transform (``Transform``): with ``resize`` the images' shorter side is scaled to ``resize``
(bilinear, antialiased) and the centre square kept, then with ``crop`` the centre ``crop`` x
``crop`` (torchvision's Resize + CenterCrop evaluation transform, up to a one-pixel offset of the
crop for odd margins); without either, a folder's images must all have the first image's size.
``mean``/``std`` normalise; when not given: digits and CIFAR-10 use the workflow's constants, a
folder the per-channel mean and std of the pool itself.

Errors name the problem: FileNotFoundError for a missing path, ValueError for an unknown source,
an empty folder, images of mixed sizes without a resize rule, or a bad transform (``Transform``:
resize or crop under MIN_SIDE pixels, mean or std empty or not finite, std not > 0, and
``check_channels``: mean or std of another length than the images' channels).
"""
from __future__ import annotations

import io
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F_

from spatialpool.data.images import ImageSplits, load_cifar10, load_digits_images


MIN_SIDE = 3  # a diffeomorphism keeps the border fixed (diffeo.py): at 2 pixels a side nothing moves, D = G = 0


def side_problem(value: int) -> str:
    """Why an image side of `value` pixels cannot be measured (for value < MIN_SIDE)."""
    return (f"must be at least {MIN_SIDE} pixels, got {value}: a diffeomorphism keeps the image's border fixed, "
            f"so it needs a pixel inside it")


@dataclass(frozen=True)
class Transform:
    """resize: shorter side (pixels) or None; crop: centre crop side or None; mean/std: per channel
    on the [0, 1] scale, or None for the source's default (module docstring)."""
    resize: int | None = None
    crop: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self):
        """ValueError naming the field (and its command-line flag): resize or crop under MIN_SIDE
        pixels, an empty or non-finite mean or std, a std not > 0."""
        for key in ("resize", "crop"):
            value = getattr(self, key)
            if value is not None and value < MIN_SIDE:
                raise ValueError(f"{key} (--{key}) {side_problem(value)}")
        for key in ("mean", "std"):
            value = getattr(self, key)
            if value is not None and len(value) == 0:
                raise ValueError(f"{key} (--{key}) needs one value per channel, got none")
            if value is not None and not all(math.isfinite(v) for v in value):
                raise ValueError(f"{key} (--{key}) must be finite numbers, got {list(value)}")
        if self.std is not None and not all(v > 0 for v in self.std):
            raise ValueError(f"std (--std) must be > 0 for every channel, got {list(self.std)}")

    def check_channels(self, channels: int) -> None:
        """ValueError unless mean and std give one value, or one per channel, of `channels`."""
        for key in ("mean", "std"):
            value = getattr(self, key)
            if value is not None and len(value) not in (1, channels):
                raise ValueError(f"{key} (--{key}) gives {len(value)} values for images of {channels} channels; "
                                 f"give {channels} (or one for all)")

    def describe(self) -> str:
        parts = [f"resize {self.resize}" if self.resize else "", f"crop {self.crop}" if self.crop else ""]
        return ", ".join(p for p in parts if p) or "native size"


def _empty_like(x: torch.Tensor) -> torch.Tensor:
    return x[:0]


def _pool(name: str, x: torch.Tensor, y: torch.Tensor, mean, std, scale: float, classes, info) -> ImageSplits:
    return ImageSplits(name, _empty_like(x), _empty_like(y), _empty_like(x), _empty_like(y), x, y,
                       tuple(float(m) for m in mean), tuple(float(s) for s in std), scale=scale,
                       classes=list(classes), info=info)


def _resize_tensor(x: torch.Tensor, scale: float, t: Transform) -> tuple[torch.Tensor, float]:
    """Tensor images [N, C, H, W] through the transform's geometry; returns (images, scale)."""
    if not (t.resize or t.crop):
        return x, scale
    x = x.float() / scale
    if t.resize:
        h, w = x.shape[-2:]
        s = t.resize / min(h, w)
        x = F_.interpolate(x, size=(max(t.resize, round(h * s)), max(t.resize, round(w * s))), mode="bilinear",
                           align_corners=False, antialias=True)
    if t.crop:
        h, w = x.shape[-2:]
        if t.crop > min(h, w):
            raise ValueError(f"crop {t.crop} is larger than the images ({h} x {w}); give a larger resize")
        top, left = round((h - t.crop) / 2), round((w - t.crop) / 2)
        x = x[..., top:top + t.crop, left:left + t.crop]
    return x.clamp(0, 1).contiguous(), 1.0


def _native_size(source: Path) -> int:
    from PIL import Image

    from spatialpool.data.image_folder import entries
    for rel, data in entries(source):
        w, h = Image.open(io.BytesIO(data)).size
        if w != h:
            raise ValueError(f"{source}: {rel} is {w} x {h}, not square; give a resize rule (resize, crop)")
        return w
    raise ValueError(f"{source}: no image files (hidden entries and non-image files are ignored)")


def _folder(source: Path, t: Transform, log) -> ImageSplits:
    from spatialpool.data.image_folder import ImageFolderError, read_image_folder
    try:
        if t.resize or t.crop:
            size = t.resize or t.crop
            folder = read_image_folder(source, size, resize="shorter_side_center_crop", log=log)
        else:
            folder = read_image_folder(source, _native_size(source), log=log)
    except ImageFolderError as err:  # say it in the command's words
        raise ValueError(str(err).replace("(or choose resize: shorter_side_center_crop)",
                                          "(give a resize rule: resize and/or crop)")) from None
    split = "test" if "test" in folder["splits"] else "all"
    x, y = (torch.from_numpy(a) for a in folder["splits"][split])
    x, scale = _resize_tensor(x, 255.0, Transform(crop=t.crop) if t.resize else Transform())
    unit = x.float() / scale
    mean = t.mean or tuple(unit.mean(dim=(0, 2, 3)).tolist())
    std = t.std or tuple(unit.std(dim=(0, 2, 3)).clamp_min(1e-6).tolist())
    info = dict(source=str(source), label=f"image folder {source.name}", split=split,
                source_sha256=folder["source_sha256"] or "", files=folder["files"][split],
                normalisation="given" if t.mean else "the pool's own channel statistics")
    return _pool(source.name, x, y, mean, std, scale, folder["classes"], info)


def load_images(source: str, transform: Transform = Transform(), log=print) -> ImageSplits:
    """The pool of images a source names (module docstring): an ImageSplits whose test split holds
    them (raw, uint8 or [0, 1] floats [N, 3, H, W]) with the normalisation to apply; `info` says
    where they came from (label, source, split)."""
    t = transform
    if source == "digits":
        d = load_digits_images()
        x, scale = _resize_tensor(d.x_test, d.scale, t)
        d.info["label"] = "digits (scikit-learn, 32 x 32)"
        return _pool("digits", x, d.y_test, t.mean or d.mean, t.std or d.std, scale, d.classes, d.info)
    if source.startswith("cifar10:"):
        path = Path(source.removeprefix("cifar10:"))
        if not path.exists():
            raise FileNotFoundError(f"CIFAR-10 source {path} does not exist")
        if path.suffix == ".npz":
            c = load_cifar10(path, n_val=0)
        else:
            from spatialpool.data.cifar10 import prepare_cifar10
            with tempfile.TemporaryDirectory() as tmp:
                c = load_cifar10(prepare_cifar10(Path(tmp) / "cifar10.npz", source=path, log=log), n_val=0)
        x, scale = _resize_tensor(c.x_test, c.scale, t)
        return _pool("cifar10", x, c.y_test, t.mean or c.mean, t.std or c.std, scale, c.classes, c.info)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"data source {source!r} is neither 'digits', 'cifar10:PATH' nor an existing "
                                "image folder or archive")
    return _folder(path, t, log)


def check_side(splits: ImageSplits) -> None:
    """ValueError unless the pool's images are square with at least MIN_SIDE pixels a side, as the
    probe's diffeomorphisms need (n x n images, a pixel inside the fixed border)."""
    h, w = (int(v) for v in splits.x_test.shape[-2:])
    label = splits.info.get("label", splits.name)
    if h != w:
        raise ValueError(f"the images of {label} are {h} x {w} pixels, not square; give --resize and/or --crop")
    if h < MIN_SIDE:
        raise ValueError(f"the images of {label} are {h} x {w} pixels; their side {side_problem(h)}. "
                         f"Enlarge them with --resize {MIN_SIDE} or more")


def describe(splits: ImageSplits) -> str:
    """A data pool in words, for tables: its label and size."""
    return f"{splits.info.get('label', splits.name)}, {len(splits.x_test)} images of {tuple(splits.x_test.shape[1:])}"

