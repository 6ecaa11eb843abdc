"""CIFAR-10 prepared once from the official release: downloaded (torchvision's downloader) or
read from the archive or its extracted batches, every file md5-checked against torchvision's
list, and converted into one uint8 .npz that data/images.load_cifar10 reads.

This module imports torchvision (seconds): only the rule that prepares CIFAR-10 uses it, so that
the training and measuring jobs, which read the converted file, do not pay for it.
"""
from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10
from torchvision.datasets import utils as tv_utils

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


def _convert_batches(folder: Path, out: Path) -> Path:
    for name in CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES + [CIFAR10_META_FILE]:
        _verify(folder / name, CIFAR10_FILE_MD5.get(name), "CIFAR-10")
    train = [_read_batch(folder / n) for n in CIFAR10_TRAIN_FILES]
    test = [_read_batch(folder / n) for n in CIFAR10_TEST_FILES]
    arrays = dict(
        x_train=np.concatenate([x for x, _ in train]), y_train=np.concatenate([y for _, y in train]),
        x_test=np.concatenate([x for x, _ in test]), y_test=np.concatenate([y for _, y in test]),
        classes=np.array(_read_meta(folder / CIFAR10_META_FILE)),
    )
    return atomic_write(out, lambda fh: np.savez(fh, **arrays))


def prepare_cifar10(out: str | os.PathLike, source: str | os.PathLike | None = None,
                    cache_dir: str | os.PathLike | None = None, download: bool = True,
                    log=print) -> Path:
    """Write CIFAR-10 as one .npz (uint8 x_train [50000,3,32,32], y_train, x_test, y_test, classes).

    source: the official archive (.tar.gz) or the extracted `cifar-10-batches-py` folder (or its
    parent). None: use `cache_dir/cifar-10-python.tar.gz`, downloading it there first if
    absent or corrupted (download=True). Archive and batch files are md5-checked; a problem
    raises DataIntegrityError naming the file, and `out` is then not written.
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
    if source.is_dir():
        return _convert_batches(_batches_dir(source), out)
    _verify(source, CIFAR10_ARCHIVE_MD5, "CIFAR-10 archive")
    extract_to = Path(tempfile.mkdtemp(dir=out.parent, prefix=".cifar10-extract-"))
    try:
        try:
            tv_utils.extract_archive(str(source), str(extract_to))
        except Exception as err:
            raise DataIntegrityError(f"CIFAR-10 archive: cannot extract {source}: {err}") from err
        return _convert_batches(_batches_dir(extract_to), out)
    finally:
        shutil.rmtree(extract_to, ignore_errors=True)
