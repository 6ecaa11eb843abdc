"""Readers of workflow intermediates: damaged files raise CorruptedIntermediate naming the file and remedy."""
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from spatialpool.image_workflow import load_dataset
from spatialpool.data.images import DataIntegrityError
from spatialpool.io import CorruptedIntermediate, read_npz, read_table, read_torch
from spatialpool.training.checkpoints import load_checkpoint, save_checkpoint


def _assert_names_file_and_remedy(err: pytest.ExceptionInfo, path):
    message = str(err.value)
    assert str(path) in message and err.value.path == str(path)
    assert "snakemake" in message and "rebuilt" in message
    assert "\n" not in message  # one line, the underlying error included


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


@pytest.fixture
def weights(tmp_path):
    """A train job's weights file, in the one checkpoint layout (training/checkpoints.py)."""
    path = tmp_path / "train" / "task1_relu" / "weights.pt"
    path.parent.mkdir(parents=True)
    state = {"weights.0": torch.arange(12.0).view(3, 4), "bias.0": torch.ones(3)}
    save_checkpoint(path, {"name": "simple_cnn", "depth": 1},
                    {0: {"states": {"init": state, "t_star": None, "final": state}}})
    return path


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "probe.npz"
    np.savez(path, clean=np.linspace(0, 1, 4000).reshape(40, 100), seed=np.array(3), label=np.array(["a", "bc"]))
    return path


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "sensitivity.csv"
    pd.DataFrame({"k": [1, 2, 3], "D": [0.5, np.nan, 1 / 3], "name": ["conv", "relu", "output"]}).to_csv(
        path, index=False)
    return path


def test_good_files_round_trip(weights, archive, table):
    ckpt = read_torch(weights, weights_only=True)
    assert torch.equal(ckpt["seeds"][0]["states"]["final"]["weights.0"], torch.arange(12.0).view(3, 4))
    seed = load_checkpoint(weights, 0)
    assert seed["arch"] == {"name": "simple_cnn", "depth": 1} and torch.equal(seed["states"]["init"]["bias.0"], torch.ones(3))
    assert seed["seed"] == 0 and seed["states"]["t_star"] is None
    with pytest.raises(KeyError, match=r"holds seeds \[0\], not seed 5"):
        load_checkpoint(weights, 5)
    with pytest.raises(ValueError, match="unknown states"):  # one vocabulary of states
        save_checkpoint(weights.with_name("x.pt"), {"name": "simple_cnn"}, {0: {"states": {"trained": {}}}})
    arrays = read_npz(archive)
    assert isinstance(arrays, dict) and set(arrays) == {"clean", "seed", "label"}
    np.testing.assert_array_equal(arrays["clean"], np.linspace(0, 1, 4000).reshape(40, 100))
    assert int(arrays["seed"]) == 3 and arrays["label"].tolist() == ["a", "bc"]
    frame = read_table(table)
    pd.testing.assert_frame_equal(frame, pd.read_csv(table))
    assert frame.D[2] == 1 / 3 and np.isnan(frame.D[1])  # to_csv keeps full float64 precision
    # a header-only table (no rows) is a valid table
    empty = table.with_name("empty_rows.csv")
    pd.DataFrame(columns=["k", "D"]).to_csv(empty, index=False)
    assert list(read_table(empty).columns) == ["k", "D"] and len(read_table(empty)) == 0


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_truncated_torch_file(weights, keep):
    _truncate(weights, keep)
    for kwargs in ({}, {"weights_only": False}, {"map_location": "cpu", "mmap": True}):
        with pytest.raises(CorruptedIntermediate) as err:
            read_torch(weights, **kwargs)
        _assert_names_file_and_remedy(err, weights)
    with pytest.raises(CorruptedIntermediate) as err:  # the train rule's per-seed reader
        load_checkpoint(weights, 0)
    _assert_names_file_and_remedy(err, weights)


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_truncated_npz(archive, keep):
    _truncate(archive, keep)
    with pytest.raises(CorruptedIntermediate) as err:
        read_npz(archive)
    _assert_names_file_and_remedy(err, archive)


def test_npz_with_a_damaged_member_is_caught_by_reading_it(archive):
    """The archive's directory is intact, so np.load opens it; only reading the member finds the damage."""
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("clean.npy")
    data = bytearray(archive.read_bytes())
    middle = info.header_offset + 200 + info.compress_size // 2  # inside the member's array bytes
    data[middle:middle + 8] = bytes(8 * [0xFF])
    archive.write_bytes(bytes(data))
    with np.load(archive) as lazy:  # np.load alone says nothing
        assert "clean" in lazy.files
    with pytest.raises(CorruptedIntermediate, match="CRC") as err:
        read_npz(archive)
    _assert_names_file_and_remedy(err, archive)


def test_npy_is_not_an_npz(tmp_path):
    path = tmp_path / "probe.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.arange(3))
    with pytest.raises(CorruptedIntermediate, match="not an .npz archive"):
        read_npz(path)


def test_garbage_and_cut_off_csv(table):
    garbage = table.with_name("garbage.csv")
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes() + b"\n")
    with pytest.raises(CorruptedIntermediate) as err:
        read_table(garbage)
    _assert_names_file_and_remedy(err, garbage)
    # cut off mid-row: pandas alone would return a short last row padded with NaN
    text = table.read_bytes()
    table.write_bytes(text[:text.rindex(b",") + 1])
    assert len(pd.read_csv(table)) == 3
    with pytest.raises(CorruptedIntermediate, match="last row is cut off") as err:
        read_table(table)
    _assert_names_file_and_remedy(err, table)


@pytest.mark.parametrize("reader", [read_torch, read_npz, read_table])
def test_empty_and_missing_files(tmp_path, reader):
    empty = tmp_path / "results" / "empty.bin"
    empty.parent.mkdir()
    empty.touch()
    with pytest.raises(CorruptedIntermediate, match="empty file") as err:
        reader(empty)
    _assert_names_file_and_remedy(err, empty)
    missing = tmp_path / "results" / "never_written.bin"
    with pytest.raises(CorruptedIntermediate, match="is missing") as err:
        reader(missing)
    _assert_names_file_and_remedy(err, missing)
    assert err.value.missing
    with pytest.raises(CorruptedIntermediate, match="not a regular file"):
        reader(empty.parent)


def test_exception_pickles_with_its_message(weights):
    err = CorruptedIntermediate(weights, "EOFError: Ran out of input")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.path == str(weights) and not again.missing


def test_image_data_loaders_name_the_file(tmp_path):
    splits = tmp_path / "digits.pt"
    splits.write_bytes(b"\x80\x04garbage")
    with pytest.raises(CorruptedIntermediate) as err:
        load_dataset({"kind": "digits"}, splits)
    _assert_names_file_and_remedy(err, splits)
    cifar = tmp_path / "cifar10.npz"
    cifar.write_bytes(b"PK\x03\x04 cut")
    with pytest.raises(DataIntegrityError, match="cifar10.npz.*snakemake"):
        load_dataset({"kind": "cifar10", "n_val": 0, "split_seed": 0}, cifar)


def test_rule_script_fails_with_the_message_not_a_traceback(tmp_path, table):
    """As in a rule script: stdout and stderr go to the log; the terminal gets one short message."""
    _truncate(table, 0.7)
    log = tmp_path / "rule.log"
    script = (
        "import sys\n"
        "from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table\n"
        f"sys.stdout = sys.stderr = open({str(log)!r}, 'w', buffering=1)\n"
        "exit_briefly_on_corrupted_intermediate()\n"
        f"read_table({str(table)!r})\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    for text in (log.read_text(), run.stderr):
        assert str(table) in text and "snakemake" in text and "Traceback" not in text
    assert len(run.stderr.strip().splitlines()) == 1
    # any other error keeps its traceback
    other = script.replace(f"read_table({str(table)!r})", "raise ValueError('a bug')")
    run = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "Traceback" in log.read_text() and "a bug" in log.read_text()


def test_a_checkpoint_of_another_layout_is_named_with_its_remedy(tmp_path):
    """A weights file written by an older version (no layout key) is refused, not misread."""
    old = tmp_path / "weights.pt"
    torch.save({"arch": {"depth": 1}, "seeds": {0: {"init": {}, "t_star": None, "final": {}}}}, old)
    with pytest.raises(CorruptedIntermediate, match="layout") as err:
        load_checkpoint(old, 0)
    _assert_names_file_and_remedy(err, old)
