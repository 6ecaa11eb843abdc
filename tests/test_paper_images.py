"""configs/paper.yaml's real-image half holds README, 'Real images', and its dry run is the full grid."""
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from spatialpool.image_workflow import grid, normalise, train_config

TABLE_C1 = ["fcn2", "fcn4", "fcn6", "lenet", "alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
            "resnet18", "resnet34", "resnet50", "efficientnet_b0"]
NOISE = [0, 0.01, 0.1, 1, 10, 30, 100]


@pytest.fixture
def images(paper_config):
    return normalise(paper_config["images"])


def test_cifar10_grid_and_protocol(images):
    g = images["groups"]["cifar10"]
    assert images["datasets"]["cifar10"]["kind"] == "cifar10"
    assert list(g["archs"]) == TABLE_C1 and g["noise"] == NOISE
    for arch in TABLE_C1:
        seeds = g["archs"][arch].get("seeds", g["seeds"])
        assert seeds == (list(range(11)) if arch.startswith("fcn") else [0, 1, 2, 3])
    cnn = train_config(images, "cifar10", "vgg11_bn", "10")
    assert (cnn.optimizer, cnn.lr, cnn.momentum, cnn.weight_decay, cnn.batch_size, cnn.epochs) == ("sgd", 0.1, 0.9, 5e-4, 128, 250)
    assert (cnn.schedule, cnn.cosine_t_max_fraction, cnn.loss, cnn.augment, cnn.crop_padding, cnn.flip) == \
        ("cosine", 0.8, "cross_entropy", True, 4, True)
    assert cnn.noise_std == 10.0 and cnn.selection == "validation"
    fcn = train_config(images, "cifar10", "fcn4", "0")
    assert (fcn.optimizer, fcn.lr, fcn.weight_decay, fcn.schedule) == ("adam", 0.1, 0.0, "constant")


def test_scale_detection_grid_and_protocol(images):
    for p in (1024, 2048):
        name = f"sd2d_p{p}"
        d = images["datasets"][name]
        assert (d["kind"], d["side"], d["xi"], d["gap"], d["n_train"], d["pad_to"]) == ("scale_detection_2d", 28, 14, 2, p, 32)
        g = images["groups"][name]
        assert g["dataset"] == name and list(g["archs"]) == TABLE_C1 and g["seeds"] == list(range(10))
        assert all("seeds" not in a for a in g["archs"].values()) and g["noise"] == [0]
    cfg = train_config(images, "sd2d_p1024", "alexnet", "0")
    assert (cfg.loss, cfg.lr, cfg.augment, cfg.optimizer, cfg.epochs) == ("hinge", 0.05, False, "sgd", 250)


def test_probe_and_imagenet(images):
    assert images["probe"] | {"batch_size": 0} == dict(size=500, draws=1, seed=1, batch_size=0, delta=1.0, cut=3,
                                                       dtype="float64")
    im = images["imagenet"]
    assert set(im["models"]) == {"alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50"}
    assert im["probe"]["size"] == 500 and (im["probe"]["resize"], im["probe"]["crop"]) == (256, 224)


def test_paper_dry_run_lists_the_full_image_grid(tmp_path, images):
    (tmp_path / "data/imagenet/val").mkdir(parents=True)  # without it ImageNet is left out (tests/test_targets.py)
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(ROOT / "configs/paper.yaml"), "-n"],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    stats = run.stdout.split("Job stats:")[1]
    jobs = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M)}
    n_cifar = (12 * 4 + 3 * 11) * 7
    assert n_cifar == 567 and len(grid(images)) == n_cifar + 2 * 15 * 10
    assert jobs["image_train"] == jobs["image_measure"] == 867
    assert jobs["cifar10_dataset"] == 1 and jobs["imagenet_measure"] == 8 and jobs["image_probe"] == 3
    assert jobs["figC6"] == 1 and jobs["image_correlations"] == 3
    assert "wildcards: group=cifar10, arch=fcn6, noise=100, seed=10" in run.stdout
    assert "wildcards: group=cifar10, arch=resnet50, noise=0.01, seed=3" in run.stdout
    assert "wildcards: group=sd2d_p2048, arch=efficientnet_b0, noise=0, seed=9" in run.stdout
    assert "group=digits" not in run.stdout  # the default config's groups are replaced, not merged
