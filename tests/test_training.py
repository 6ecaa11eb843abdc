import pytest
import torch

from spatialpool.data.scale_detection import Task, make_dataset, render
from spatialpool.models.simple_cnn import SimpleCNN
from baselines import train_one_seed as train
from spatialpool.training.scale_detection import TrainConfig, decay_times, hinge, init_seeds, lr_factor

TASK = Task("distance", 32, 11, 4)


def _data():
    d = make_dataset(TASK, 48, 0)
    x = lambda k: torch.tensor(render(TASK, *d[k].T), dtype=torch.float32)
    y = lambda k: torch.tensor(d[k], dtype=torch.float32)
    return x("train_sites"), y("train_y"), x("test_sites"), y("test_y")


def _run(seed=0, depth=6, width=8, **cfg):
    init_seed, batch_seed = init_seeds(seed)
    torch.manual_seed(init_seed)
    net = SimpleCNN(depth, width, 3, 1, "relu")
    cfg = TrainConfig(**({"stop": "decay_times", "stop_value": 0.02, "max_steps": 300, "weight_decay": 0.2} | cfg))
    return net, train(net, *_data(), cfg, batch_seed, log=lambda m: None)


def test_training_is_bitwise_reproducible():
    _, a = _run()
    _, b = _run()
    for k in a.final_state:
        assert torch.equal(a.final_state[k], b.final_state[k])
    _, c = _run(seed=1)
    assert not torch.equal(a.final_state["weights.0"], c.final_state["weights.0"])


def test_weight_decay_is_the_filter_only_l2_penalty():
    """One SGD step with the optimiser's weight decay equals a step on hinge + wd sum||W||^2/(H K)."""
    x, y, *_ = _data()
    torch.manual_seed(0)
    net = SimpleCNN(3, 4, 3, 1, "relu").double()
    ref = SimpleCNN(3, 4, 3, 1, "relu").double()
    ref.load_state_dict(net.state_dict())
    wd, lr_mult = 0.3, 0.01
    cfg = TrainConfig(lr=lr_mult, weight_decay=wd, batch_size=48, stop="decay_times", stop_value=1e-9, max_steps=1)
    train(net, x.double(), y.double(), x.double(), y.double(), cfg, batch_seed=0, log=lambda m: None)
    loss = hinge(ref(x.double()), y.double()) + wd * sum((w ** 2).sum() for w in ref.weights) / (4 * 3)
    loss.backward()
    with torch.no_grad():
        for p_ref, (name, p) in zip(ref.parameters(), net.named_parameters()):
            torch.testing.assert_close(p, p_ref - lr_mult * 4 * p_ref.grad, msg=name)


def test_decay_time_unit():
    cfg = TrainConfig(lr=0.01, weight_decay=0.2)
    # per step the filters shrink by 1 - 2 wd lr / K, so u = 1 after K / (2 wd lr) steps
    assert decay_times(3000, cfg, 12) == pytest.approx(1.0)


def test_t_star_and_stop_rules():
    # the default config's task-1 net interpolates within a few hundred steps
    _, res = _run(depth=12, width=32, stop="t_star_multiple", stop_value=2, max_steps=3000)
    s = res.summary
    assert s["t_star_epochs"] is not None and res.tstar_state is not None
    assert s["epochs"] == 2 * s["t_star_epochs"]  # 2 x t*, in epochs
    assert s["interpolated"] and s["train_error"] == 0.0
    events = [h["event"] for h in res.history]
    assert events[0] == "init" and "t_star" in events and events[-1] == "final"


def test_step_cap_is_reported():
    _, res = _run(stop="decay_times", stop_value=100.0, max_steps=60)
    assert res.summary["hit_step_cap"] and res.summary["steps"] == 60


def test_lr_warm_down_schedule_and_decay_time():
    cfg = TrainConfig(lr=0.01, weight_decay=0.2, anneal_fraction=0.25)
    target = 400  # the warm-down covers updates 300 ... 399
    assert lr_factor(0, cfg, target) == lr_factor(299, cfg, target) == 1.0
    assert lr_factor(300, cfg, target) == 1.0 and lr_factor(350, cfg, target) == pytest.approx(0.5)
    assert lr_factor(399, cfg, target) == pytest.approx(0.01) and lr_factor(450, cfg, target) == 0.0
    # u sums 2 wd lr_t / K over the updates: 300 full ones, then 100 at (100 ... 1)/100
    per_step = 2 * 0.2 * 0.01 / 12
    assert decay_times(400, cfg, 12, target) == pytest.approx(per_step * (300 + 5050 / 100))
    assert decay_times(500, cfg, 12, target) == decay_times(400, cfg, 12, target)  # lr 0: no decay
    assert decay_times(200, cfg, 12, target) == pytest.approx(per_step * 200)
    assert decay_times(400, TrainConfig(lr=0.01, weight_decay=0.2), 12) == pytest.approx(per_step * 400)


def test_warm_down_needs_a_known_stop_step():
    with pytest.raises(ValueError, match="anneal_fraction"):
        _run(stop="t_star_multiple", stop_value=2, anneal_fraction=0.2)
