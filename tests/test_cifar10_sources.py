"""CIFAR-10 from an image folder or archive (data/cifar10.py on tiny trees made here), the
labels that travel with it, seeded subsets, and the cifar10_source config key."""
import hashlib
import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from conftest import SCHEMA
from spatialpool.config import problems
from spatialpool.data.cifar10 import CIFAR10_CLASSES, prepare_cifar10, source_form
from spatialpool.data.images import DataIntegrityError, load_cifar10
from spatialpool.image_config import image_problems

pytestmark = pytest.mark.usefixtures("one_thread")


def _tree(root, fmt="PNG", classes=CIFAR10_CLASSES, splits=("train", "test"), per_class=(2, 1)):
    """A CIFAR-shaped ImageFolder tree; returns {split: (list of HWC arrays, labels)} in read order."""
    made = {}
    for split, n in zip(splits, per_class):
        xs, ys = [], []
        for label, c in enumerate(sorted(classes)):
            for i in range(n):
                arr = np.random.default_rng(len(xs) + 100 * len(made)).integers(0, 256, (32, 32, 3), dtype=np.uint8)
                if fmt == "JPEG":  # smooth images, so the JPEG error stays small
                    arr = np.broadcast_to(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], (32, 32, 3)).copy()
                    arr[..., label % 3] = 40 + 20 * label
                buf = io.BytesIO()
                Image.fromarray(arr).save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
                path = root / split / c / f"{i:04d}.{'png' if fmt == 'PNG' else 'jpg'}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(buf.getvalue())
                xs.append(arr)
                ys.append(label)
        made[split] = (xs, ys)
    (root / "train" / ".ipynb_checkpoints").mkdir()
    (root / "train" / "cat" / "._0000.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    return made


def test_an_image_folder_becomes_the_cifar10_file_with_its_provenance(tmp_path):
    made = _tree(tmp_path / "tree")
    out = prepare_cifar10(tmp_path / "out" / "c.npz", source=tmp_path / "tree", log=lambda m: None)
    with np.load(out) as f:
        for split in ("train", "test"):
            xs, ys = made[split]
            assert f[f"x_{split}"].shape == (len(xs), 3, 32, 32) and f[f"x_{split}"].dtype == np.uint8
            assert np.array_equal(f[f"x_{split}"], np.stack(xs).transpose(0, 3, 1, 2))  # PNG: lossless
            assert f[f"y_{split}"].tolist() == ys
        assert f["classes"].tolist() == CIFAR10_CLASSES
        assert str(f["source_form"]) == "image_folder" and str(f["label"]) == "CIFAR-10 (image folder)"
        assert json.loads(str(f["decoding"]))  # the decoding choices are recorded
    data = load_cifar10(out, n_val=4, split_seed=0)
    assert data.info["label"] == "CIFAR-10 (image folder)" and data.info["source_form"] == "image_folder"
    assert [p.name for p in out.parent.iterdir()] == ["c.npz"]


def test_a_jpeg_archive_is_labelled_as_a_jpeg_copy_and_records_its_sha256(tmp_path):
    made = _tree(tmp_path / "tree", fmt="JPEG")
    archive = tmp_path / "cifar10_jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "tree", arcname="cifar10")
    assert source_form(archive) == "image_folder"
    out = prepare_cifar10(tmp_path / "c.npz", source=archive, log=lambda m: None)
    with np.load(out) as f:
        assert str(f["label"]) == "CIFAR-10 (JPEG copy)"
        assert str(f["source_sha256"]) == hashlib.sha256(archive.read_bytes()).hexdigest()
        # JPEG is lossy: the decoded values are near, not equal to, what was encoded
        err = np.abs(f["x_train"].astype(int) - np.stack(made["train"][0]).transpose(0, 3, 1, 2))
        assert 0 < err.max() and err.mean() < 3
        assert f["y_train"].tolist() == made["train"][1]


def test_the_official_forms_are_told_apart_from_image_folders(tmp_path):
    batches = tmp_path / "cifar-10-batches-py"
    batches.mkdir()
    (batches / "batches.meta").write_bytes(b"meta")
    assert source_form(batches) == "official" and source_form(tmp_path) == "official"
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(batches, arcname="cifar-10-batches-py")
    assert source_form(archive) == "official"
    _tree(tmp_path / "folder")
    assert source_form(tmp_path / "folder") == "image_folder"
    with pytest.raises(DataIntegrityError, match="does not exist"):
        source_form(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataIntegrityError, match="neither a folder nor"):
        source_form(tmp_path / "notes.txt")


@pytest.mark.parametrize("case,message", [
    ("classes", "expected CIFAR-10's"),
    ("single_tree", "found one tree of classes"),
])
def test_a_tree_that_is_not_cifar10_is_refused_and_nothing_is_written(tmp_path, case, message):
    if case == "classes":
        _tree(tmp_path / "tree", classes=CIFAR10_CLASSES[:9] + ["lorry"])
    else:
        for c in CIFAR10_CLASSES:
            (tmp_path / "tree" / c).mkdir(parents=True)
            Image.new("RGB", (32, 32)).save(tmp_path / "tree" / c / "0.png")
    out = tmp_path / "out" / "c.npz"
    with pytest.raises(DataIntegrityError, match=message):
        prepare_cifar10(out, source=tmp_path / "tree", log=lambda m: None)
    assert not out.exists() and not list(out.parent.glob("*"))


def test_images_of_another_size_are_refused_by_name(tmp_path):
    _tree(tmp_path / "tree")
    Image.new("RGB", (64, 64)).save(tmp_path / "tree" / "test" / "dog" / "big.png")
    with pytest.raises(DataIntegrityError, match="big.png"):
        prepare_cifar10(tmp_path / "c.npz", source=tmp_path / "tree", log=lambda m: None)


def test_seeded_subsets_of_training_and_test_images(tmp_path):
    _tree(tmp_path / "tree", per_class=(4, 3))  # 40 training, 30 test images
    out = prepare_cifar10(tmp_path / "c.npz", source=tmp_path / "tree", log=lambda m: None)
    full = load_cifar10(out, n_val=10, split_seed=2)
    sub = load_cifar10(out, n_val=10, split_seed=2, n_train=12, n_test=7)
    assert sub.x_train.shape[0] == 12 and sub.x_test.shape[0] == 7 and sub.x_val.shape[0] == 10
    # the validation split does not depend on the subsets; training images come from the rest
    assert sub.info["val_index"].tolist() == full.info["val_index"].tolist()
    assert set(sub.info["train_index"]) < set(full.info["train_index"])
    assert list(sub.info["test_index"]) == sorted(sub.info["test_index"])
    with np.load(out) as f:
        assert np.array_equal(sub.x_test.numpy(), f["x_test"][sub.info["test_index"]])
        assert np.array_equal(sub.y_train.numpy(), f["y_train"][sub.info["train_index"]])
    again = load_cifar10(out, n_val=10, split_seed=2, n_train=12, n_test=7)
    assert again.info["train_index"].tolist() == sub.info["train_index"].tolist()
    other = load_cifar10(out, n_val=10, split_seed=3, n_train=12, n_test=7)
    assert other.info["test_index"].tolist() != sub.info["test_index"].tolist()
    with pytest.raises(ValueError, match="n_train=31"):
        load_cifar10(out, n_val=10, n_train=31)


def test_a_missing_cifar10_source_is_a_config_problem(paper_config, tmp_path):
    paper_config["cifar10_source"] = str(tmp_path / "nowhere.tar.gz")
    assert problems(paper_config, SCHEMA) == []  # the schema accepts any path ...
    found = image_problems(paper_config)          # ... the image check wants it to exist
    assert any(p.startswith(f"cifar10_source: {tmp_path / 'nowhere.tar.gz'} does not exist") for p in found), found
    paper_config["cifar10_source"] = str(tmp_path)
    assert image_problems(paper_config) == []
    too_many = next(d for d in paper_config["images"]["datasets"] if d["kind"] == "cifar10")
    too_many["n_train"] = 50000
    assert any("n_train: 50000 is more than the" in p for p in image_problems(paper_config))
    paper_config["cifar10_source"] = 3
    assert any("cifar10_source" in p for p in problems(paper_config, SCHEMA))
