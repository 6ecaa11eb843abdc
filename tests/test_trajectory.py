"""The training trajectory: state names, measure_trajectory against measure_states, and the
summary on an exact small table."""
import numpy as np
import pandas as pd
import pytest
import torch

from spatialpool.analysis.trajectory import trajectory_summary
from spatialpool.figures.images import titled
from spatialpool.measurement.images import measure_states, measure_trajectory
from spatialpool.models.architectures import build
from spatialpool.perturbations.diffeo import temperature
from spatialpool.training.checkpoints import is_state, trajectory_epoch

pytestmark = pytest.mark.usefixtures("one_thread")


def test_trajectory_state_names():
    assert [trajectory_epoch(s) for s in ("init", "epoch1", "epoch250")] == [0, 1, 250]
    assert is_state("epoch12") and is_state("best") and not is_state("epoch0") and not is_state("epoch01")
    for bad in ("best", "epoch", "epochs3", "epoch0"):
        with pytest.raises(ValueError, match="not a trajectory state"):
            trajectory_epoch(bad)


def test_measure_trajectory_measures_each_state_as_measure_states_does():
    torch.manual_seed(0)
    init, later = build("lenet", width_factor=0.5), build("lenet", width_factor=0.5)
    x = torch.randn(6, 3, 32, 32, dtype=torch.float64)
    probe = dict(x=x, seed=1, draws=1, perturbation="diffeo", delta=1.0, cut=3, temperature=temperature(1.0, 32))
    history = pd.DataFrame(dict(epoch=[0, 1, 2, 3], test_error=[0.9, 0.7, 0.5, 0.4], val_error=[0.8, 0.6, 0.5, 0.3]))
    table = measure_trajectory({"epoch3": later, "init": init}, history, probe, batch_size=6, log=lambda m: None)
    assert table.drop_duplicates("state")[["state", "epoch", "test_error", "val_error"]].values.tolist() == [
        ["init", 0, 0.9, 0.8], ["epoch3", 3, 0.4, 0.3]]
    ref = measure_states(init, later, probe, shuffles=0, batch_size=6, log=lambda m: None)
    for state, ref_state in (("init", "init"), ("epoch3", "best")):
        ours, theirs = table[table.state == state], ref[ref.state == ref_state]
        assert list(ours.name) == list(theirs.name)
        np.testing.assert_allclose(ours[["D", "G", "R"]].to_numpy(), theirs[["D", "G", "R"]].to_numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="not a trajectory state"):
        measure_trajectory({"best": later}, history, probe, batch_size=6, log=lambda m: None)


def test_trajectory_summary_on_an_exact_table():
    rows = []
    # two seeds of one arch: R_f(init) = 2 and 4; after epoch 5, R_f = 1 and 1 -> ratios 0.5 and 0.25
    for seed, (r0, r5) in enumerate([(2.0, 1.0), (4.0, 1.0)]):
        for epoch, r, err in ((0, r0, 0.9), (5, r5, 0.3 + 0.1 * seed)):
            rows.append(dict(arch="vgg", noise=0.0, seed=seed, epoch=epoch, name="output", D=r * 0.1, G=0.1, R=r,
                             test_error=err, data="CIFAR-10 (JPEG copy)"))
            rows.append(dict(arch="vgg", noise=0.0, seed=seed, epoch=epoch, name="features.1", D=9.0, G=9.0, R=1.0,
                             test_error=err, data="CIFAR-10 (JPEG copy)"))
    s = trajectory_summary(pd.DataFrame(rows))
    assert s.epoch.tolist() == [0, 5] and s.seeds.tolist() == [2, 2]
    assert s.R_f.tolist() == [3.0, 1.0] and s.R_f_over_init.tolist() == [1.0, pytest.approx(0.375)]
    assert s.test_error.tolist() == [0.9, pytest.approx(0.35)] and s.G_f.tolist() == [0.1, 0.1]
    assert s.data.tolist() == ["CIFAR-10 (JPEG copy)"] * 2
    with pytest.raises(KeyError):
        trajectory_summary(pd.DataFrame(rows).query("epoch > 0"))


def test_panel_titles_name_the_data_they_were_measured_on():
    table = pd.DataFrame(dict(data=["CIFAR-10 (JPEG copy)", "CIFAR-10 (JPEG copy)"]))
    assert titled("cifar10", table) == "cifar10 - CIFAR-10 (JPEG copy)"
    assert titled("cifar10", None) == "cifar10" and titled("g", pd.DataFrame(dict(x=[1]))) == "g"
    assert titled("g", pd.DataFrame(dict(data=["a", "b", "a"]))) == "g - a, b"


def _summary(errors, r_f, arch="vgg"):
    return pd.DataFrame(dict(arch=arch, noise=0.0, epoch=range(len(errors)), seeds=2, test_error=errors, D_f=1.0,
                             G_f=1.0, R_f=r_f, R_f_over_init=np.asarray(r_f) / r_f[0], data="x"))


TOL = dict(alpha=0.05, min_trajectory_points=4)


def test_the_learned_claim_passes_when_r_f_falls_with_the_error_and_fails_otherwise():
    from spatialpool.claims.images import trajectory_rows
    errors = [0.9, 0.6, 0.45, 0.3, 0.25, 0.2]
    falls = trajectory_rows("c", "2", _summary(errors, [1.0, 0.7, 0.5, 0.4, 0.3, 0.25]), TOL)[0]
    assert falls["verdict"] == "reproduced" and falls["measured"] > 0.9
    assert falls["control_measured"] == pytest.approx(1 / 720) and falls["effect"] == pytest.approx(0.25)
    rises = trajectory_rows("c", "2", _summary(errors, [1.0, 1.2, 1.5, 1.7, 2.0, 2.1]), TOL)[0]
    assert rises["verdict"] == "not reproduced" and rises["measured"] < 0
    # a falling R_f whose order does not follow the error is not evidence: the permutation null reaches it
    noisy = trajectory_rows("c", "2", _summary(errors, [1.0, 0.3, 0.9, 0.35, 0.8, 0.4]), TOL)[0]
    assert noisy["measured"] > 0 and noisy["control_measured"] > 0.2 and noisy["verdict"] == "uninformative"
    short = trajectory_rows("c", "2", _summary(errors[:3], [1.0, 0.7, 0.5]), TOL)[0]
    assert short["verdict"] == "not enough data" and short["n"] == 3
