"""Image folders and their archives, read robustly: CIFAR-10 as image files, ImageNet validation trees.

Layout (torchvision's ImageFolder convention): ``<root>/train/<class>/<image>`` and
``<root>/test/<class>/<image>``, or a single tree ``<root>/<class>/<image>`` (split "all"; the
caller splits it by a seeded rule). ``<root>`` is a folder, or a ``.tar``, ``.tar.gz`` or ``.tgz``
archive, read in one sequential pass (seeking in a gzip stream restarts the decompression, so
random access into it is quadratic in its size); the tree may sit inside one wrapping folder.

Rules, the same for folders and archives:

- **Hidden entries are ignored**, never a class nor a sample: every path with a component that
  starts with "." (``.ipynb_checkpoints/``, macOS's ``._name.jpg``, ``.DS_Store``), and every file
  whose extension is not an image's (IMAGE_EXTENSIONS, any case).
- **Classes** are the sorted folder names of a split; the test split must have the train split's.
- **Decoding** (Pillow): every 8-bit mode (1, L, P, RGB, RGBA, LA, PA, CMYK, YCbCr, LAB, HSV) is
  converted to RGB by Pillow's own conversion (a palette is looked up, greyscale is copied to the
  three channels; an alpha channel is dropped, not composited: the colour values as stored).
  Modes with more than 8 bits per channel (I;16, I, F, RGB;16, ...) are refused, naming the
  file: their range is not 0-255 and a silent rescaling would invent values.
- **Size**: with ``resize="refuse"`` (the default) every image must be ``size`` x ``size`` and
  another size is refused, naming the file; with ``resize="shorter_side_center_crop"`` the
  shorter side is scaled to ``size`` (bilinear, antialiased) and the centre ``size`` x ``size``
  cropped, the standard evaluation transform.
- **An unreadable file** (truncated, not an image, empty) stops the reading with
  ImageFolderError naming it; the caller writes its output only after a complete read.

Raises ImageFolderError for a missing source, an empty tree, a class missing from a split, or any
file that breaks a rule; the message names the path (inside the archive, prefixed by it).
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
EIGHT_BIT_MODES = ("1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX")
RESIZE_RULES = ("refuse", "shorter_side_center_crop")
SPLITS = ("train", "test")


class ImageFolderError(ValueError):
    """A source that cannot be read as an image folder; the message names the offending path."""


def is_archive(source: str | os.PathLike) -> bool:
    name = str(source).lower()
    return name.endswith((".tar", ".tar.gz", ".tgz"))


def is_sample(path: PurePosixPath) -> bool:
    """An image file that is not hidden (no path component starts with '.')."""
    return not any(part.startswith(".") for part in path.parts) and path.suffix.lower() in IMAGE_EXTENSIONS


def entries(source: str | os.PathLike) -> Iterator[tuple[PurePosixPath, bytes]]:
    """(relative path, file bytes) of every sample of a folder (sorted) or an archive (in its
    order, one sequential pass). ImageFolderError if the source does not exist."""
    source = Path(source)
    if not source.exists():
        raise ImageFolderError(f"image folder source {source} does not exist")
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            rel = PurePosixPath(path.relative_to(source).as_posix())
            if is_sample(rel):
                yield rel, path.read_bytes()
        return
    if not is_archive(source):
        raise ImageFolderError(f"{source} is neither a folder nor a .tar/.tar.gz/.tgz archive")
    try:
        with tarfile.open(source, mode="r|*") as tar:
            for member in tar:
                rel = PurePosixPath(member.name.lstrip("./") if member.name.startswith("./") else member.name)
                if member.isfile() and is_sample(rel):
                    fh = tar.extractfile(member)
                    yield rel, fh.read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ImageFolderError(f"{source}: unreadable archive ({err})") from err


def decode(data: bytes, name: str, size: int, resize: str = "refuse") -> np.ndarray:
    """One image file's bytes -> uint8 [3, size, size] (the module's decoding and size rules)."""
    from PIL import Image, UnidentifiedImageError

    if resize not in RESIZE_RULES:
        raise ValueError(f"unknown resize rule {resize!r}: expected one of {RESIZE_RULES}")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if img.mode not in EIGHT_BIT_MODES:
                raise ImageFolderError(f"{name}: image mode {img.mode} has more than 8 bits per channel; "
                                       "convert it to 8-bit RGB first")
            rgb = img.convert("RGB")
    except ImageFolderError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageFolderError(f"{name}: unreadable image ({err})") from err
    w, h = rgb.size
    if (w, h) != (size, size):
        if resize == "refuse":
            raise ImageFolderError(f"{name}: {w}x{h} pixels, expected {size}x{size} "
                                   "(or choose resize: shorter_side_center_crop)")
        scale = size / min(w, h)
        rgb = rgb.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR,
                         reducing_gap=None)
        left, top = (rgb.size[0] - size) // 2, (rgb.size[1] - size) // 2
        rgb = rgb.crop((left, top, left + size, top + size))
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1).copy()


def _strip_wrapper(paths: list[PurePosixPath]) -> list[tuple[str, ...]]:
    """The paths' parts below one folder that wraps the whole tree, if there is one."""
    tops = {p.parts[0] for p in paths}
    if len(tops) == 1 and not tops <= set(SPLITS) and all(len(p.parts) >= 3 for p in paths):
        return [p.parts[1:] for p in paths]
    return [p.parts for p in paths]


def read_image_folder(source: str | os.PathLike, size: int, resize: str = "refuse", log=print) -> dict:
    """Every sample of an image folder or archive, decoded.

    Returns {"splits": {split: (x uint8 [N, 3, size, size], y int64 [N])}, "classes": [...],
    "files": {split: [relative paths]}, "source_sha256": sha256 of the archive (None for a folder),
    "decoding": the rules applied}. split is "train" and "test", or "all" for a single tree.
    Samples of a split are in sorted path order, whatever the archive's order.
    """
    source = Path(source)
    paths, images = [], []
    for rel, data in entries(source):
        paths.append(rel)
        images.append(decode(data, f"{source}:{rel}", size, resize))
        if len(images) % 10000 == 0:
            log(f"{len(images)} images decoded")
    if not images:
        raise ImageFolderError(f"{source}: no image files (hidden entries and non-image files are ignored)")
    rows = []
    for rel, parts, x in zip(paths, _strip_wrapper(paths), images):
        if len(parts) == 3 and parts[0] in SPLITS:
            rows.append((parts[0], parts[1], str(rel), x))
        elif len(parts) == 2:
            rows.append(("all", parts[0], str(rel), x))
        else:
            raise ImageFolderError(f"{source}: {rel} is not <split>/<class>/<image> or <class>/<image>")
    splits = sorted({r[0] for r in rows})
    if "all" in splits and len(splits) > 1:
        raise ImageFolderError(f"{source}: mixes <split>/<class>/ folders with <class>/ folders at the top")
    if splits not in (["all"], ["test", "train"]):
        raise ImageFolderError(f"{source}: has only the {splits[0]} split; expected train/ and test/, or one tree")
    classes = sorted({r[1] for r in rows if r[0] in ("train", "all")})
    for split in splits:
        missing = sorted(set(classes) ^ {r[1] for r in rows if r[0] == split})
        if missing:
            raise ImageFolderError(f"{source}: classes {missing} are not in every split")
    out, files = {}, {}
    for split in splits:
        mine = sorted((r for r in rows if r[0] == split), key=lambda r: r[2])
        out[split] = (np.stack([r[3] for r in mine]), np.array([classes.index(r[1]) for r in mine], dtype=np.int64))
        files[split] = [r[2] for r in mine]
    digest = None
    if source.is_file():
        with open(source, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return dict(splits=out, classes=classes, files=files, source_sha256=digest,
                decoding=dict(size=size, resize=resize, library="Pillow", alpha="dropped",
                              hidden="ignored", extensions=list(IMAGE_EXTENSIONS)))
