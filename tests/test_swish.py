"""Swish activations of the 1D simple CNN and the noise-magnitude sweep (the swish experiment):
swish's limits on the exact homogeneous-filter network, the sweep's scaling, the config grammar."""
import re

import numpy as np
import pytest
import torch

from spatialpool.data.scale_detection import Task, all_pairs
from spatialpool.measurement.noise_magnitude import log_slope, noise_sweep, scaled_probe
from spatialpool.measurement.scale_detection import sensitivity_table
from spatialpool.models.simple_cnn import ACTIVATION_PATTERN, SimpleCNN, activation_fn, homogeneous, swish_beta
from spatialpool.models.stacked import StackedCNN
from spatialpool.perturbations.probes import make_probe_set

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def probe():
    task = Task("distance", 32, 11, 4)
    r1, r2, _ = all_pairs(task)
    return make_probe_set(task, np.stack([r1, r2], 1), size=24, draws=2, seed=1)


def test_swish_is_z_sigmoid_beta_z_with_its_limits():
    z = torch.linspace(-5, 5, 101, dtype=torch.float64)
    assert torch.allclose(activation_fn("swish:2")(z), z / (1 + torch.exp(-2 * z)))
    assert torch.equal(activation_fn("swish:0")(z), z / 2)
    assert torch.allclose(activation_fn("swish:1000")(z), torch.relu(z), atol=1e-12)
    assert swish_beta("swish:0.5") == 0.5 and swish_beta("relu") is None
    for bad in ("swish", "swish:-1", "swish:x", "gelu"):
        with pytest.raises(ValueError, match="unknown activation"):
            activation_fn(bad)
    for good, ok in (("swish:2", True), ("swish:0.25", True), ("relu", True), ("swish:-1", False), ("elu", False)):
        assert bool(re.match(ACTIVATION_PATTERN, good)) == ok


def test_homogeneous_swish_limits_are_the_linear_and_relu_networks(probe):
    """beta -> 0: swish = z / 2, so the homogeneous network is the linear one scaled by 2^-k and
    every ratio of eq. 1 is the linear network's; beta -> infinity: the ReLU network's."""
    def table(act):
        return sensitivity_table(homogeneous(5, 3, 1, act), probe, 16)
    linear, relu = table("linear"), table("relu")
    zero, large = table("swish:0"), table("swish:1000")
    for m in ("D", "G_plain", "G_rect"):
        np.testing.assert_allclose(zero[m], linear[m], rtol=1e-10)
        np.testing.assert_allclose(large[m], relu[m], rtol=1e-6)
    # zero-mean noise tells them apart (rectified noise keeps every input >= 0, where the
    # homogeneous ReLU network is linear), so the limits are not vacuous
    assert not np.allclose(linear.G_plain, relu.G_plain, rtol=0.05)
    np.testing.assert_allclose(linear.G_rect, relu.G_rect, rtol=1e-12)


def test_the_noise_sweep_scales_the_stored_noise(probe):
    m1 = scaled_probe(probe, 1.0)
    for name in ("G_plain", "G_rect"):
        torch.testing.assert_close(m1["perturbed"][name], torch.as_tensor(probe["perturbed"][name]), rtol=0, atol=1e-12)
    sweep = noise_sweep(homogeneous(4, 3, 1, "linear").hidden, probe, [0.1, 1.0, 10.0], 16)
    # a linear network: G is exactly quadratic in the magnitude, D does not depend on it
    g = sweep.pivot(index="k", columns="magnitude", values="G_plain")
    np.testing.assert_allclose(g[10.0] / g[1.0], 100, rtol=1e-9)
    np.testing.assert_allclose(g[0.1] / g[1.0], 0.01, rtol=1e-9)
    d = sweep.pivot(index="k", columns="magnitude", values="D")
    np.testing.assert_allclose(d[0.1], d[10.0], rtol=0)
    with pytest.raises(ValueError, match="must be > 0"):
        scaled_probe(probe, 0.0)
    assert log_slope([1, 2, 4], [3, 12, 48]) == pytest.approx(2.0) and np.isnan(log_slope([1], [1]))


def test_stacked_seeds_use_the_same_swish():
    torch.manual_seed(0)
    nets = [SimpleCNN(3, 4, 3, 1, "swish:2").double() for _ in range(2)]
    stacked = StackedCNN(nets).double()
    x = torch.rand(5, 1, 16, dtype=torch.float64)
    out = stacked(x.transpose(1, 2)[None].expand(2, -1, -1, -1))  # [S, B, L, C]
    for s, net in enumerate(nets):
        torch.testing.assert_close(out[s], net(x))
        assert stacked.net_of(s).activation == "swish:2"


def test_exponents_and_crossovers_on_an_exact_table():
    import pandas as pd

    from spatialpool.analysis.swish import crossover_slope, crossovers, exponents
    a = np.array([1.0, 2.0, 4.0, 8.0])
    rows = []
    # G_k = A_k^e(m): relu e = 1 at every m; swish:b rises from 0 to 1, reaching 0.5 at m = 1/b
    for act, beta in (("relu", np.nan), ("swish:1", 1.0), ("swish:4", 4.0)):
        for m in (0.01, 0.1, 1.0, 10.0, 100.0):
            e = 1.0 if np.isnan(beta) else float(np.clip(0.5 + 0.25 * np.log10(m * beta) * 2, 0, 1))
            for k in range(1, 5):
                rows.append(dict(activation=act, beta=beta, magnitude=m, k=k, G_plain=a[k - 1] ** e, G_rect=1.0))
    table = exponents(pd.DataFrame(rows), a, (1, 4))
    got = table[(table.activation == "swish:4") & (table.noise == "plain")].exponent.to_numpy()
    np.testing.assert_allclose(got, [0.0, 0.3010, 0.8010, 1.0, 1.0], atol=1e-3)
    cross = crossovers(table)
    plain = cross[cross.noise == "plain"].set_index("beta")
    # half way from e_small (0) to relu (1): e = 0.5 at m = 1/beta exactly
    np.testing.assert_allclose(plain.m_star.to_numpy(), [1.0, 0.25], rtol=1e-9)
    assert crossover_slope(cross) == pytest.approx(-1.0)
    assert cross[cross.noise == "rect"].m_star.isna().all()  # flat everywhere: never rises


def test_the_homogeneous_theory_moves_from_linear_to_relu_with_beta(probe):
    from spatialpool.analysis.swish import homogeneous_theory
    out = homogeneous_theory(dict(depth=6, filter_size=3, stride=1), 32, probe, [1, 4, 16], [0.001, 0.01, 0.1, 1, 10],
                             (2, 6), 16, log=lambda m: None)
    e = out["exponents"][out["exponents"].noise == "plain"].set_index(["activation", "magnitude"]).exponent
    # small noise: swish sits far below ReLU; large noise at large beta: swish is ReLU
    assert e["swish:16", 10.0] == pytest.approx(e["relu", 10.0], abs=0.02)
    assert all(e[f"swish:{b}", 0.001] < e["relu", 0.001] - 0.2 for b in (1, 4, 16))
    m_star = out["crossovers"].query("noise == 'plain'").set_index("beta").m_star
    assert m_star[1.0] > m_star[4.0] > m_star[16.0]  # larger beta: senses smaller noise
    assert set(out["sweep"].activation) == {"linear", "swish:1", "swish:4", "swish:16", "relu"}


# ---------------------------------------------------------------- trained nets


def test_a_trained_net_with_homogeneous_filters_sweeps_as_the_homogeneous_network(probe):
    """trained_sweep on a checkpoint record whose filters are all 1 and biases 0 (the homogeneous
    solution) gives exactly the theory's sweep, and its filters' homogeneity is 1 (init: not)."""
    from spatialpool.analysis.swish import trained_sweep
    from spatialpool.measurement.receptive_field import theory_receptive_field

    torch.manual_seed(0)
    net = SimpleCNN(4, 1, 3, 1, "swish:4").double()
    init = {k: v.clone() for k, v in net.state_dict().items()}
    hom = homogeneous(4, 3, 1, "swish:4")
    arch = {"name": "simple_cnn", "depth": 4, "width": 1, "filter_size": 3, "stride": 1, "activation": "swish:4"}
    ckpt = {"arch": arch, "seed": 7, "states": {"init": init, "final": hom.state_dict()}}
    a = theory_receptive_field(4, 3, 1, 32)
    sweep, filters = trained_sweep(ckpt, probe, [0.01, 1.0], a, batch_size=8)
    expected = noise_sweep(hom.hidden, probe, [0.01, 1.0], 8)
    np.testing.assert_array_equal(sweep.G_plain.to_numpy(), expected.G_plain.to_numpy())
    assert set(sweep.seed) == {7} and set(sweep.beta) == {4.0} and set(sweep.activation) == {"swish:4"}
    assert np.allclose(filters[filters.state == "final"].homogeneity, 1.0)
    assert (filters[filters.state == "init"].homogeneity < 0.99).all()
    with pytest.raises(ValueError, match="no 'final' state"):
        trained_sweep({**ckpt, "states": {"init": init, "final": None}}, probe, [1.0], a)


def test_slope_interval_is_exact_on_a_line_and_covers_a_known_slope():
    from spatialpool.claims.swish import slope_interval
    x = np.log([1, 1, 4, 4, 16, 16])
    s, lo, hi, n = slope_interval(x, 2 - 0.5 * x)
    assert (s, n) == (pytest.approx(-0.5), 6) and lo == pytest.approx(-0.5) and hi == pytest.approx(-0.5)
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(400):  # a 95% interval covers the true slope about 95% of the time
        y = 0.3 * x + rng.normal(0, 0.2, len(x))
        _, lo, hi, _ = slope_interval(x, y)
        covered += lo <= 0.3 <= hi
    assert 0.91 < covered / 400 < 0.99
    assert np.isnan(slope_interval([1, 1, 1], [1, 2, 3])[0]) and np.isnan(slope_interval([1, 2], [1, 2])[0])


def _synthetic(growth_at, flat_at, m_star_scale):
    """Trained exponents for betas 1, 4, 16 x 3 seeds: growing with log beta at magnitude
    growth_at (slope 0.2 per e-fold, seed jitter), flat at flat_at; crossovers m* = scale / beta."""
    import pandas as pd
    rows, cross = [], []
    for beta in (1.0, 4.0, 16.0):
        for seed, jitter in enumerate((-0.02, 0.0, 0.03)):
            for m, e in ((growth_at, 0.2 * np.log(beta) + jitter), (flat_at, 0.1 + jitter)):
                for noise in ("plain", "rect"):
                    rows.append(dict(activation=f"swish:{beta:g}", beta=beta, seed=seed, noise=noise, magnitude=m,
                                     exponent=e))
            for noise in ("plain", "rect"):
                cross.append(dict(beta=beta, seed=seed, noise=noise, m_star=m_star_scale / beta * np.exp(jitter)))
    theory = [dict(activation=f"swish:{b:g}", beta=b, noise=n, magnitude=m, exponent=e)
              for b in (1.0, 4.0, 16.0) for n in ("plain", "rect")
              for m, e in ((growth_at, 0.25 * np.log(b)), (flat_at, 0.0))]
    theory_cross = [dict(beta=b, noise=n, m_star=0.5 / b) for b in (1.0, 4.0, 16.0) for n in ("plain", "rect")]
    filters = pd.DataFrame([dict(k=k, state=s, homogeneity=h, activation=f"swish:{b:g}", seed=seed)
                            for b in (1.0, 4.0, 16.0) for seed in range(3) for k in range(1, 5)
                            for s, h in (("final", 0.98), ("init", 0.3))])
    return pd.DataFrame(rows), filters, pd.DataFrame(cross), pd.DataFrame(theory), pd.DataFrame(theory_cross)


TOL = dict(min_seeds=3, homogeneity_threshold=0.9, rel_tolerance=0.25, flat_tolerance=0.3)


def test_swish_claims_reproduce_on_data_that_follow_the_theory_and_fail_on_data_that_do_not():
    from spatialpool.claims.swish import swish_rows
    trained, filters, cross, theory, theory_cross = _synthetic(0.1, 10.0, 0.4)
    rows = swish_rows(trained, filters, cross, theory, theory_cross, (1, 4), TOL)
    verdicts = [r["verdict"] for r in rows]
    assert verdicts == ["reproduced"] * 7  # homogeneity per beta (3), growth and scaling per noise kind (2 + 2)
    growth = [r for r in rows if r["claim"].startswith("G_k's growth")][0]
    assert growth["measured"] == pytest.approx(0.2, abs=0.02) and "magnitude 0.1" in growth["claim"]
    assert growth["control_measured"] == pytest.approx(0.0, abs=0.02)  # at the theory's flat magnitude
    scaling = [r for r in rows if r["claim"].startswith("crossover")][0]
    assert scaling["paper"] == pytest.approx(-1.0) and scaling["measured"] == pytest.approx(-1.0, abs=0.05)
    assert scaling["control_measured"] == pytest.approx(1.0, abs=0.05)

    # the same nets if G_k's growth did not depend on beta, m* did not move, the filters stayed random
    flat_trained = trained.assign(exponent=0.1 + 0.01 * trained.seed)
    still = cross.assign(m_star=0.3 * np.exp(0.01 * cross.seed))
    random_filters = filters.assign(homogeneity=0.3)
    for r in swish_rows(flat_trained, random_filters, still, theory, theory_cross, (1, 4), TOL):
        assert r["verdict"] == "not reproduced", r["claim"]


def test_the_trained_swish_nets_are_generated_experiments_checked_before_any_job(default_config):
    import copy

    from conftest import SCHEMA
    from spatialpool.config import keyed, problems
    cfg = copy.deepcopy(default_config)
    cfg["swish"]["trained"] = {"betas": [1, 16], "seeds": [0, 1, 2]}
    exps = keyed(cfg)["experiments"]
    base = exps["task1_relu"]
    for b in (1, 16):
        e = exps[f"task1_relu_swish{b}"]
        assert e["activation"] == f"swish:{b}" and e["seeds"] == [0, 1, 2] and e["swish"] == b
        assert {k: v for k, v in e.items() if k not in ("activation", "seeds", "swish")} == \
               {k: v for k, v in base.items() if k not in ("activation", "seeds")}
    assert "swish" not in base and not problems(cfg, SCHEMA)
    bad = copy.deepcopy(cfg)
    bad["swish"]["trained"]["betas"] = [1, 3]
    assert any("swish.trained.betas: [3] not in swish.betas" in p for p in problems(bad, SCHEMA))
    clash = copy.deepcopy(cfg)
    clash["experiments"].append({**copy.deepcopy(cfg["experiments"][0]), "name": "task1_relu_swish16"})
    assert any("'task1_relu_swish16' is the swish experiment's" in p for p in problems(clash, SCHEMA))
    tanh = copy.deepcopy(cfg)
    tanh["swish"]["experiment"] = "task1_tanh"
    assert any("compared with its ReLU nets" in p for p in problems(tanh, SCHEMA))
    cfg["swish"]["trained"] = None
    assert not [e for e in keyed(cfg)["experiments"] if "swish" in e]


def test_swish_claims_without_any_measurable_net_say_not_enough_data():
    """Every net left out (none interpolates at the end, as in the tiny test run): each configured
    beta still gets its rows, and no row is judged."""
    import pandas as pd

    from spatialpool.analysis.swish import trained_tables
    from spatialpool.claims.swish import swish_rows
    _, filters, _, theory, theory_cross = _synthetic(0.1, 10.0, 0.4)
    sweeps = pd.DataFrame(columns=["activation", "beta", "seed", "magnitude", "k", "G_plain", "G_rect"])
    selection = pd.DataFrame(dict(activation=["swish:1"] * 3, beta=1.0, seed=[0, 1, 2], test_error=0.5,
                                  interpolated=False))
    out = trained_tables(sweeps, np.arange(1, 5), (1, 4), selection)
    assert out["accuracy"].test_accuracy.tolist() == [0.5] and out["accuracy"].n_interpolating.tolist() == [0]
    rows = swish_rows(out["exponents"], filters.iloc[:0], out["crossovers"], theory, theory_cross, (1, 4), TOL,
                      excluded={"swish:1": [0, 1, 2]}, betas=[1.0, 4.0, 16.0])
    assert len(rows) == 7 and {r["verdict"] for r in rows} == {"not enough data"}
    assert "seeds [0, 1, 2] left out" in rows[0]["criterion"]
