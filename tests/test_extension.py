"""Extending the workflow: an architecture declared in one place goes through the config checks,
the training protocol, the probe set, the measurement and the tables (README, 'Extending')."""
import copy

import numpy as np
import pytest
import torch
import yaml

from conftest import ROOT
from spatialpool.models.architectures import build
from spatialpool.image_config import image_problems
from spatialpool.measurement.images import filter_spectra, make_probe, measure_states
from spatialpool.data.images import load_digits_images
from spatialpool.training.protocols import paper_protocol
from spatialpool.models.registry import Architecture, register, unregister

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def toy():
    register(Architecture("toy", "sgd_cosine", "conv", "toy_models", builder="toy_models:ToyNet"))
    yield "toy"
    unregister("toy")


def test_a_registered_architecture_is_checked_built_trained_and_measured(toy):
    # the config check accepts it in a group, and rejects it once unregistered
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    group = copy.deepcopy(config["images"]["groups"][0])
    group["archs"] = [{"arch": toy}]
    config["images"]["groups"].append({**group, "name": "toys"})
    assert image_problems(config) == []
    assert paper_protocol("images", toy).optimizer == "sgd"

    torch.manual_seed(0)
    init, trained = build(toy), build(toy)
    with torch.no_grad():  # a stand-in for training: the filters become constant (spatial pooling)
        for m in trained.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.copy_(m.weight.mean((2, 3), keepdim=True).expand_as(m.weight))
    splits = load_digits_images(split_seed=0, n_val=10, n_test=40)
    probe = make_probe(splits, "digits", size=12, draws=2, seed=3)
    table = measure_states(init, trained, probe, shuffles=1, batch_size=12, log=lambda *a: None)
    layers = table[(table.state == "best") & table.is_layer & (table.k > 0)]
    assert list(layers.name) == ["features.1", "features.4", "output"]  # the two ReLUs and the output
    inp = table[(table.state == "best") & (table.k == 0)]
    assert float(inp.R.iloc[0]) == pytest.approx(1.0)
    assert np.isfinite(layers[["D", "G", "R"]].to_numpy()).all()
    spectra, aggregates = filter_spectra(init, trained)
    trained_agg = aggregates[aggregates.state == "best"].aggregate_frequency
    assert np.allclose(trained_agg, 0.0, atol=1e-12)  # constant filters: all power in the constant mode
    assert (aggregates[aggregates.state == "init"].aggregate_frequency > 0.5).all()

    unregister(toy)
    try:
        assert any("unknown architecture" in p for p in image_problems(config))
        with pytest.raises(ValueError, match="unknown architecture 'toy'"):
            build(toy)
    finally:
        register(Architecture("toy", "sgd_cosine", "conv", "toy_models", builder="toy_models:ToyNet"))


def _roll_batches(probe, images, batch_size):
    """A toy perturbation: every image shifted by one pixel (periodically), one draw; noise of the
    same norm from a fixed generator."""
    gen = torch.Generator().manual_seed(probe["seed"])
    for lo in range(0, len(images), batch_size):
        x = images[lo:lo + batch_size].double()
        shifted = torch.roll(x, 1, dims=-1)[:, None]
        z = torch.randn(shifted.shape, generator=gen, dtype=torch.float64)
        norm = (shifted - x[:, None]).flatten(2).norm(dim=2)[..., None, None, None]
        noisy = x[:, None] + z * norm / z.flatten(2).norm(dim=2)[..., None, None, None]
        yield x, {"D": shifted, "G": noisy}, {"displacement": torch.ones(len(x), 1)}


def test_a_registered_perturbation_is_measured_without_the_estimator_drawing_anything():
    from spatialpool.perturbations.registry import register as register_perturbation
    from spatialpool.perturbations.registry import unregister as unregister_perturbation
    register_perturbation("roll", _roll_batches)
    try:
        splits = load_digits_images(split_seed=0, n_val=10, n_test=40)
        probe = make_probe(splits, "digits", size=10, draws=1, seed=3)
        probe["perturbation"] = "roll"
        torch.manual_seed(0)
        net = build("lenet", width_factor=0.25)
        table = measure_states(net, net, probe, shuffles=0, batch_size=4, log=lambda *a: None)
        inp = table[(table.state == "init") & (table.k == 0)].iloc[0]
        # the input row, computed directly: D_0 = mean ||roll x - x||^2 / Delta, Delta = 2 sum Var
        x = probe["x"].flatten(1).numpy()
        rolled = torch.roll(probe["x"], 1, dims=-1).flatten(1).numpy()
        delta = 2 * x.var(0).sum()
        assert inp.D == pytest.approx(((rolled - x) ** 2).sum(1).mean() / delta, rel=1e-10)
        assert inp.R == pytest.approx(1.0) and inp.displacement_rms == pytest.approx(1.0)
        assert np.isfinite(table[table.k > 0][["D", "G", "R"]].to_numpy()).all()
    finally:
        unregister_perturbation("roll")


def test_a_toy_dataset_architecture_and_perturbation_each_registered_once(toy):
    """The issue's extension test: a data set kind, an architecture and a perturbation, each declared
    in one place, go through the config check, the probe set, the measurement and the tables."""
    from spatialpool.data.kinds import DatasetKind
    from spatialpool.data.kinds import register as register_kind
    from spatialpool.data.kinds import unregister as unregister_kind
    from spatialpool.image_workflow import make_dataset
    from spatialpool.perturbations.registry import register as register_perturbation
    from spatialpool.perturbations.registry import unregister as unregister_perturbation

    register_kind(DatasetKind("toy_stripes", "images", "roll", make="toy_models:stripes"))
    register_perturbation("roll", _roll_batches)
    try:
        entry = {"name": "stripes", "kind": "toy_stripes", "seed": 0, "n_train": 16, "n_val": 8, "n_test": 80}
        config = yaml.safe_load((ROOT / "config.yaml").read_text())
        config["images"]["datasets"].append(entry)
        config["images"]["groups"].append({"name": "toys", "dataset": "stripes", "seeds": [0],
                                           "archs": [{"arch": toy, "noise": [0, 1]}]})
        assert image_problems(config) == []
        splits = make_dataset(entry)
        probe = make_probe(splits, "toy_stripes", size=12, draws=1, seed=5)
        assert probe["perturbation"] == "roll"
        torch.manual_seed(0)
        table = measure_states(build(toy), build(toy), probe, shuffles=1, batch_size=5, log=lambda *a: None)
        assert set(table.state) == {"init", "best", "shuffled"}
        assert np.allclose(table[table.k == 0].R, 1.0)  # the input row: matched noise, R_0 = 1
        assert np.isfinite(table[table.k > 0][["D", "G", "R"]].to_numpy()).all()
        unregister_kind("toy_stripes")
        assert any("unknown data set kind 'toy_stripes'" in p for p in image_problems(config))
        register_kind(DatasetKind("toy_stripes", "images", "roll", make="toy_models:stripes"))
    finally:
        unregister_kind("toy_stripes")
        unregister_perturbation("roll")
