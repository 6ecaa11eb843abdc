import hashlib
import math
import pickle
import tarfile

import numpy as np
import pytest
import torch

from spatialpool.data import cifar10, images
from spatialpool.data.images import (
    DataIntegrityError,
    InputNoise,
    Task2D,
    all_pairs_2d,
    imagenet_val_loader,
    load_cifar10,
    load_digits_images,
    make_scale_detection_2d,
    move_pixels_2d,
    render_2d,
)
from spatialpool.data.cifar10 import prepare_cifar10


pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------- tiny CIFAR-10 on disk

N_PER_BATCH, N_TEST = 4, 3
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """The real layout: cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta} as
    pickled dicts (data: uint8 [n, 3072] in R, G, B planes; labels), and the tar.gz archive.
    The expected md5s are switched to these files'."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "src" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    arrays = {}
    for name, n in [(f"data_batch_{i}", N_PER_BATCH) for i in range(1, 6)] + [("test_batch", N_TEST)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        arrays[name] = (data, labels)
        with open(folder / name, "wb") as fh:
            pickle.dump({"batch_label": name, "labels": labels, "data": data,
                         "filenames": [f"{name}_{i}.png" for i in range(n)]}, fh, protocol=2)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": NAMES, "num_cases_per_batch": N_PER_BATCH, "num_vis": 3072}, fh)
    archive = tmp_path / "src" / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    monkeypatch.setattr(cifar10, "CIFAR10_FILE_MD5", {p.name: _md5(p) for p in folder.iterdir()})
    monkeypatch.setattr(cifar10, "CIFAR10_ARCHIVE_MD5", _md5(archive))
    return dict(folder=folder, archive=archive, arrays=arrays)


def _assert_matches(npz, arrays):
    with np.load(npz) as f:
        train = np.concatenate([arrays[f"data_batch_{i}"][0] for i in range(1, 6)])
        assert f["x_train"].dtype == np.uint8 and f["x_train"].shape == (5 * N_PER_BATCH, 3, 32, 32)
        # row layout: 1024 red values, then green, then blue, each row-major 32 x 32
        assert np.array_equal(f["x_train"][:, 0, 0, :], train[:, :32])
        assert np.array_equal(f["x_train"][:, 2, 31, 31], train[:, 3071])
        assert np.array_equal(f["x_train"].reshape(len(train), -1), train)
        assert f["y_train"].tolist() == sum((arrays[f"data_batch_{i}"][1] for i in range(1, 6)), [])
        assert np.array_equal(f["x_test"].reshape(N_TEST, -1), arrays["test_batch"][0])
        assert f["classes"].tolist() == NAMES


def _no_leftovers(directory):
    return [p.name for p in directory.iterdir()] == []


@pytest.mark.parametrize("which", ["folder", "parent", "archive"])
def test_prepare_cifar10_from_user_path(tiny_cifar, tmp_path, which):
    source = {"folder": tiny_cifar["folder"], "parent": tiny_cifar["folder"].parent,
              "archive": tiny_cifar["archive"]}[which]
    out = tmp_path / "out" / "cifar10.npz"
    assert prepare_cifar10(out, source=source) == out
    _assert_matches(out, tiny_cifar["arrays"])
    assert sorted(p.name for p in out.parent.iterdir()) == ["cifar10.npz"]  # no temp files left


@pytest.fixture
def http_server(monkeypatch):
    """A local HTTP server (torchvision's downloader needs HTTP; file:// has no length)."""
    import functools
    import http.server
    import threading
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    served = {}

    def start(directory):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
        handler.log_message = lambda *a: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        served["server"] = server
        return f"http://127.0.0.1:{server.server_address[1]}"
    yield start
    if "server" in served:
        served["server"].shutdown()
        served["server"].server_close()


def test_prepare_cifar10_downloads_once_into_the_cache(tiny_cifar, tmp_path, monkeypatch, http_server):
    base = http_server(tiny_cifar["archive"].parent)
    monkeypatch.setattr(cifar10, "CIFAR10_URL", f"{base}/cifar-10-python.tar.gz")
    cache, out = tmp_path / "cache", tmp_path / "out" / "c.npz"
    prepare_cifar10(out, cache_dir=cache, log=lambda m: None)
    _assert_matches(out, tiny_cifar["arrays"])
    assert (cache / "cifar-10-python.tar.gz").read_bytes() == tiny_cifar["archive"].read_bytes()
    # second time: the cached, verified archive is used; the 'server' is gone
    tiny_cifar["archive"].unlink()
    out.unlink()
    prepare_cifar10(out, cache_dir=cache, log=lambda m: None)
    _assert_matches(out, tiny_cifar["arrays"])


def test_download_failure_names_the_file(tmp_path, monkeypatch, http_server):
    monkeypatch.setattr(cifar10, "CIFAR10_URL", f"{http_server(tmp_path)}/nowhere.tar.gz")
    out = tmp_path / "out" / "c.npz"
    with pytest.raises(DataIntegrityError, match="cifar-10-python.tar.gz"):
        prepare_cifar10(out, cache_dir=tmp_path / "cache", log=lambda m: None)
    assert not out.exists()


def test_corrupted_batch_file_is_named_and_nothing_is_written(tiny_cifar, tmp_path):
    path = tiny_cifar["folder"] / "data_batch_3"
    raw = bytearray(path.read_bytes())
    raw[200] ^= 0xFF
    path.write_bytes(bytes(raw))
    out = tmp_path / "out" / "c.npz"
    with pytest.raises(DataIntegrityError, match=r"checksum mismatch.*data_batch_3"):
        prepare_cifar10(out, source=tiny_cifar["folder"])
    assert _no_leftovers(out.parent)


def test_missing_batch_file_is_named_and_nothing_is_written(tiny_cifar, tmp_path):
    (tiny_cifar["folder"] / "test_batch").unlink()
    out = tmp_path / "out" / "c.npz"
    with pytest.raises(DataIntegrityError, match=r"missing file .*test_batch"):
        prepare_cifar10(out, source=tiny_cifar["folder"])
    assert _no_leftovers(out.parent)


def test_archive_checksum_mismatch_is_named(tiny_cifar, tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10, "CIFAR10_ARCHIVE_MD5", "0" * 32)
    out = tmp_path / "out" / "c.npz"
    with pytest.raises(DataIntegrityError, match=r"checksum mismatch.*cifar-10-python.tar.gz"):
        prepare_cifar10(out, source=tiny_cifar["archive"])
    assert _no_leftovers(out.parent)


def test_unreadable_batch_with_matching_checksum_is_named(tiny_cifar, tmp_path, monkeypatch):
    path = tiny_cifar["folder"] / "data_batch_2"
    path.write_bytes(b"not a pickle")
    monkeypatch.setitem(cifar10.CIFAR10_FILE_MD5, "data_batch_2", _md5(path))
    out = tmp_path / "out" / "c.npz"
    with pytest.raises(DataIntegrityError, match=r"corrupted batch file .*data_batch_2"):
        prepare_cifar10(out, source=tiny_cifar["folder"])
    assert _no_leftovers(out.parent)


def test_failure_while_writing_leaves_no_file(tiny_cifar, tmp_path, monkeypatch):
    def broken_savez(fh, **arrays):
        fh.write(b"PK partial")
        raise OSError("disk full")
    monkeypatch.setattr(images.np, "savez", broken_savez)
    out = tmp_path / "out" / "c.npz"
    with pytest.raises(OSError, match="disk full"):
        prepare_cifar10(out, source=tiny_cifar["folder"])
    assert _no_leftovers(out.parent)


def test_load_cifar10_splits_and_normalises(tiny_cifar, tmp_path):
    out = prepare_cifar10(tmp_path / "c.npz", source=tiny_cifar["archive"])
    data = load_cifar10(out, n_val=5, split_seed=3)
    assert data.x_train.shape == (15, 3, 32, 32) and data.x_val.shape == (5, 3, 32, 32)
    assert data.x_test.shape == (N_TEST, 3, 32, 32) and data.x_train.dtype == torch.uint8
    assert set(data.info["train_index"]).isdisjoint(data.info["val_index"])
    full = np.concatenate([tiny_cifar["arrays"][f"data_batch_{i}"][0] for i in range(1, 6)])
    assert np.array_equal(data.x_val.reshape(5, -1).numpy(), full[data.info["val_index"]])
    x = data.normalise(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))
    assert torch.allclose(x[0, :, 0, 0], -torch.tensor(images.CIFAR10_MEAN) / torch.tensor(images.CIFAR10_STD))
    assert load_cifar10(out, n_val=5, split_seed=3).info["val_index"].tolist() == data.info["val_index"].tolist()


def test_load_cifar10_names_an_unreadable_file(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataIntegrityError, match="broken.npz"):
        load_cifar10(bad)


# --------------------------------------------------------------------------- noise


def test_input_noise_has_norm_std_and_is_fresh_per_call():
    x = torch.zeros(2000, 3, 32, 32)
    noise = InputNoise(10.0, seed=5)
    a, b = noise(x), noise(x)
    norms = a.flatten(1).norm(dim=1)
    assert abs(norms.mean().item() - 10.0) < 0.1 and norms.std().item() < 0.3
    assert not torch.equal(a, b)
    assert torch.equal(InputNoise(10.0, seed=5)(x), a)
    assert torch.equal(InputNoise(0.0, seed=5)(x + 1), x + 1)


# --------------------------------------------------------------------------- ImageNet


def test_imagenet_folder_loader_reads_pngs_with_the_eval_transform(tmp_path):
    from PIL import Image
    colours = {"n01440764": (255, 0, 0), "n01443537": (0, 128, 255)}
    for wnid, colour in colours.items():
        (tmp_path / wnid).mkdir()
        for i in range(2):
            Image.new("RGB", (300 + 40 * i, 260), colour).save(tmp_path / wnid / f"img{i}.png")
    x, y = next(iter(imagenet_val_loader(tmp_path, batch_size=4)))
    assert x.shape == (4, 3, 224, 224) and y.tolist() == [0, 0, 1, 1]
    mean, std = torch.tensor(images.IMAGENET_MEAN), torch.tensor(images.IMAGENET_STD)
    for k, colour in enumerate(colours.values()):
        expected = (torch.tensor(colour) / 255 - mean) / std
        assert torch.allclose(x[2 * k, :, 100, 100], expected, atol=1e-5)


def test_imagenet_folder_ignores_hidden_entries_and_names_unreadable_files(tmp_path):
    """An .ipynb_checkpoints folder must not become class 0 (shifting every label) and a macOS
    ._name.JPEG resource fork must not become a sample (it is not an image)."""
    from PIL import Image

    from spatialpool.data.image_folder import ImageFolderError
    for wnid in ("n01440764", "n01443537"):
        (tmp_path / wnid).mkdir()
        Image.new("RGB", (64, 64), (10, 20, 30)).save(tmp_path / wnid / "a.JPEG")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    Image.new("RGB", (64, 64)).save(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.JPEG")
    (tmp_path / "n01440764" / "._a.JPEG").write_bytes(b"\x00\x05\x16\x07 resource fork")
    (tmp_path / "n01440764" / ".DS_Store").write_bytes(b"Bud1")
    folder = images.imagenet_val_folder(tmp_path)
    assert folder.classes == ["n01440764", "n01443537"] and folder.targets == [0, 1] and not folder.complete
    (tmp_path / "n01443537" / "broken.JPEG").write_bytes(b"not a jpeg")
    folder = images.imagenet_val_folder(tmp_path)
    with pytest.raises(ImageFolderError, match="broken.JPEG"):
        [folder[i] for i in range(len(folder))]


def test_pretrained_model_from_a_local_weights_file(tmp_path):
    from torchvision import models
    torch.manual_seed(0)
    reference = models.get_model("mobilenet_v3_small", weights=None)
    path = tmp_path / "weights.pth"
    torch.save(reference.state_dict(), path)
    model = images.pretrained_imagenet_model("mobilenet_v3_small", path)
    assert not model.training
    for k, v in reference.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    assert any(getattr(m, "inplace", None) is True for m in reference.modules())
    assert not any(getattr(m, "inplace", False) for m in model.modules())
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        images.pretrained_imagenet_model("resnet18", tmp_path / "missing.pth")


def test_weights_names_resolve_without_downloading():
    w = images.resolve_weights("resnet18", "IMAGENET1K_V1")
    assert "resnet18" in w.url and w.meta["num_params"] == 11689512
    assert images.resolve_weights("vgg11_bn").url.endswith(".pth")


# --------------------------------------------------------------------------- digits


def test_digits_shapes_normalisation_and_split():
    d = load_digits_images(split_seed=1, n_val=300, n_test=300)
    assert d.x_train.shape == (1197, 3, 32, 32) and len(d.x_val) == 300 and len(d.x_test) == 300
    assert torch.equal(d.x_train[:, 0], d.x_train[:, 2])  # grey copied to 3 channels
    assert d.x_train.min() >= 0 and d.x_train.max() <= 1
    x, _ = d.normalised("train")
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4)
    idx = [set(d.info[f"{s}_index"].tolist()) for s in ("train", "val", "test")]
    assert sum(map(len, idx)) == 1797 and set().union(*idx) == set(range(1797))
    assert set(d.y_train.tolist()) == set(range(10))
    again, other = load_digits_images(split_seed=1), load_digits_images(split_seed=2)
    assert torch.equal(again.x_test, d.x_test)
    assert not np.array_equal(other.info["test_index"], d.info["test_index"])


def test_digits_are_the_upsampled_sklearn_images():
    from sklearn.datasets import load_digits
    d = load_digits_images(split_seed=0)
    i = int(d.info["train_index"][0])
    raw = load_digits().images[i] / 16.0
    # bilinear upsampling (half-pixel centres, edges clamped) as a 1D weight matrix per axis
    w = np.zeros((32, 8))
    for o in range(32):
        src = max((o + 0.5) / 4 - 0.5, 0.0)
        i0 = int(np.floor(src))
        i1, frac = min(i0 + 1, 7), src - i0
        w[o, i0] += 1 - frac
        w[o, i1] += frac
    assert np.allclose(d.x_train[0, 0].numpy(), w @ raw @ w.T, atol=1e-6)
    assert d.y_train[0].item() == load_digits().target[i]


# --------------------------------------------------------------------------- 2D scale detection

TASK = Task2D(side=28, xi=14, gap=2)


def test_2d_labels_follow_the_distance_with_a_gap():
    p1, p2, y = all_pairs_2d(TASK)
    d = np.sqrt(((p1 - p2) ** 2).sum(1))
    assert np.array_equal(y, np.where(d < 13, 1, -1))
    assert not np.any((d >= 13) & (d < 15))
    n_all = 784 * 783 // 2
    assert len(y) < n_all and (y == 1).sum() > 1000 and (y == -1).sum() > 1000


def test_2d_dataset_images_labels_and_split():
    data = make_scale_detection_2d(TASK, n_train=256, n_test=128, n_val=64, seed=3)
    assert data.x_train.shape == (256, 1, 32, 32) and data.x_test.shape == (128, 1, 32, 32)
    assert abs(data.y_train.sum().item()) < 40  # roughly balanced
    amp = math.sqrt(28 * 28 / 2)
    for split in ("train", "val", "test"):
        x, y = data.split(split)
        pix = data.info[f"{split}_pixels"]  # [n, 2 pixels, (row, col)]
        assert torch.allclose((x ** 2).sum((1, 2, 3)), torch.full((len(x),), 28.0 * 28))
        nz = x[:, 0].nonzero()
        assert len(nz) == 2 * len(x)
        for i in range(0, len(x), 17):
            got = {tuple(r) for r in x[i, 0].nonzero().tolist()}
            assert got == {(r + 2, c + 2) for r, c in pix[i]}  # 2 px of zero padding on each side
            assert torch.allclose(x[i, 0][x[i, 0] > 0], torch.tensor(amp))
        d = np.sqrt(((pix[:, 0] - pix[:, 1]) ** 2).sum(1))
        assert np.array_equal(y.numpy(), np.where(d < 13, 1.0, -1.0))
    as_set = lambda k: {tuple(sorted(map(tuple, p))) for p in data.info[k]}
    assert as_set("train_pixels").isdisjoint(as_set("test_pixels"))
    again = make_scale_detection_2d(TASK, n_train=256, n_test=128, n_val=64, seed=3)
    assert torch.equal(again.x_train, data.x_train)
    assert make_scale_detection_2d(TASK, 8, 8, seed=0, pad_to=None).x_train.shape[-1] == 28


def test_2d_diagonal_configurations_occur():
    p1, p2, _ = all_pairs_2d(TASK)
    dr, dc = np.abs(p1 - p2).T
    assert np.any((dr == dc) & (dr > 0))  # exact diagonals
    data = make_scale_detection_2d(TASK, n_train=512, n_test=8, seed=0)
    pix = data.info["train_pixels"]
    off_axis = (pix[:, 0, 0] != pix[:, 1, 0]) & (pix[:, 0, 1] != pix[:, 1, 1])
    assert off_axis.mean() > 0.8


def test_2d_moves_go_to_one_of_the_8_neighbours_clipped():
    rng = np.random.default_rng(0)
    p = np.array([[[10, 10], [0, 27]]] * 4000)
    moved = move_pixels_2d(TASK, p, rng)
    step = moved[:, 0] - p[:, 0]
    assert np.all(np.abs(step).max(1) == 1)  # interior pixel always moves to a neighbour
    assert len({tuple(s) for s in step}) == 8
    corner = moved[:, 1]
    assert corner.min() >= 0 and corner.max() <= 27
    assert {tuple(c) for c in corner} == {(0, 27), (1, 27), (0, 26), (1, 26)}


@pytest.mark.parametrize("gap,check", [(6.0, "side"), (3.0, "class")])
def test_2d_moves_keep_the_label_when_the_gap_protects_it(gap, check):
    task = Task2D(side=28, xi=14, gap=gap)
    data = make_scale_detection_2d(task, n_train=2000, n_test=2, seed=1, pad_to=None)
    pix, y = data.info["train_pixels"], data.y_train.numpy()
    rng = np.random.default_rng(2)
    for _ in range(5):
        moved = move_pixels_2d(task, pix, rng)
        d = np.sqrt(((moved[:, 0] - moved[:, 1]) ** 2).sum(1))
        if check == "side":  # gap/2 > 2 sqrt(2): still on the same side of xi
            assert np.array_equal(np.sign(14 - d), y)
        else:                 # gap > 2 sqrt(2): never into the other class
            new = task.label(moved[:, 0], moved[:, 1])
            assert np.all((new == y) | (new == 0))


def test_2d_paper_gap_does_not_protect_every_label():
    """With gap 2 < 2 sqrt(2) a diagonal move can carry a +1 pair into the -1 class."""
    p = np.array([[5, 5], [14, 14]])  # d = 9 sqrt(2) = 12.73 < 13: label +1
    assert TASK.label(p[0], p[1]) == 1
    moved = np.array([[4, 4], [15, 15]])  # each pixel one diagonal step away
    assert TASK.label(moved[0], moved[1]) == -1


def test_render_2d_pads_symmetrically():
    x = render_2d(TASK, [[0, 0]], [[27, 27]], amplitude=1.0, pad_to=32)
    assert x.shape == (1, 1, 32, 32) and x[0, 0, 2, 2] == 1 and x[0, 0, 29, 29] == 1
    with pytest.raises(ValueError):
        render_2d(TASK, [[0, 0]], [[1, 1]], pad_to=20)
