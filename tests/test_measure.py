"""The measured states of measure.py: (a) channel_mean, (b) mean_channel, definedness, and
their counting (tables.undefined_counts) and drawing (plots.figure7, figure_b2)."""
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.legend import Legend

from spatialpool.figures import scale_detection as plots
from spatialpool.measurement.scale_detection import channel_mean_hidden, measure_states, representation_table, sensitivity_table
from spatialpool.perturbations.probes import make_probe_set
from spatialpool.data.scale_detection import Task, all_pairs
from spatialpool.models.simple_cnn import SimpleCNN, mean_channel
from spatialpool.analysis.tables import FILTER_STATE, collect_experiment, is_defined, undefined_counts

MEASURES = ["D", "G_plain", "G_rect"]


@pytest.fixture(scope="module")
def probe():
    task = Task("distance", 32, 11, 4)
    r1, r2, _ = all_pairs(task)
    return make_probe_set(task, np.stack([r1, r2], 1), size=24, draws=2, seed=1)


def _net(depth=4, width=6, fs=3, stride=1, act="relu", seed=0):
    torch.manual_seed(seed)
    return SimpleCNN(depth, width, fs, stride, act).double()


def _alive_mean_channel_net(probe, **kw):
    """A random net whose mean-filter net (b) is defined at every layer on the probe set."""
    for seed in range(50):
        net = _net(seed=seed, **kw)
        if representation_table(mean_channel(net).hidden, probe, 8).defined.all():
            return net
    raise AssertionError("no random net with a live mean-filter net")


def _linear_net(depth=3, width=4, balanced=True, seed=0):
    """ReLU net that is linear on the probe: positive filters, positive biases large enough that
    every pre-activation is positive, also under zero-mean noise. balanced: the mean over output
    channels of W[:, c'] is the same filter for every input channel c'."""
    g = torch.Generator().manual_seed(seed)
    net = SimpleCNN(depth, width, 3, 1, "relu").double()
    with torch.no_grad():
        for k, (w, b) in enumerate(zip(net.weights, net.biases)):
            if balanced:
                a = torch.randn(w.shape, generator=g, dtype=torch.float64)
                w.copy_(1.0 + 0.3 * (a - a.mean(0, keepdim=True)))  # sum_c A[c, c'] = 0
            else:
                w.copy_(0.2 + 1.6 * torch.rand(w.shape, generator=g, dtype=torch.float64))
            b.copy_((20.0 if k == 0 else 0.5) * (1 + torch.rand(b.shape, generator=g, dtype=torch.float64)))
    return net


@pytest.mark.parametrize("stride,fs", [(1, 3), (2, 2)])
def test_channel_mean_of_identical_channels_is_the_net_itself(probe, stride, fs):
    """(a) on a net whose H channels are identical: the factor H cancels in eq. 1."""
    ablated = mean_channel(_alive_mean_channel_net(probe, stride=stride, fs=fs))
    own = sensitivity_table(ablated, probe, 8)
    mean = representation_table(channel_mean_hidden(ablated), probe, 8)
    assert own.defined.all() and mean.defined.all()
    np.testing.assert_allclose(mean[MEASURES], own[MEASURES], rtol=1e-10, atol=0)
    np.testing.assert_allclose(mean.delta * ablated.width, own.delta, rtol=1e-10)


def test_channel_mean_of_a_random_net_differs_from_the_net(probe):
    net = _net()
    own = sensitivity_table(net, probe, 8)
    mean = representation_table(channel_mean_hidden(net), probe, 8)
    assert own.defined.all() and mean.defined.all()
    for m in MEASURES:
        assert np.all(np.abs(np.log(mean[m] / own[m])) > 1e-3), m


def test_channel_mean_of_a_linear_net_is_the_mean_filter_net_only_for_balanced_filters(probe):
    """In a linear net, channel-mean(h_k) = sqrt(F/(C F)) sum_c' [mean_c W[c, c']] * h_{k-1, c'} + ...
    is a function of channel-mean(h_{k-1}) alone, and equals the mean-filter net's channel, iff
    the output-channel mean of W[:, c'] is the same filter for every c'. At k = 1 (one input
    channel) that always holds; beyond, it does not for generic filters, even positive ones."""
    x = torch.as_tensor(probe["perturbed"]["D"][:, 0], dtype=torch.float64)
    for balanced in (True, False):
        net = _linear_net(balanced=balanced)
        pre = [h for h in net.hidden(x + probe["eta"][:, 0])]  # linear also under noise
        assert all(bool((h > 0).all()) for h in pre)
        a = channel_mean_hidden(net)(x)
        b = [h[:, :1] for h in mean_channel(net).hidden(x)]
        torch.testing.assert_close(a[0], b[0], rtol=1e-12, atol=0)
        for k in range(1, net.depth):
            if balanced:
                torch.testing.assert_close(a[k], b[k], rtol=1e-12, atol=0)
            else:
                assert not torch.allclose(a[k], b[k], rtol=1e-3), k
    net = _linear_net(balanced=True)
    ta = representation_table(channel_mean_hidden(net), probe, 8)
    tb = sensitivity_table(mean_channel(net), probe, 8)
    np.testing.assert_allclose(ta[MEASURES], tb[MEASURES], rtol=1e-8)


def test_constant_representation_is_undefined_not_zero(probe):
    """Identical for every input: Delta is 0 up to rounding, and D, G, R are NaN, defined False."""
    def represent(x):
        return [torch.full((len(x), 3, 7), 0.1, dtype=torch.float64), x * 1.0]
    t = representation_table(represent, probe, 7)
    assert list(t.defined) == [False, True]
    assert t.loc[0, ["D", "G_plain", "G_rect", "R_plain", "R_rect"]].isna().all()
    assert t.loc[1, ["D", "G_rect"]].gt(0).all()
    assert t.loc[0, "delta"] < 1e-25  # round-off, not exactly 0: the rule, not a zero test, decides


def _dead_ablation_ckpt():
    """Trained-like net: half the channels of each layer alive (bias +1), half off (bias -25),
    positive filters. The mean bias is -12, the mean filter ~1: (b) is dead at layer 1 already."""
    net = _net(depth=4, width=8)
    with torch.no_grad():
        for w, b in zip(net.weights, net.biases):
            w.copy_(0.5 + torch.rand_like(w))
            b.copy_(torch.tensor([1.0, -25.0]).repeat(len(b) // 2))
    init = _net(depth=4, width=8, seed=1)
    return net, dict(arch=dict(name="simple_cnn", **net.arch()),
                     states=dict(init=init.state_dict(), t_star=None, final=net.state_dict()))


def test_dead_mean_filter_net_is_counted_undefined_at_every_layer(probe):
    net, ckpt = _dead_ablation_ckpt()
    assert max(float(b.detach().mean()) for b in mean_channel(net).biases) < -10
    tables = []
    for seed in (0, 1):
        t = measure_states(ckpt, probe, 8, log=lambda *_: None)
        tables.append(t.assign(seed=seed, selected=True))
    both = pd.concat(tables, ignore_index=True)
    assert list(dict.fromkeys(both.state)) == ["init", "final", "channel_mean", "mean_channel",
                                                "init_channel_mean", "init_mean_channel"]
    assert set(FILTER_STATE) >= set(both.state)
    dead = both[both.state == "mean_channel"]
    assert not dead.defined.any() and dead[["D", "G_rect", "R_rect"]].isna().all().all()
    counts = undefined_counts(both)
    assert list(counts.columns) == ["state", "k", "n_seeds", "n_undefined", "n_defined"]
    c = counts.set_index(["state", "k"])
    assert (c.loc["mean_channel"].n_undefined == 2).all() and (c.loc["mean_channel"].n_seeds == 2).all()
    for state in ("init", "final", "channel_mean", "init_channel_mean"):
        assert (c.loc[state].n_undefined == 0).all(), state
    # unselected seeds do not count, unless asked
    assert undefined_counts(both.assign(selected=both.seed == 0)).n_seeds.max() == 1
    assert undefined_counts(both.assign(selected=False), selected_only=False).n_seeds.max() == 2


def test_is_defined_falls_back_on_tables_without_the_column():
    t = pd.DataFrame({"delta": [1.0, 0.0, np.nan, 2.0], "D": [0.5, np.nan, np.nan, np.nan]})
    assert list(is_defined(t)) == [True, False, False, False]
    assert list(is_defined(t.assign(defined=[False, True, True, True]))) == [False, False, False, False]
    assert list(is_defined(t.assign(defined=[1.0, np.nan, 1.0, 1.0]))) == [True, False, False, False]
    assert list(is_defined(t.assign(defined=["True", "False", "True", "True"]))) == [True, False, False, False]


def test_collect_experiment_gives_channel_mean_the_final_filters():
    sens = pd.DataFrame({"seed": 0, "state": ["final", "channel_mean", "mean_channel", "init"], "k": 1,
                         "delta": 1.0, "D": 0.1, "defined": True})
    rf = pd.DataFrame({"seed": 0, "state": ["init", "final"], "k": 1, "A_measured": [1.0, 2.0]})
    homog = pd.DataFrame({"seed": 0, "state": ["init", "final"], "k": 1, "homogeneity": [0.3, 0.99]})
    sel = pd.DataFrame({"seed": [0], "selected": [True], "test_error": [0.0]})
    theory = pd.DataFrame({"k": [1], "A_theory": [3.0]})
    out = collect_experiment([sens], [rf], [homog], sel, theory).set_index("state")
    assert out.loc["channel_mean", "homogeneity"] == out.loc["final", "homogeneity"] == 0.99
    assert out.defined.all()
    with pytest.raises(ValueError, match="no filter state"):
        collect_experiment([sens.assign(state="other")], [rf], [homog], sel, theory)


def _collected(name, n_seeds=4, depth=6, dead_seeds=(2, 3), dead_from=3):
    """Synthetic collected table: mean_channel undefined for dead_seeds from layer dead_from on."""
    rows = []
    a = 3.0 ** np.arange(1, depth + 1) / 2
    for seed in range(n_seeds):
        for state, slope in (("init", 0.0), ("final", -2.0), ("channel_mean", -1.9), ("mean_channel", -1.8)):
            for k in range(1, depth + 1):
                dead = state == "mean_channel" and seed in dead_seeds and k >= dead_from
                d = np.nan if dead else 0.5 * (a[k - 1] / a[0]) ** slope * (1 + 0.1 * seed)
                g = np.nan if dead else 0.01 * a[k - 1] * (1 + 0.05 * seed)
                rows.append(dict(experiment=name, seed=seed, state=state, k=k, delta=0.0 if dead else 1.0,
                                 D=d, G_plain=g, G_rect=g, R_plain=d / g, R_rect=d / g, defined=not dead,
                                 A_theory=a[k - 1], selected=True))
    return pd.DataFrame(rows)


def _texts(fig):
    legends = [c for ax in fig.axes for c in ax.get_children() if isinstance(c, Legend)]
    legend = [" ".join(t.get_text().split()) for lg in legends for t in lg.get_texts()]  # unwrapped
    notes = [t.get_text() for ax in fig.axes for t in ax.texts]
    return legend, notes


def test_undefined_counts_of_a_collected_table():
    c = undefined_counts(_collected("task1_relu")).set_index(["state", "k"])
    assert list(c.loc["mean_channel"].n_undefined) == [0, 0, 2, 2, 2, 2]
    assert (c.loc["mean_channel"].n_seeds == 4).all()
    assert (c.drop(index="mean_channel", level="state").n_undefined == 0).all()


def test_figure7_shows_both_operations_and_counts_undefined_seeds(tmp_path):
    collected = {"task1_relu": _collected("task1_relu"),
                 "task2_relu": _collected("task2_relu", depth=5, dead_seeds=(1,), dead_from=5)}
    theory = {n: t[(t.state == "final") & (t.seed == 0)][["k", "A_theory", "D", "G_rect", "R_rect"]]
              for n, t in collected.items()}
    fits = {"task1_relu": {"D": [1, 4], "G": [1, 4], "stride": 1},
            "task2_relu": {"D": [1, 3], "G": [2, 5], "stride": 2}}
    fig = plots.figure7(collected, theory, fits, str(tmp_path / "fig7"), ["png"], 40)
    assert (tmp_path / "fig7.png").stat().st_size > 1000
    legend, notes = _texts(fig)
    assert any(t.startswith("(a) trained, channel mean") and "defined" not in t for t in legend)
    assert "(b) mean-filter net defined for 4/4 seeds at k = 1-2, 2/4 at k = 3-6" in legend
    assert "(b) mean-filter net defined for 4/4 seeds at k = 1-4, 3/4 at k = 5" in legend
    assert "2/4" in notes and "3/4" in notes
    # the drawn (b) mean at an undefined layer is the mean over the defined seeds only
    ax = fig.axes[0]
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("(b)"))
    t = collected["task1_relu"]
    want = t[(t.state == "mean_channel") & (t.k == 4) & t.defined].D.mean()
    assert line.get_ydata()[3] == pytest.approx(want)


def test_figure7_with_every_seed_dead_marks_the_layers(tmp_path):
    t = _collected("task1_relu", dead_seeds=(0, 1, 2, 3), dead_from=1)
    theory = t[(t.state == "final") & (t.seed == 0)][["k", "A_theory", "D", "G_rect", "R_rect"]]
    fig = plots.figure7({"task1_relu": t}, {"task1_relu": theory}, {"task1_relu": {"D": [1, 4], "G": [1, 4],
                        "stride": 1}}, str(tmp_path / "fig7"), ["png"], 40)
    legend, notes = _texts(fig)
    assert "(b) mean-filter net defined for 0/4 seeds at k = 1-6" in legend and "0/4" in notes


def test_figure_b2_counts_undefined_seeds(tmp_path):
    collected = {"task1_relu": _collected("task1_relu"), "task1_tanh": _collected("task1_tanh", dead_seeds=())}
    fits = {n: {"D": [1, 4], "G": [1, 4]} for n in collected}
    fig = plots.figure_b2(collected, fits, str(tmp_path / "figB2"), ["png"], 40)
    legend, _ = _texts(fig)
    assert "relu, (b) mean-filter net defined for 4/4 seeds at k = 1-2, 2/4 at k = 3-6" in legend
    assert "tanh, (b) mean-filter net" in legend and "tanh, (a) trained, channel mean of $f_k$" in legend


def test_one_probe_set_format_for_the_1d_tasks(probe, tmp_path):
    """The 1D probe set is stored and read like the image ones (perturbations/probes.py): clean
    signals x [P, 1, L] and every perturbation by name [P, R, 1, L], served by the registered
    perturbation's batches (the estimator draws nothing)."""
    from spatialpool.io import CorruptedIntermediate
    from spatialpool.perturbations.probes import load_probe, save_probe
    from spatialpool.perturbations.registry import batches_of

    save_probe(probe, tmp_path / "p.pt")
    back = load_probe(tmp_path / "p.pt")
    assert back["perturbation"] == "pixel_moves" and back["x"].shape == (24, 1, 32)
    assert set(back["perturbed"]) == {"D", "G_plain", "G_rect"}
    x, pert = back["x"][:, None], back["perturbed"]
    assert all(v.shape == (24, 2, 1, 32) for v in pert.values())
    # matched noise: ||eta|| = ||tau x - x|| per image and draw; rectified noise is max(eta, 0)
    torch.testing.assert_close((pert["G_plain"] - x).flatten(2).norm(dim=-1), (pert["D"] - x).flatten(2).norm(dim=-1))
    torch.testing.assert_close(pert["G_rect"] - x, back["eta"].clamp(min=0), rtol=0, atol=1e-14)
    ratio = (pert["D"] - x).pow(2).sum((-2, -1)) / x.pow(2).sum((-2, -1))
    torch.testing.assert_close(back["deformation_ratio"], ratio)
    # each 1-pixel move of a pixel of amplitude a adds 2 a^2 to ||tau x - x||^2: a multiple of a^2 = L/2
    steps = ratio * x.pow(2).sum((-2, -1)) / 16
    torch.testing.assert_close(steps, steps.round())
    pieces = list(batches_of(back, back["x"], 7))
    assert [len(b[0]) for b in pieces] == [7, 7, 7, 3]
    for name in pert:
        assert torch.equal(torch.cat([b[1][name] for b in pieces]), pert[name])
    torch.save({"clean": probe["x"]}, tmp_path / "old.pt")  # an older layout is refused, with its name
    with pytest.raises(CorruptedIntermediate, match="old.pt"):
        load_probe(tmp_path / "old.pt")
