"""Grid expansion, probe sets and per-net measurements of the real-image half (scorecard: test_image_scorecard.py)."""
import numpy as np
import pytest
import torch

from spatialpool.models.architectures import build
from spatialpool.perturbations.diffeo import temperature
from spatialpool.measurement.images import make_probe, measure_perturbed, measure_states
from spatialpool.measurement.estimator import measure
from spatialpool.perturbations.registry import perturb
from spatialpool.image_workflow import grid, normalise, train_config
from spatialpool.data.images import Task2D, make_scale_detection_2d


pytestmark = pytest.mark.usefixtures("one_thread")


IMAGES = {
    "datasets": [{"name": "d", "kind": "digits", "split_seed": 0, "n_val": 10, "n_test": 10},
                 {"name": "s", "kind": "scale_detection_2d", "side": 12, "xi": 6, "gap": 2, "n_train": 16, "n_val": 8,
                  "n_test": 16, "seed": 0}],
    "groups": [{"name": "g", "dataset": "d", "seeds": [0, 1], "noise": [0], "train": {"epochs": 3},
                "archs": [{"arch": "lenet", "noise": [0, 0.1, 10]}, {"arch": "fcn2", "seeds": [5], "train": {"lr": 0.5}}]},
               {"name": "h", "dataset": "s", "seeds": [0], "archs": [{"arch": "vgg11_bn", "width_factor": 0.25}]}],
}


def test_grid_and_overrides():
    images = normalise(IMAGES)
    nets = grid(images)
    assert len(nets) == 3 * 2 + 1 + 1
    assert {n["noise"] for n in nets if n["arch"] == "lenet"} == {"0", "0.1", "10"}
    assert [n["seed"] for n in nets if n["arch"] == "fcn2"] == [5]
    fcn = train_config(images, "g", "fcn2", "0")
    assert (fcn.optimizer, fcn.lr, fcn.epochs) == ("adam", 0.5, 3)  # the authors' FCN protocol, lr overridden
    lenet = train_config(images, "g", "lenet", "0.1")
    assert (lenet.optimizer, lenet.lr, lenet.noise_std, lenet.epochs) == ("sgd", 0.1, 0.1, 3)
    vgg = train_config(images, "h", "vgg11_bn", "0")
    assert (vgg.loss, vgg.lr, vgg.augment, vgg.epochs) == ("hinge", 0.05, False, 250)


def test_measure_perturbed_matches_the_diffeo_measurement():
    torch.manual_seed(0)
    model = build("lenet", width_factor=0.5).double().eval()
    x = torch.randn(6, 3, 32, 32, dtype=torch.float64)
    temp = temperature(1.0, 32)
    p = perturb(x, temp, draws=2, seed=3)
    ours = measure_perturbed(model, x, p["deformed"], p["noisy"], batch_size=4)
    ref = measure(model, x, temp, draws=2, seed=3, batch_size=3)
    np.testing.assert_allclose(ours[["D", "G", "R"]].to_numpy(), ref[["D", "G", "R"]].to_numpy(), rtol=1e-9)
    assert list(ours.name) == list(ref.name)


def test_scale_detection_probe_moves_each_pixel_to_a_neighbour():
    task = Task2D(side=12, xi=6, gap=2)
    splits = make_scale_detection_2d(task, 16, 20, seed=0, n_val=4, pad_to=16)
    probe = make_probe(splits, "scale_detection_2d", 10, 3, seed=2, task=dict(side=12, xi=6, gap=2))
    assert probe["perturbation"] == "pixel_moves" and probe["perturbed"]["D"].shape == (10, 3, 1, 16, 16)
    assert (probe["displacement"] <= np.sqrt(2) + 1e-12).all() and (probe["displacement"] > 0).any()
    x = probe["x"]
    for i in range(10):
        for r in range(3):
            d = probe["perturbed"]["D"][i, r]
            assert d.sum() == pytest.approx(x[i].sum())  # the two pixels' mass is kept (collisions add up)
            assert (probe["perturbed"]["G"][i, r] - x[i]).norm() == pytest.approx((d - x[i]).norm())
    again = make_probe(splits, "scale_detection_2d", 10, 3, seed=2, task=dict(side=12, xi=6, gap=2))
    assert torch.equal(again["perturbed"]["D"], probe["perturbed"]["D"])


def test_layers_and_states_of_a_lenet():
    torch.manual_seed(0)
    init, trained = build("lenet", width_factor=0.5), build("lenet", width_factor=0.5)
    x = torch.randn(8, 3, 32, 32, dtype=torch.float64)
    probe = dict(x=x, seed=1, draws=1, perturbation="diffeo", delta=1.0, cut=3, temperature=temperature(1.0, 32))
    table = measure_states(init, trained, probe, shuffles=2, batch_size=8, log=lambda *a: None)
    assert table.groupby("state").shuffle.nunique().to_dict() == {"init": 0, "shuffled": 2, "best": 0}
    t = table[(table.state == "best")]
    layers = t[t.is_layer].sort_values("layer")
    assert list(layers.kind) == ["input", "ReLU", "ReLU", "ReLU", "ReLU", "output"] and t.K.iloc[0] == 5
    assert layers.rel_depth.tolist() == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert t[t.kind == "input"].R.iloc[0] == pytest.approx(1.0)
    fcn = measure_states(build("fcn2"), build("fcn2"), probe, shuffles=2, batch_size=8, log=lambda *a: None)
    assert set(fcn.state) == {"init", "best"}  # nothing to shuffle without convolutions

