"""The model registry (spatialpool.models.registry): one declaration per architecture, read without torch."""
import subprocess
import sys

import pytest

from spatialpool.models.architectures import ARCHITECTURES, build, is_fully_connected
from spatialpool.training.protocols import paper_protocol
from spatialpool.models.registry import REGISTRY, Architecture, image_architectures, register, spec


def test_every_image_architecture_is_registered_and_buildable():
    assert image_architectures() == list(ARCHITECTURES)  # no builder elsewhere: all in architectures.py
    assert "simple_cnn" in REGISTRY and "simple_cnn" not in image_architectures()


@pytest.mark.parametrize("name", ["fcn2", "lenet", "vgg11_bn", "resnet18"])
def test_declared_kind_matches_the_built_module(name):
    import torch
    has_conv = any(isinstance(m, torch.nn.Conv2d) for m in build(name, width_factor=0.125).modules())
    assert has_conv == spec(name).is_conv == (not is_fully_connected(name))


def test_protocol_family_is_read_from_the_registry():
    assert paper_protocol("images", "fcn4").optimizer == "adam"
    assert paper_protocol("images", "vgg11").optimizer == "sgd"
    assert spec("vgg16").min_side == 32 and spec("lenet").min_side == 1


def test_unknown_and_duplicate_names_are_refused():
    with pytest.raises(KeyError, match="unknown architecture 'vgg7'.*lenet"):
        spec("vgg7")
    with pytest.raises(ValueError, match="already registered"):
        register(Architecture("lenet", "sgd_cosine", "conv", "spatialpool.models.architectures"))
    with pytest.raises(ValueError, match="unknown protocol family"):
        Architecture("toy", "rmsprop", "conv", "toy")


def test_parsing_the_config_imports_no_torch():
    """The registry, protocols and config checks are read while Snakemake parses the rule files."""
    code = ("import sys, yaml; from spatialpool.config import problems, keyed; "
            "from spatialpool.image_config import image_problems; from spatialpool import image_workflow as IW; "
            "c = yaml.safe_load(open('config.yaml')); assert not problems(c, 'workflow/schemas/config.schema.yaml'); "
            "assert not image_problems(c); k = keyed(c)['images']; "
            "[IW.train_params(k, n['group'], n['arch'], n['noise']) for n in IW.grid(k)]; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    from conftest import ROOT
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_every_registered_image_architecture_is_measured_strictly():
    """Each architecture declares its measurement points; with points="modules" every leaf module
    is either measured (and given a role) or skipped by rule, never silently left out."""
    from spatialpool.models.architectures import build
    from spatialpool.measurement.estimator import default_points, role_of
    from spatialpool.models.registry import REGISTRY, image_architectures

    assert REGISTRY["simple_cnn"].points == "hidden"
    for name in image_architectures():
        assert REGISTRY[name].points == "modules"
        side = max(32, REGISTRY[name].min_side)
        model = build(name, num_classes=10, in_channels=3, width_factor=0.125, input_size=side)
        names = default_points(model, strict=True)
        modules = dict(model.named_modules())
        roles = {role_of(modules[n]) for n in names}
        assert roles <= {"layer", "inner"} and "layer" in roles, name


def test_a_leaf_module_without_a_measurement_rule_is_an_error():
    import pytest
    from torch import nn
    from spatialpool.measurement.estimator import default_points

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.LayerNorm([2, 6, 6]), nn.Flatten(), nn.Linear(72, 1))
    assert default_points(model) == ["0", "1", "4"]  # LayerNorm left out: only in non-strict use
    with pytest.raises(ValueError, match=r"2 \(LayerNorm\)"):
        default_points(model, strict=True)
    with pytest.raises(ValueError, match="unknown measurement points"):
        from spatialpool.models.registry import Architecture
        Architecture("x", "adam", "conv", "m", points="everything")
