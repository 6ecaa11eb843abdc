"""CIFAR-10 prepared once into one uint8 .npz that data/images.load_cifar10 reads, from any of
the forms it comes in (the config's top-level `cifar10_source`):

- the official release: downloaded (torchvision's downloader) or read from the archive or its
  extracted `cifar-10-batches-py` batches, every file md5-checked against torchvision's list;
- an image folder in the ImageFolder layout (`train/<class>/*`, `test/<class>/*`), as a folder
  or a .tar/.tar.gz archive, such as the public JPEG copy of CIFAR-10, read by
  data/image_folder.py (hidden entries ignored, 32 x 32 images only). Its classes must be
  CIFAR-10's ten. JPEG files carry the compression's error, so results from them are labelled
  "CIFAR-10 (JPEG copy)", never plain "CIFAR-10".

The .npz records the form (`source_form`), a human `label`, the source's sha256 (archives;
`source_sha256`) and, for image folders, the decoding choices (`decoding`, JSON).

This module imports torchvision (seconds): only the rule that prepares CIFAR-10 uses it, so that
the training and measuring jobs, which read the converted file, do not pay for it.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import tarfile
import shutil
import tempfile
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10
from torchvision.datasets import utils as tv_utils

from spatialpool.data.image_folder import ImageFolderError, is_archive, read_image_folder
from spatialpool.data.images import DataIntegrityError
from spatialpool.runtime import atomic_write

CIFAR10_URL = CIFAR10.url
CIFAR10_ARCHIVE = CIFAR10.filename                # cifar-10-python.tar.gz
CIFAR10_ARCHIVE_MD5 = CIFAR10.tgz_md5             # c58f30108f718f92721af3b95e74349a
CIFAR10_FOLDER = CIFAR10.base_folder              # cifar-10-batches-py
CIFAR10_TRAIN_FILES = [name for name, _ in CIFAR10.train_list]
CIFAR10_TEST_FILES = [name for name, _ in CIFAR10.test_list]
CIFAR10_META_FILE = CIFAR10.meta["filename"]      # batches.meta
# md5 of every file inside the archive (torchvision's list); tests swap in their tiny files'.
CIFAR10_FILE_MD5 = dict(CIFAR10.train_list + CIFAR10.test_list)
CIFAR10_FILE_MD5[CIFAR10_META_FILE] = CIFAR10.meta["md5"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
LABELS = {"official": "CIFAR-10", "jpeg": "CIFAR-10 (JPEG copy)", "image_folder": "CIFAR-10 (image folder)"}


def _md5(path: Path) -> str:
    return tv_utils.calculate_md5(str(path))


def _verify(path: Path, md5: str | None, what: str) -> None:
    if not path.is_file():
        raise DataIntegrityError(f"{what}: missing file {path}")
    if md5 is not None and not tv_utils.check_md5(str(path), md5):
        raise DataIntegrityError(
            f"{what}: checksum mismatch for {path} (md5 {_md5(path)}, expected {md5}); "
            "the file is corrupted or not the official CIFAR-10 release")


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR-10 batch -> uint8 [n, 3, 32, 32] and int64 labels."""
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        data = np.asarray(entry["data"], dtype=np.uint8)
        labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
        images = data.reshape(-1, 3, 32, 32)
    except Exception as err:
        raise DataIntegrityError(f"CIFAR-10: corrupted batch file {path}: {err}") from err
    if len(images) != len(labels) or labels.ndim != 1 or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise DataIntegrityError(f"CIFAR-10: corrupted batch file {path}: "
                                 f"{len(images)} images, {len(labels)} labels")
    return images, labels


def _read_meta(path: Path) -> list[str]:
    try:
        with open(path, "rb") as fh:
            return list(pickle.load(fh, encoding="latin1")[CIFAR10.meta["key"]])
    except Exception as err:
        raise DataIntegrityError(f"CIFAR-10: corrupted meta file {path}: {err}") from err


def _batches_dir(source: Path) -> Path:
    """Accept the `cifar-10-batches-py` folder itself or a folder that holds it."""
    inner = source / CIFAR10_FOLDER
    return inner if inner.is_dir() else source


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def source_form(source: Path) -> str:
    """"official" (the release's archive or batches) or "image_folder", from the source's contents.

    An archive is the official one when its first file lies in `cifar-10-batches-py/` or is a
    batch file (a corrupted official archive is then reported by its checksum, not read as images).
    """
    if source.is_dir():
        inner = _batches_dir(source)
        return "official" if (inner / CIFAR10_META_FILE).exists() or (inner / CIFAR10_TRAIN_FILES[0]).exists() \
            else "image_folder"
    if not source.is_file():
        raise DataIntegrityError(f"CIFAR-10: source {source} does not exist")
    if not is_archive(source):
        raise DataIntegrityError(f"CIFAR-10: source {source} is neither a folder nor a .tar/.tar.gz/.tgz archive")
    official = set(CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES + [CIFAR10_META_FILE, CIFAR10_FOLDER])
    try:
        with tarfile.open(source, mode="r|*") as tar:
            for member in tar:
                if member.isfile():
                    return "official" if set(Path(member.name).parts) & official else "image_folder"
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataIntegrityError(f"CIFAR-10: unreadable archive {source} ({err})") from err
    raise DataIntegrityError(f"CIFAR-10: archive {source} holds no files")


def _convert_image_folder(source: Path, out: Path, log) -> Path:
    try:
        folder = read_image_folder(source, size=32, resize="refuse", log=log)
    except ImageFolderError as err:  # CIFAR-10 images are 32 x 32: no resize rule applies here
        message = str(err).replace(" (or choose resize: shorter_side_center_crop)", "; CIFAR-10 images are 32 x 32")
        raise DataIntegrityError(f"CIFAR-10 image folder: {message}") from err
    if "all" in folder["splits"]:
        raise DataIntegrityError(f"CIFAR-10 image folder {source}: expected train/<class>/ and test/<class>/ "
                                 "folders, found one tree of classes")
    if folder["classes"] != CIFAR10_CLASSES:
        raise DataIntegrityError(f"CIFAR-10 image folder {source}: classes {folder['classes']}, "
                                 f"expected CIFAR-10's {CIFAR10_CLASSES}")
    files = folder["files"]["train"] + folder["files"]["test"]
    jpeg = all(Path(f).suffix.lower() in (".jpg", ".jpeg") for f in files)
    (x_train, y_train), (x_test, y_test) = folder["splits"]["train"], folder["splits"]["test"]
    log(f"{len(x_train)} train and {len(x_test)} test images of {len(folder['classes'])} classes"
        + (" (JPEG files: labelled 'CIFAR-10 (JPEG copy)')" if jpeg else ""))
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                  classes=np.array(folder["classes"]), source_form=np.array("image_folder"),
                  label=np.array(LABELS["jpeg" if jpeg else "image_folder"]),
                  source_sha256=np.array(folder["source_sha256"] or ""),
                  decoding=np.array(json.dumps(folder["decoding"])))
    return atomic_write(out, lambda fh: np.savez(fh, **arrays))


def _convert_batches(folder: Path, out: Path, sha256: str = "") -> Path:
    for name in CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES + [CIFAR10_META_FILE]:
        _verify(folder / name, CIFAR10_FILE_MD5.get(name), "CIFAR-10")
    train = [_read_batch(folder / n) for n in CIFAR10_TRAIN_FILES]
    test = [_read_batch(folder / n) for n in CIFAR10_TEST_FILES]
    arrays = dict(
        x_train=np.concatenate([x for x, _ in train]), y_train=np.concatenate([y for _, y in train]),
        x_test=np.concatenate([x for x, _ in test]), y_test=np.concatenate([y for _, y in test]),
        classes=np.array(_read_meta(folder / CIFAR10_META_FILE)),
        source_form=np.array("official"), label=np.array(LABELS["official"]), source_sha256=np.array(sha256),
        decoding=np.array(json.dumps(dict(format="pickled batches, uint8 as released"))),
    )
    return atomic_write(out, lambda fh: np.savez(fh, **arrays))


def prepare_cifar10(out: str | os.PathLike, source: str | os.PathLike | None = None,
                    cache_dir: str | os.PathLike | None = None, download: bool = True,
                    log=print) -> Path:
    """Write CIFAR-10 as one .npz (uint8 x_train [50000,3,32,32], y_train, x_test, y_test, classes,
    and the provenance fields of the module docstring).

    source: the official archive (.tar.gz) or the extracted `cifar-10-batches-py` folder (or its
    parent), or an image folder or archive in the ImageFolder layout (`source_form` tells them
    apart). None: use `cache_dir/cifar-10-python.tar.gz`, downloading it there first if absent
    or corrupted (download=True). Official archive and batch files are md5-checked; any
    problem raises DataIntegrityError naming the file, and `out` is then not written.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if source is None:
        if cache_dir is None:
            raise ValueError("give either a CIFAR-10 source path or a cache_dir to download into")
        cache_dir = Path(cache_dir)
        archive = cache_dir / CIFAR10_ARCHIVE
        if not tv_utils.check_integrity(str(archive), CIFAR10_ARCHIVE_MD5):
            if not download:
                _verify(archive, CIFAR10_ARCHIVE_MD5, "CIFAR-10 archive")
            log(f"downloading {CIFAR10_URL} to {archive}")
            try:
                tv_utils.download_url(CIFAR10_URL, str(cache_dir), CIFAR10_ARCHIVE, CIFAR10_ARCHIVE_MD5)
            except Exception as err:
                raise DataIntegrityError(
                    f"CIFAR-10 archive: download of {CIFAR10_URL} to {archive} failed: {err}") from err
        source = archive
    source = Path(source)
    if source_form(source) == "image_folder":
        return _convert_image_folder(source, out, log)
    if source.is_dir():
        return _convert_batches(_batches_dir(source), out)
    _verify(source, CIFAR10_ARCHIVE_MD5, "CIFAR-10 archive")
    extract_to = Path(tempfile.mkdtemp(dir=out.parent, prefix=".cifar10-extract-"))
    try:
        try:
            tv_utils.extract_archive(str(source), str(extract_to))
        except Exception as err:
            raise DataIntegrityError(f"CIFAR-10 archive: cannot extract {source}: {err}") from err
        return _convert_batches(_batches_dir(extract_to), out, _sha256(source))
    finally:
        shutil.rmtree(extract_to, ignore_errors=True)
