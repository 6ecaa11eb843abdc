"""The stacked (several seeds in one model) training path against the plain one-seed loop."""
import numpy as np
import pytest
import torch

from spatialpool.data.scale_detection import Task, make_dataset, render
from spatialpool.models.simple_cnn import SimpleCNN
from spatialpool.models.stacked import StackedCNN, channels_last
from baselines import train_one_seed as train
from spatialpool.training.scale_detection import (TrainConfig, backward_mean, init_seeds, sgd_step, stack_losses,
                                                  subset_pass_is_exact, subset_pass_pays, train_seeds)

TASK1 = Task("distance", 32, 11, 4)
ARCHS = [dict(depth=6, width=8, filter_size=3, stride=1, activation="relu"),
         dict(depth=4, width=5, filter_size=2, stride=2, activation="relu"),
         dict(depth=5, width=6, filter_size=4, stride=1, activation="tanh")]


def _nets(arch, seeds, dtype=torch.float64):
    out = []
    for s in seeds:
        init_seed, batch_seed = init_seeds(s)
        torch.manual_seed(init_seed)
        out.append((SimpleCNN(**arch).to(dtype), batch_seed))
    return out


@pytest.mark.parametrize("arch", ARCHS)
def test_stacked_forward_equals_each_seed(arch):
    nets = [n for n, _ in _nets(arch, range(3))]
    stack = StackedCNN(nets)
    x = torch.randn(3, 7, 1, 32, dtype=torch.float64)  # a different batch per seed
    out = stack(torch.stack([channels_last(xs) for xs in x]))
    for s, net in enumerate(nets):
        torch.testing.assert_close(out[s], net(x[s]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_seed_subset_is_its_rows_of_the_whole_stack(arch):
    """The training loop runs its backward pass on the active seeds only (forward's `seeds`):
    their outputs and gradients are those of the whole stack to float32 rounding, every other
    seed's gradient is exactly zero, and they are bitwise the whole stack's wherever
    `subset_pass_is_exact` says so, the check that decides whether the loop may take that path:
    it must never certify a net whose subset passes differ (float32, CPU, as the workflow trains).
    Bitwise equality itself depends on the CPU's batched-product kernels: on an AMD EPYC machine
    the width-5 net's subsets of 3 seeds differ from the whole stack in their last bits."""
    stack = StackedCNN([n for n, _ in _nets(arch, range(4), torch.float32)])
    x = torch.stack([channels_last(xs) for xs in torch.randn(4, 6, 1, 32)])
    w = torch.randn(4, 6)  # a generic upstream gradient per seed and image
    bitwise = True
    for subset in ([2], [0, 3], [1, 2, 3]):
        seeds = torch.tensor(subset)
        stack.zero_grad(set_to_none=True)
        full = stack(x)
        (full[seeds] * w[seeds]).sum().backward()  # the whole stack's pass, other seeds' terms left out
        whole = [p.grad.clone() for p in stack.parameters()]
        stack.zero_grad(set_to_none=True)
        part = stack(x[seeds], seeds)
        torch.testing.assert_close(part, full[seeds].detach(), rtol=1e-5, atol=1e-6)
        bitwise &= torch.equal(part, full[seeds].detach())
        (part * w[seeds]).sum().backward()
        others = [s for s in range(4) if s not in subset]
        for a, b in zip(whole, stack.parameters()):
            torch.testing.assert_close(a[seeds], b.grad[seeds], rtol=1e-5, atol=1e-6)
            bitwise &= torch.equal(a[seeds], b.grad[seeds])
            assert torch.equal(b.grad[others], torch.zeros_like(b.grad[others]))
    y = torch.where(torch.arange(6) % 2 == 0, 1.0, -1.0).expand(4, -1)
    if not bitwise:
        assert not subset_pass_is_exact(stack, x, y)


def test_the_subset_path_is_taken_only_where_it_changes_no_weight(monkeypatch):
    """Where a pass of fewer seeds is not bitwise the whole stack's (forced here), the loop keeps
    whole-stack passes whatever the timing says and says why in its log; the check itself leaves
    no gradient and no changed weight behind."""
    import spatialpool.training.scale_detection as sd
    stack = StackedCNN([n for n, _ in _nets(ARCH1, range(3), torch.float32)])
    before = {k: v.clone() for k, v in stack.state_dict().items()}
    x, y = torch.randn(3, 8, 32, 1), torch.sign(torch.randn(3, 8))
    assert subset_pass_is_exact(stack, x, y) in (True, False)
    assert all(torch.equal(v, before[k]) for k, v in stack.state_dict().items())
    assert all(p.grad is None for p in stack.parameters())

    monkeypatch.setattr(sd, "subset_pass_is_exact", lambda *a: False)
    monkeypatch.setattr(sd, "subset_pass_pays", lambda *a, **k: (True, 0.1, 1.0))
    cfg = TrainConfig(lr=0.03, weight_decay=0.05, stop="decay_times", stop_value=0.5, max_steps=1000,
                      log_every_epochs=20)
    nets, batch_seeds = zip(*_nets(ARCH1, range(3), torch.float32))
    messages = []
    out = train_seeds(list(nets), *_data(torch.float32), cfg, list(batch_seeds), log=messages.append)
    assert out[0].summary["subset_steps"] == 0 and out[0].summary["idle_steps"] > 0, out[0].summary
    assert any("not bitwise the whole stack's" in m for m in messages), messages


@pytest.mark.parametrize("filter_size", [2, 3, 4, 5])
def test_patch_gradients_are_bitwise_those_of_the_plain_gather(filter_size):
    """The stacked layers gather circular patches with their own autograd function (fast
    forward over flattened rows, fast index_add_ backward along L). Values and gradients must
    be bitwise those of autograd through the plain gather x.index_select(2, index) of
    [S, B, L, C], which every earlier training run used: the same weights, step by step."""
    arch = dict(depth=4, width=8, filter_size=filter_size, stride=1, activation="relu")
    stack = StackedCNN([n for n, _ in _nets(arch, range(3), torch.float32)])
    g = torch.Generator().manual_seed(filter_size)
    for batch, length, c in ((7, 32, 8), (1, 9, 1), (64, 16, 5)):
        x = torch.randn(3, batch, length, c, generator=g)
        w = torch.randn(3, batch * length, filter_size * c, generator=g)  # a generic upstream gradient
        index, _ = stack._circular_index(batch, length, x.device)
        plain_x, fast_x = x.clone().requires_grad_(), x.clone().requires_grad_()
        plain = plain_x.index_select(2, index).reshape(3, batch * length, filter_size * c)
        fast = stack.patches(fast_x.view(3, batch * length, c), batch)
        assert torch.equal(plain, fast)
        (plain * w).sum().backward()
        (fast * w).sum().backward()
        assert torch.equal(plain_x.grad, fast_x.grad)


@pytest.mark.parametrize("arch", ARCHS)
def test_state_round_trip(arch):
    nets = [n for n, _ in _nets(arch, range(2))]
    stack = StackedCNN(nets)
    for s, net in enumerate(nets):
        for k, v in net.state_dict().items():
            torch.testing.assert_close(stack.state_of(s)[k], v, rtol=1e-14, atol=1e-14)


def _data(dtype=torch.float64):
    d = make_dataset(TASK1, 48, 0)
    x = lambda k: torch.tensor(render(TASK1, *d[k].T), dtype=dtype)
    y = lambda k: torch.tensor(d[k], dtype=dtype)
    return x("train_sites"), y("train_y"), x("test_sites"), y("test_y")


CFG = TrainConfig(lr=0.03, weight_decay=0.05, stop="t_star_multiple", stop_value=1.5, max_steps=900,
                  log_every_epochs=5)
ARCH1 = dict(depth=6, width=16, filter_size=3, stride=1, activation="relu")


def test_stacked_training_follows_the_plain_loop():
    """Same minibatches, same SGD: in float64 the trajectories agree to rounding, t* included
    (float32 runs drift apart after a few hundred steps: hinge-loss SGD amplifies rounding)."""
    data = _data()
    plain = [train(net, *data, CFG, b, log=lambda m: None) for net, b in _nets(ARCH1, range(3))]
    nets, batch_seeds = zip(*_nets(ARCH1, range(3)))
    stacked = train_seeds(list(nets), *data, CFG, list(batch_seeds), log=lambda m: None)
    _agree(plain, stacked)
    assert len({s.summary["steps"] for s in stacked}) > 1, "seeds should stop at different steps"


def test_stacked_warm_down_follows_the_plain_loop():
    cfg = TrainConfig(lr=0.03, weight_decay=0.05, stop="decay_times", stop_value=0.2, max_steps=900,
                      anneal_fraction=0.5, log_every_epochs=5)
    data = _data()
    plain = [train(net, *data, cfg, b, log=lambda m: None) for net, b in _nets(ARCH1, range(2))]
    nets, batch_seeds = zip(*_nets(ARCH1, range(2)))
    stacked = train_seeds(list(nets), *data, cfg, list(batch_seeds), log=lambda m: None)
    _agree(plain, stacked)
    assert stacked[0].summary["decay_times"] == pytest.approx(0.2 * 0.75, rel=0.01)


def _agree(plain, stacked):
    for p, s in zip(plain, stacked):
        assert p.summary["t_star_epochs"] == s.summary["t_star_epochs"]
        assert p.summary["steps"] == s.summary["steps"]  # each seed stops at its own 1.5 t*
        for k in p.final_state:
            torch.testing.assert_close(s.final_state[k], p.final_state[k], rtol=1e-9, atol=1e-9)
            if p.tstar_state is not None:
                torch.testing.assert_close(s.tstar_state[k], p.tstar_state[k], rtol=1e-9, atol=1e-9)
            assert torch.equal(s.init_state[k], p.init_state[k])
        assert [h["event"] for h in p.history] == [h["event"] for h in s.history]
        assert [h["train_error"] for h in p.history] == [h["train_error"] for h in s.history]


def test_a_seed_does_not_depend_on_its_stack_mates():
    """Issue 'adding a seed trains only that seed': seed 2 trained alone and in a block of 4 (a
    workflow training job), in float32 as the workflow trains, has bitwise the same weights on CPU,
    the same stop step, t* and error curves; the recorded losses agree to float32 rounding (the
    stack evaluates every seed in one reduction, summed in another order)."""
    data = _data(torch.float32)
    runs = {}
    for block in ([2], [0, 1, 2, 3]):
        nets, batch_seeds = zip(*_nets(ARCH1, block, torch.float32))
        runs[tuple(block)] = train_seeds(list(nets), *data, CFG, list(batch_seeds), log=lambda m: None)[block.index(2)]
    alone, r = runs[(2,)], runs[(0, 1, 2, 3)]
    assert r.summary["steps"] == alone.summary["steps"] and r.summary["t_star_epochs"] == alone.summary["t_star_epochs"]
    for state in ("init_state", "tstar_state", "final_state"):
        a, b = getattr(alone, state), getattr(r, state)
        assert all(torch.equal(a[k], b[k]) for k in a), state
    exact = ("epoch", "step", "event", "train_error", "test_error")
    assert [{k: h[k] for k in exact} for h in r.history] == [{k: h[k] for k in exact} for h in alone.history]
    for loss in ("train_loss", "test_loss"):
        # float32 (eps 1.2e-7) means of per-sample losses of order 1, summed in another order
        np.testing.assert_allclose([h[loss] for h in r.history], [h[loss] for h in alone.history], rtol=1e-6, atol=1e-6)


def test_sgd_step_is_bitwise_torch_sgd():
    """The stacked loop's hand-written step against torch.optim.SGD (foreach, no momentum) on
    the groups the loop uses (two decayed filter groups, one undecayed), over steps with changing
    learning rates (the warm-down) and with all-zero gradients (skipped idle backward passes)."""
    arch = dict(depth=5, width=8, filter_size=3, stride=1, activation="relu")
    ours, ref = (StackedCNN([n for n, _ in _nets(arch, range(3), torch.float32)]) for _ in range(2))
    ours_groups = ours.sgd_groups(0.08, 0.3)
    opt = torch.optim.SGD(ref.sgd_groups(0.08, 0.3), lr=0.08, foreach=True)
    base = [g["lr"] for g in ours_groups]
    g = torch.Generator().manual_seed(0)
    for step in range(12):
        factor = 1.0 if step < 6 else (12 - step) / 7
        grads = [torch.zeros_like(p) if step % 4 == 3 else torch.randn(p.shape, generator=g)
                 for p in ours.parameters()]
        for model, groups in ((ours, ours_groups), (ref, opt.param_groups)):
            for group, b in zip(groups, base):
                group["lr"] = b * factor
            for p, d in zip(model.parameters(), grads):
                p.grad = d.clone()
        sgd_step(ours_groups)
        opt.step()
        assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), ref.parameters())), step


def test_training_does_not_import_torch_dynamo():
    """torch.optim's optimisers import torch._dynamo (about 2 s per process); the 1D training
    job avoids it (training/scale_detection.sgd_step). Checked in a fresh interpreter."""
    import subprocess
    import sys
    code = ("import sys, torch\n"
            "from spatialpool.models.simple_cnn import SimpleCNN\n"
            "from spatialpool.training.scale_detection import TrainConfig, train_seeds\n"
            "x = torch.randn(16, 1, 16); y = torch.sign(torch.randn(16))\n"
            "nets = [SimpleCNN(depth=3, width=4, filter_size=3, stride=1, activation='relu') for _ in range(2)]\n"
            "train_seeds(nets, x, y, x, y, TrainConfig(max_steps=20, stop='decay_times', stop_value=1e6), [1, 2],\n"
            "            log=lambda m: None)\n"
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_stacked_training_is_bitwise_reproducible_in_float32():
    data = _data(torch.float32)
    runs = []
    for _ in range(2):
        nets, batch_seeds = zip(*_nets(ARCH1, range(2), torch.float32))
        runs.append(train_seeds(list(nets), *data, CFG, list(batch_seeds), log=lambda m: None))
    for a, b in zip(*runs):
        assert all(torch.equal(a.final_state[k], b.final_state[k]) for k in a.final_state)


@pytest.mark.parametrize("n_seeds", [1, 3])
def test_timing_the_subset_pass_touches_no_weight(n_seeds):
    """train_seeds times its two ways of stepping after interpolation on a real minibatch before
    training: the timing must leave the weights as they were and no gradient behind, and a single
    seed has no subset to pass (never 'pays')."""
    stack = StackedCNN([n for n, _ in _nets(ARCH1, range(n_seeds), torch.float32)])
    before = {k: v.clone() for k, v in stack.state_dict().items()}
    x = torch.randn(n_seeds, 8, 32, 1)
    y = torch.sign(torch.randn(n_seeds, 8))
    pays, subset_ms, whole_ms = subset_pass_pays(stack, x, y, repeats=3)
    assert subset_ms > 0 and whole_ms > 0
    assert all(torch.equal(v, before[k]) for k, v in stack.state_dict().items())
    assert all(p.grad is None for p in stack.parameters())
    if n_seeds == 1:
        assert pays is False


def test_skipping_idle_backward_passes_changes_nothing(monkeypatch):
    """After interpolation most minibatches have all margins >= 1 and an exactly zero gradient;
    skipping their backward pass, for the whole stack or for the idle seeds only, must leave
    every weight bitwise unchanged (float32, CPU). Three seeds, so that every path of a step is
    taken: graph for all, a look without autograd first, a backward pass of a subset; and the
    same without the look (active_seeds_backward=False, what the timing chooses for small nets)."""
    cfg = TrainConfig(lr=0.03, weight_decay=0.05, stop="decay_times", stop_value=1.2, max_steps=3000,
                      anneal_fraction=0.2, log_every_epochs=20)
    data = _data(torch.float32)
    passes = []  # per run, the (autograd on, seeds passed) of every training forward pass
    forward = StackedCNN.forward

    def recorded(self, x, seeds=None):
        if len(x[0]) == cfg.batch_size:  # a minibatch, not an evaluation
            passes[-1].add((torch.is_grad_enabled(), None if seeds is None else len(seeds)))
        return forward(self, x, seeds)

    monkeypatch.setattr(StackedCNN, "forward", recorded)
    runs = []
    for skip, subset in ((False, False), (True, True), (True, False)):
        passes.append(set())
        nets, batch_seeds = zip(*_nets(ARCH1, range(3), torch.float32))
        runs.append(train_seeds(list(nets), *data, cfg, list(batch_seeds), log=lambda m: None,
                                skip_idle_backward=skip, active_seeds_backward=subset))
    assert passes[0] == passes[2] == {(True, None)}, passes
    assert passes[1] >= {(True, None), (False, None), (True, 1), (True, 2)}, passes
    full, skipped, whole = runs
    assert full[0].summary["idle_steps"] == full[0].summary["subset_steps"] == 0
    assert skipped[0].summary["idle_steps"] > 0.3 * skipped[0].summary["steps"], skipped[0].summary
    assert skipped[0].summary["subset_steps"] > 0.05 * skipped[0].summary["steps"], skipped[0].summary
    assert whole[0].summary["idle_steps"] == skipped[0].summary["idle_steps"]
    assert whole[0].summary["subset_steps"] == 0
    for a, b in zip(full + full, skipped + whole):
        assert a.summary["t_star_epochs"] == b.summary["t_star_epochs"] is not None
        for state in ("final_state", "tstar_state"):
            sa, sb = getattr(a, state), getattr(b, state)
            assert all(torch.equal(sa[k], sb[k]) for k in sa), state
        assert a.history == [dict(h, wall_s=x["wall_s"]) for h, x in zip(b.history, a.history)]


def test_flushing_subnormals_is_scoped_to_the_block():
    from spatialpool.runtime import flush_denormals
    subnormal = torch.tensor([1e-39], dtype=torch.float32)  # below float32's smallest normal, 1.2e-38
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU has no flush-to-zero mode")
    with flush_denormals():
        assert (subnormal * 1.0).item() == 0.0
    assert (subnormal * 1.0).item() != 0.0
    with flush_denormals(enabled=False):
        assert (subnormal * 1.0).item() != 0.0


def test_swish_training_is_bitwise_the_same_with_subnormals_flushed():
    """Swish at beta 16 makes subnormal gradients (54 elements of the parameters' gradients on the
    first minibatch here; hundreds per layer in the default config's nets), which train_seeds
    flushes to zero on the CPU for speed (runtime.flush_denormals). They are absorbed by every
    update with a normal term: the trained weights are bitwise those of the unflushed run."""
    arch = dict(ARCH1, activation="swish:16")
    data = _data(torch.float32)
    cfg = TrainConfig(lr=0.03, weight_decay=0.05, stop="decay_times", stop_value=0.5, max_steps=1500,
                      log_every_epochs=20)
    stack = StackedCNN([n for n, _ in _nets(arch, range(2), torch.float32)])
    x, y = channels_last(data[0])[:8], data[1][:8]
    backward_mean(stack_losses(stack, x.expand(2, -1, -1, -1), y.expand(2, -1)))
    tiny = torch.finfo(torch.float32).tiny
    assert sum(((p.grad != 0) & (p.grad.abs() < tiny)).sum().item() for p in stack.parameters()) > 10
    runs = []
    for flush in (False, True):
        nets, batch_seeds = zip(*_nets(arch, range(2), torch.float32))
        runs.append(train_seeds(list(nets), *data, cfg, list(batch_seeds), log=lambda m: None, flush_subnormals=flush))
    for a, b in zip(*runs):
        assert a.summary["steps"] == b.summary["steps"] > 1000
        for state in ("tstar_state", "final_state"):
            assert all(torch.equal(getattr(a, state)[k], getattr(b, state)[k]) for k in a.final_state), state
