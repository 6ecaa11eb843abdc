"""Resumable training: an interrupted run resumes to the same weights as an uninterrupted one."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from conftest import entry, ROOT
from spatialpool.training.resume import Checkpointer, run_key
from test_stacked import ARCH1, _data, _nets
from spatialpool.training.scale_detection import TrainConfig, train_seeds

CFG = TrainConfig(lr=0.03, weight_decay=0.05, stop="decay_times", stop_value=0.1, max_steps=400)


class Crash(Exception):
    pass


class CrashingCheckpointer(Checkpointer):
    """Saves like a Checkpointer, then dies (as a kill would) after its n-th save."""
    def __init__(self, path, after):
        super().__init__(path, 0.0, log=lambda m: None)
        self.left = after

    def save(self, state):
        super().save(state)
        self.left -= 1
        if self.left == 0:
            raise Crash


def _train(checkpointer=None, log=lambda m: None):
    nets, batch_seeds = zip(*_nets(ARCH1, range(2), torch.float32))
    return train_seeds(list(nets), *_data(torch.float32), CFG, list(batch_seeds), log=log,
                       checkpointer=checkpointer)


def _same(a, b):
    return all(torch.equal(ra.final_state[k], rb.final_state[k]) for ra, rb in zip(a, b) for k in ra.final_state)


def test_resumed_run_ends_with_bitwise_the_same_weights(tmp_path):
    reference = _train()
    path = tmp_path / "state"
    with pytest.raises(Crash):
        _train(CrashingCheckpointer(path, after=20))
    messages = []
    resumed = _train(Checkpointer(path, 1e9, log=messages.append))
    assert any(m.startswith("resuming from") and "step 120" in m for m in messages), messages
    assert _same(resumed, reference)
    # the history is whole: every row of the uninterrupted run, in order
    for r, ref in zip(resumed, reference):
        assert [h["step"] for h in r.history] == [h["step"] for h in ref.history]


def test_state_saved_with_one_sgd_group_per_layer_resumes_bitwise(tmp_path):
    """States saved before filters of the same scale shared an SGD group (one group per layer)
    still resume: plain SGD keeps no per-parameter state, so only the model's record matters."""
    from spatialpool.models.stacked import StackedCNN
    reference = _train()
    path = tmp_path / "state"
    grouped = StackedCNN.sgd_groups

    def per_layer(self, lr, filter_decay):
        groups = [{"params": [v], "lr": lr * c ** 2, "weight_decay": filter_decay / c ** 2}
                  for v, c in zip(self.filters, self.scales)]
        return groups + [{"params": [*self.biases, self.beta, self.b_out], "lr": lr, "weight_decay": 0.0}]

    StackedCNN.sgd_groups = per_layer
    try:
        with pytest.raises(Crash):
            _train(CrashingCheckpointer(path, after=20))
    finally:
        StackedCNN.sgd_groups = grouped
    messages = []
    resumed = _train(Checkpointer(path, 1e9, log=messages.append))
    assert any(m.startswith("resuming from") for m in messages), messages
    assert _same(resumed, reference)


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_corrupted_state_is_detected_and_training_restarts(tmp_path, damage):
    path = tmp_path / "state"
    with pytest.raises(Crash):
        _train(CrashingCheckpointer(path, after=5))
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw = bytearray(b"not a state file")
    path.write_bytes(bytes(raw))
    messages = []
    restarted = _train(Checkpointer(path, 1e9, log=messages.append))
    assert any("corrupted" in m and "starting from scratch" in m for m in messages), messages
    assert not any(m.startswith("resuming") for m in messages)
    assert _same(restarted, _train())


def test_run_key_separates_parameters_and_data():
    params = dict(net=dict(depth=12, width=32), train=dict(lr=0.01, weight_decay=0.2), seeds=[0, 1])
    base = run_key(params, b"data")
    assert run_key(dict(reversed(list(params.items()))), b"data") == base  # key order is irrelevant
    assert run_key(params | dict(seeds=[0, 1, 2]), b"data") != base
    assert run_key(params | dict(train=dict(lr=0.02, weight_decay=0.2)), b"data") != base
    assert run_key(params, b"other data") != base


# -- kill -9 of a real Snakemake training job, then a rerun ------------------------------------

def _config(tmp_path):
    cfg = yaml.safe_load((ROOT / "tests/tiny_config.yaml").read_text())
    entry(cfg["experiments"], "task1_relu")["train"].update(stop_value=3.0, max_steps=20000)  # ~3000 steps
    cfg["resume"] = dict(enabled=True, dir="results/.resume", interval_s=0.3)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _snakemake(workdir, configfile):
    target = "results/scale_detection/train/task1_relu/block0-1.pt"
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile), "--cores", "1", target]


@pytest.mark.workflow
def test_kill_9_during_training_then_rerun_gives_identical_weights(tmp_path):
    configfile = _config(tmp_path)
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    subprocess.run(_snakemake(reference, configfile), check=True, capture_output=True, timeout=600)

    proc = subprocess.Popen(_snakemake(killed, configfile), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    states = killed / "results/.resume/train/task1_relu"
    while not (states.exists() and any(states.glob("*.state"))):
        assert proc.poll() is None and time.time() < deadline, "training ended before any state was saved"
        time.sleep(0.05)
    time.sleep(1.0)  # a few more saves, mid-training
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "results/scale_detection/train/task1_relu/block0-1.pt").exists()

    # A killed Snakemake leaves its lock behind: unlock, then rerun (the profile reruns incomplete jobs).
    subprocess.run(_snakemake(killed, configfile) + ["--unlock"], check=True, capture_output=True, timeout=600)
    subprocess.run(_snakemake(killed, configfile), check=True, capture_output=True, timeout=600)
    log = (killed / "logs/train/task1_relu/block0-1.log").read_text()
    assert "resuming from" in log
    ref = torch.load(reference / "results/scale_detection/train/task1_relu/block0-1.pt")
    got = torch.load(killed / "results/scale_detection/train/task1_relu/block0-1.pt")
    for seed in ref["seeds"]:
        for state in ("init", "t_star", "final"):
            if ref["seeds"][seed]["states"][state] is None:  # a seed that never interpolated has no t* state
                assert got["seeds"][seed]["states"][state] is None
                continue
            for k, v in ref["seeds"][seed]["states"][state].items():
                assert torch.equal(got["seeds"][seed]["states"][state][k], v), (seed, state, k)
    assert not any(states.glob("*.state")), "a finished run removes its state"


def test_stop_request_saves_then_exits_and_the_rerun_resumes(tmp_path):
    """What SIGTERM does (SLURM sends it before a time-limit kill): save at the epoch end, exit."""
    path = tmp_path / "state"
    checkpointer = Checkpointer(path, 1e9, log=lambda m: None)
    checkpointer.request_stop()
    with pytest.raises(SystemExit):
        _train(checkpointer)
    assert path.exists()
    messages = []
    resumed = _train(Checkpointer(path, 1e9, log=messages.append))
    assert any(m.startswith("resuming from") and "step 6" in m for m in messages), messages
    assert _same(resumed, _train())
