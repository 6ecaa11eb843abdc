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
    ("fits.min_layers", 6, "experiments.task2_relu.fit.D: the window [1, 3] has 3 layers, fewer than fits.min_layers = 6"),
    ("appendix_a.plot_depths", [2, 8, 2000], "appendix_a.length: 1024 is too short; the exact profile at depth 2000"),
    ("plots.formats", ["png", "png"], "plots.formats: ['png', 'png'] has non-unique elements"),
    ("images.probe.cut", 1, "images.probe.cut: 1 is less than the minimum of 2"),
    ("images.groups.digits.train.device", "gpu0", "images.groups.digits.train.device: 'gpu0' does not match"),
])
def test_bad_values_are_named(default_config, key, value, expected):
    _set(default_config, key, value)
    found = problems(default_config, SCHEMA)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize("value,hinted", [("5", True), ("-1", True), ("0.5", True), ("true", True),
                                          ("five", False), ("0,1,2", False)])
def test_number_given_as_text_points_to_configfile(default_config, value, hinted):
    """Snakemake's --config hands nested values over as text (--config probe='{size: 5}' gives
    '5'): the schema's type error then says so and names --configfile; other strings do not."""
    _set(default_config, "probe.size", value)
    found = [p for p in problems(default_config, SCHEMA) if p.startswith("probe.size:")]
    assert found and all(("--configfile" in p) == hinted for p in found), found


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
    # resume.dir null is the results folder's .resume (resume_settings)
    resolved = {**defaults, "resume": {**defaults["resume"], "dir": "results/.resume"}}
    assert {k: keyed(bare)[k] for k in defaults} == resolved


def test_resume_states_follow_the_results_folder(default_config, paper_config):
    """A configuration with its own results folder keeps its training states there, unless it
    names resume.dir itself (config.resume_settings)."""
    from spatialpool.config import resume_settings
    assert resume_settings(default_config)["dir"] == "results/.resume"
    assert resume_settings({**default_config, "results": "results-mine"})["dir"] == "results-mine/.resume"
    assert resume_settings(paper_config)["dir"] == "results-paper/.resume"
    for name in ("cifar10_cpu", "cifar10_ci"):  # their own folders: they cannot overwrite the default run's
        shipped = yaml.safe_load((ROOT / f"configs/{name}.yaml").read_text())
        assert shipped["results"] not in ("results", None) and shipped["logs"] != "logs"
        assert resume_settings(shipped)["dir"] == f"{shipped['results']}/.resume"


def _group_arch(config, group, arch):
    return next(a for a in entry(config["images"]["groups"], group)["archs"] if a["arch"] == arch)


def test_image_training_settings_that_do_not_fit_are_named(default_config):
    """Loss against the data's labels, trajectory epochs past the last epoch: config errors naming
    the key, not a net trained on a meaningless objective or a traceback when the DAG is built."""
    from spatialpool.image_config import image_problems
    _group_arch(default_config, "digits", "lenet")["train"]["loss"] = "hinge"
    _group_arch(default_config, "sd2d", "fcn2")["train"] = {"loss": "cross_entropy"}
    _group_arch(default_config, "digits", "fcn2")["train"] = {"trajectory_epochs": [1, 50]}
    found = image_problems(default_config)
    assert any(p.startswith("images.groups.digits.archs.lenet.train.loss: hinge needs +-1 labels") for p in found), found
    assert any(p.startswith("images.groups.sd2d.archs.fcn2.train.loss: cross_entropy needs class indices")
               for p in found), found
    assert any(p.startswith("images.groups.digits.archs.fcn2.train.trajectory_epochs: [50] come after the last "
                            "epoch (12)") for p in found), found


@pytest.mark.parametrize("side,xi,gap", [(28, 14, 2), (8, 4, 2), (6, 3.5, 1), (5, 40, 2), (7, 2, 0)])
def test_2d_class_counts_match_the_task_pairs(side, xi, gap):
    """The config check's counts (numpy, by displacement) are those of the pairs the data set draws from."""
    from spatialpool.data.images import Task2D, all_pairs_2d
    from spatialpool.image_config import scale_detection_2d_class_counts
    _, _, y = all_pairs_2d(Task2D(side, xi, gap))
    assert scale_detection_2d_class_counts(side, xi, gap) == (int((y == 1).sum()), int((y == -1).sum()))


@pytest.mark.parametrize("changes,expected", [
    (dict(xi=40), "images.datasets.sd2d: one class is empty (306936 positive, 0 negative pairs"),
    (dict(side=8, xi=4, pad_to=32), "images.datasets.sd2d: n_train + n_val + n_test = 1792 needs 896 / 896 pairs per class; "
                                    "the task has 546 / 808"),
])
def test_a_2d_scale_detection_task_too_small_for_its_splits_is_named(default_config, changes, expected):
    from spatialpool.image_config import image_problems
    entry(default_config["images"]["datasets"], "sd2d").update(changes)
    found = image_problems(default_config)
    assert any(p.startswith(expected) for p in found), found


def test_a_problem_is_named_once_not_again_for_the_swish_copies(default_config):
    entry(default_config["experiments"], "task1_relu")["task"] = "task3"
    found = problems(default_config, SCHEMA)
    assert [p for p in found if "unknown task" in p] == [
        "experiments.task1_relu.task: unknown task 'task3'; allowed: ['task1', 'task2']"], found


def test_noise_levels_that_share_a_path_label_are_named(default_config):
    from spatialpool.image_config import image_problems
    _group_arch(default_config, "digits", "lenet")["noise"] = [0.1, 0.1000001]
    found = image_problems(default_config)
    assert any(p.startswith("images.groups.digits.archs.lenet.noise: [0.1, 0.1000001] name the same net twice")
               for p in found), found


def test_figures_3_and_C4_need_their_architectures_in_the_group_they_draw(default_config):
    from spatialpool.image_config import image_problems
    digits = entry(default_config["images"]["groups"], "digits")
    digits["archs"] = [a for a in digits["archs"] if a["arch"] != "vgg11_bn"]  # still trained on sd2d
    found = image_problems(default_config)
    assert any(p.startswith("images.figures.fig3[0]: 'vgg11_bn' is not trained in group 'digits'") for p in found), found


def test_imagenet_weights_for_a_model_not_measured_are_named(paper_config, tmp_path):
    from spatialpool.image_config import image_problems
    paper_config["cifar10_source"] = str(tmp_path)
    imagenet = paper_config["images"]["imagenet"]
    imagenet["weights"] = {m: "DEFAULT" for m in imagenet["models"]} | {"vgg91": "DEFAULT"}
    assert image_problems(paper_config) == [f"images.imagenet.weights.vgg91: not one of images.imagenet.models "
                                            f"{sorted(imagenet['models'])}"]


@pytest.mark.parametrize("changes,expected", [
    (dict(models=["torchvision:resnet18", "torchvision:vgg11"], weights=[None]),
     "model_measurements.mine.weights: 1 values for 2 models"),
    (dict(models=["spatialpool:lenet5"]), "model_measurements.mine.models[0]: unknown architecture 'lenet5'"),
    (dict(models=["spatialpool:lenet"], weights=["w.pt"]), "model_measurements.mine.weights[0]: spatialpool:lenet is randomly"),
    (dict(models=["resnet18"]), "model_measurements.mine.models[0]: 'resnet18'; expected torchvision:NAME"),
    (dict(models=["my-lab:net"]), "model_measurements.mine.models[0]: 'my-lab' is neither"),
])
def test_bad_model_measurement_entries_are_named(default_config, changes, expected):
    default_config["model_measurements"] = [dict(name="mine", data="digits", models=["torchvision:resnet18"]) | changes]
    found = problems(default_config, SCHEMA)
    assert any(p.startswith(expected) for p in found), found


def test_model_measurement_files_are_the_entrys_local_inputs():
    """What the rule measure_models declares as input (common.smk): data, checkpoints, weights files."""
    from spatialpool.config import model_measurement_files
    e = dict(data="cifar10:data/c.tar.gz", models=["torchvision:resnet18", "torchvision:vgg11", "checkpoint:ck.pt",
                                                   "mylab.nets:build"],
             weights=["IMAGENET1K_V1", "trained.pth", None, "lab.bin"])
    assert model_measurement_files(e) == ["data/c.tar.gz", "trained.pth", "ck.pt", "lab.bin"]
    assert model_measurement_files(dict(data="digits", models=["torchvision:resnet18"])) == []


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
