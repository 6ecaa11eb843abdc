import subprocess
import sys

import pytest
import yaml

from conftest import entry, ROOT, SCHEMA
from spatialpool.config import problems


def test_shipped_configs_are_valid(default_config, paper_config):
    assert problems(default_config, SCHEMA) == []
    assert problems(paper_config, SCHEMA) == []


def _set(config, dotted, value):
    *path, last = dotted.split(".")
    node = config
    for p in path:
        node = entry(node, p) if isinstance(node, list) else node[p]
    node[last] = value


@pytest.mark.parametrize("key,value,expected", [
    ("experiments.task1_relu.activation", "sigmoid", "experiments.task1_relu.activation: 'sigmoid' does not match"),
    ("experiments.task1_relu.task", "task3", "experiments.task1_relu.task: unknown task 'task3'"),
    ("tasks.task1.kind", "triangles", "tasks.task1.kind: 'triangles' is not one of"),
    ("experiments.task1_relu.net.width", 0, "experiments.task1_relu.net.width: 0 is less than the minimum of 1"),
    ("experiments.task2_relu.net.depth", -3, "experiments.task2_relu.net.depth: -3 is less than the minimum of 1"),
    ("experiments.task1_relu.seeds", "0,1,2", "experiments.task1_relu.seeds: '0,1,2' is not of type 'array'"),
    ("experiments.task1_relu.seeds", [0, 1.5], "experiments.task1_relu.seeds.1: 1.5 is not of type 'integer'"),
    ("tasks.task1.gap", 12, "tasks.task1.gap: 12 is larger than the scale xi = 11"),
    ("probe.size", 500, "probe.size: 500 is larger than the test set of task 'task1' (176 pairs)"),
    ("experiments.task1_relu.fit.D", [1, 40], "experiments.task1_relu.fit.D: need k_min < k_max <= depth = 12, got [1, 40]"),
    ("experiments.task1_relu.fit.G", [3], "experiments.task1_relu.fit.G: [3] is too short"),
    ("experiments.task2_relu.net.depth", 8, "experiments.task2_relu.net.depth: 8 layers of stride 2 need a length divisible by 256"),
    ("experiments.task1_relu.name", "task2_relu", "experiments: the name 'task2_relu' is used by 2 entries"),
    ("tasks.task1.name", "a b", "tasks.a b.name: 'a b' does not match"),
    ("experiments", {"task1_relu": {}}, "experiments: {'task1_relu': {}} is not of type 'array'"),
    ("tasks.task1.n_train", 300, "tasks.task1.n_train: 300 leaves no test data"),
    ("experiments.task1_relu.train.anneal_fraction", 1.0, "experiments.task1_relu.train.anneal_fraction: 1.0 is greater than or equal to the maximum of 1"),
    ("experiments.task1_relu.train.stop", "t_star_multiple", "experiments.task1_relu.train.anneal_fraction: a learning-rate warm-down needs"),
    ("resume.interval_s", -1, "resume.interval_s: -1 is less than the minimum of 0"),
])
def test_bad_values_are_named(default_config, key, value, expected):
    _set(default_config, key, value)
    found = problems(default_config, SCHEMA)
    assert any(expected in p for p in found), found


def test_unknown_key_is_reported(default_config):
    entry(default_config["experiments"], "task1_relu")["train"]["learning_rate"] = 0.1
    found = problems(default_config, SCHEMA)
    assert any("experiments.task1_relu.train" in p and "learning_rate" in p for p in found), found


def test_snakemake_stops_before_any_job_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"probe": {"size": 10_000}}))
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(bad), "--cores", "1"],
        capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Invalid configuration (nothing was run)" in out and "probe.size: 10000" in out
    assert "Traceback" not in out
    assert not (tmp_path / "results").exists()


def test_keyed_fills_every_top_level_default_of_the_schema():
    """A config without a key the schema gives a default for (an older or hand-made config file)
    gets that default, not a KeyError while the DAG is built."""
    from spatialpool.config import DEFAULTS, keyed

    schema = yaml.safe_load(SCHEMA.read_text())
    defaults = {k: v["default"] for k, v in schema["properties"].items() if "default" in v}
    assert DEFAULTS == defaults
    bare = yaml.safe_load((ROOT / "config.yaml").read_text())
    for key in defaults:
        bare.pop(key, None)
    assert {k: keyed(bare)[k] for k in defaults} == defaults


def test_default_digit_cnns_keep_the_authors_learning_rate_per_image(default_config, paper_config):
    """The default digits group trains its CNNs with batch 32 at lr 0.025 (README, 'The digits
    protocol'): the authors' lr per image, 0.1 / 128, with 4x the SGD steps; its FCNs keep the
    authors' Adam, and the paper configuration keeps the authors' batch 128 at lr 0.1."""
    from spatialpool.image_workflow import normalise, train_config
    images = normalise(default_config["images"])
    cnns = 0
    for arch in images["groups"]["digits"]["archs"]:
        cfg = train_config(images, "digits", arch, "0")
        if cfg.optimizer == "sgd":
            cnns += 1
            assert (cfg.batch_size, cfg.lr) == (32, 0.025) and cfg.lr / cfg.batch_size == 0.1 / 128
        else:
            assert (cfg.optimizer, cfg.lr, cfg.batch_size) == ("adam", 0.1, 128)
    assert cnns == 3
    paper = normalise(paper_config["images"])
    for group in paper["groups"]:
        for arch in paper["groups"][group]["archs"]:
            cfg = train_config(paper, group, arch, "0")
            if cfg.optimizer == "sgd" and cfg.loss == "cross_entropy":
                assert (cfg.batch_size, cfg.lr) == (128, 0.1)
