"""The image-folder reader (data/image_folder.py) on tiny trees made here: layout, hidden entries,
image modes, sizes, unreadable files, archives."""
import hashlib
import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from spatialpool.data.image_folder import ImageFolderError, decode, read_image_folder

SIZE = 8


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def _rgb(seed: int, h=SIZE, w=SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _tree(root, splits=("train", "test"), classes=("cat", "dog"), per_class=3):
    """A tree of lossless PNGs; returns {relative path: HWC array}."""
    made = {}
    for split in splits:
        for c in classes:
            for i in range(per_class):
                rel = f"{split}/{c}/{i:03d}.png" if split else f"{c}/{i:03d}.png"
                arr = _rgb(len(made))
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(_png(arr))
                made[rel] = arr
    return made


def _add_hidden(root):
    """What real trees carry: notebook checkpoints, macOS resource forks, Finder files, notes."""
    (root / "train/.ipynb_checkpoints").mkdir(parents=True)
    (root / "train/.ipynb_checkpoints/000-checkpoint.png").write_bytes(_png(_rgb(99)))
    (root / "train/cat/._000.png").write_bytes(b"\x00\x05\x16\x07 not an image")
    (root / "train/.DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "test/dog/notes.txt").write_text("a note")


def _tar(src, dest, wrapper=None, gz=False):
    with tarfile.open(dest, "w:gz" if gz else "w") as tar:
        tar.add(src, arcname=wrapper or ".")
    return dest


def test_a_tree_reads_with_hidden_entries_ignored(tmp_path):
    made = _tree(tmp_path / "tree")
    _add_hidden(tmp_path / "tree")
    out = read_image_folder(tmp_path / "tree", SIZE, log=lambda m: None)
    assert out["classes"] == ["cat", "dog"] and set(out["splits"]) == {"train", "test"}
    for split in ("train", "test"):
        x, y = out["splits"][split]
        assert x.shape == (6, 3, SIZE, SIZE) and x.dtype == np.uint8 and y.tolist() == [0, 0, 0, 1, 1, 1]
        for i, rel in enumerate(out["files"][split]):
            np.testing.assert_array_equal(x[i], made[rel].transpose(2, 0, 1))  # PNG: exact values
    assert not any(".ipynb" in f or "._" in f for f in out["files"]["train"])
    assert out["source_sha256"] is None and out["decoding"]["resize"] == "refuse"


@pytest.mark.parametrize("gz,wrapper", [(False, None), (True, None), (True, "cifar-images")])
def test_an_archive_reads_like_the_folder(tmp_path, gz, wrapper):
    _tree(tmp_path / "tree")
    _add_hidden(tmp_path / "tree")
    folder = read_image_folder(tmp_path / "tree", SIZE, log=lambda m: None)
    archive = _tar(tmp_path / "tree", tmp_path / ("t.tar.gz" if gz else "t.tar"), wrapper, gz)
    out = read_image_folder(archive, SIZE, log=lambda m: None)
    assert out["classes"] == folder["classes"]
    for split in ("train", "test"):
        np.testing.assert_array_equal(out["splits"][split][0], folder["splits"][split][0])
        np.testing.assert_array_equal(out["splits"][split][1], folder["splits"][split][1])
    assert out["source_sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_an_archive_is_read_in_one_sequential_pass(tmp_path, monkeypatch):
    _tree(tmp_path / "tree")
    archive = _tar(tmp_path / "tree", tmp_path / "t.tar.gz", gz=True)
    modes = []
    real = tarfile.open
    monkeypatch.setattr(tarfile, "open", lambda *a, **k: modes.append(k.get("mode")) or real(*a, **k))
    read_image_folder(archive, SIZE, log=lambda m: None)
    assert modes == ["r|*"]  # stream mode: no seeking back into the gzip stream


def test_a_single_tree_is_split_all(tmp_path):
    _tree(tmp_path / "one", splits=(None,), classes=("a", "b", "c"), per_class=2)
    out = read_image_folder(tmp_path / "one", SIZE, log=lambda m: None)
    assert list(out["splits"]) == ["all"] and out["splits"]["all"][1].tolist() == [0, 0, 1, 1, 2, 2]


def test_every_eight_bit_mode_decodes_to_its_rgb_values():
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    np.testing.assert_array_equal(decode(_png(grey, "L"), "g.png", SIZE), np.stack([grey] * 3))
    rgba = np.dstack([_rgb(1), np.full((8, 8), 7, np.uint8)])
    np.testing.assert_array_equal(decode(_png(rgba, "RGBA"), "a.png", SIZE), rgba[..., :3].transpose(2, 0, 1))
    la = np.dstack([grey, np.full((8, 8), 200, np.uint8)])
    np.testing.assert_array_equal(decode(_png(la, "LA"), "la.png", SIZE), np.stack([grey] * 3))
    # a palette image: each pixel is its palette entry
    pal = Image.new("P", (8, 8))
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    pal.putdata([(i % 3) for i in range(64)])
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    want = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0]], np.uint8)[np.arange(64) % 3].reshape(8, 8, 3)
    np.testing.assert_array_equal(decode(buf.getvalue(), "p.png", SIZE), want.transpose(2, 0, 1))
    # one-bit images: 0 -> black, 1 -> white
    bits = Image.fromarray((np.arange(64).reshape(8, 8) % 2 * 255).astype(np.uint8)).convert("1")
    buf = io.BytesIO()
    bits.save(buf, format="PNG")
    np.testing.assert_array_equal(decode(buf.getvalue(), "b.png", SIZE)[0], np.arange(64).reshape(8, 8) % 2 * 255)
    # CMYK (a JPEG a printer pipeline writes): Pillow's CMYK -> RGB, within the JPEG error
    cmyk = Image.fromarray(_rgb(2)).convert("CMYK")
    buf = io.BytesIO()
    cmyk.save(buf, format="JPEG", quality=100)
    got = decode(buf.getvalue(), "c.jpg", SIZE).astype(int)
    assert np.abs(got - np.asarray(cmyk.convert("RGB")).transpose(2, 0, 1)).max() <= 12


def test_sixteen_bit_images_are_refused_by_name():
    deep = Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)  # mode I;16
    buf = io.BytesIO()
    deep.save(buf, format="PNG")
    with pytest.raises(ImageFolderError, match=r"deep\.png: image mode I;16? has more than 8 bits"):
        decode(buf.getvalue(), "deep.png", SIZE)


def test_another_size_is_refused_or_centre_cropped():
    tall = _rgb(3, h=12, w=SIZE)
    with pytest.raises(ImageFolderError, match=r"tall\.png: 8x12 pixels, expected 8x8"):
        decode(_png(tall), "tall.png", SIZE)
    # shorter side already 8: the rule only crops the centre rows
    np.testing.assert_array_equal(decode(_png(tall), "tall.png", SIZE, "shorter_side_center_crop"),
                                  tall[2:10].transpose(2, 0, 1))
    big = np.full((32, 48, 3), 77, np.uint8)  # a constant image stays constant at any scale
    assert (decode(_png(big), "big.png", SIZE, "shorter_side_center_crop") == 77).all()


@pytest.mark.parametrize("payload", [b"", b"garbage bytes, not an image", "truncated"])
def test_an_unreadable_file_is_named(tmp_path, payload):
    _tree(tmp_path / "tree")
    bad = tmp_path / "tree/train/dog/001.png"
    bad.write_bytes(bad.read_bytes()[:40] if payload == "truncated" else payload)
    with pytest.raises(ImageFolderError, match=r"train/dog/001\.png: unreadable image"):
        read_image_folder(tmp_path / "tree", SIZE, log=lambda m: None)


def test_bad_trees_are_named(tmp_path):
    with pytest.raises(ImageFolderError, match="does not exist"):
        read_image_folder(tmp_path / "nowhere", SIZE)
    (tmp_path / "empty/train/cat/.hidden").mkdir(parents=True)
    with pytest.raises(ImageFolderError, match="no image files"):
        read_image_folder(tmp_path / "empty", SIZE)
    _tree(tmp_path / "lopsided")
    for p in (tmp_path / "lopsided/test/dog").iterdir():
        p.unlink()
    with pytest.raises(ImageFolderError, match=r"classes \['dog'\] are not in every split"):
        read_image_folder(tmp_path / "lopsided", SIZE)
