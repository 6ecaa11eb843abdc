"""SGD on the hinge loss for the simple 1D CNNs (sections 4.3 and B).

`train_seeds` is what the workflow runs: several seeds at once as one StackedCNN, resumable.
The plain one-seed nn.Module loop it must agree with (tests/test_stacked.py) is
`benchmarks/baselines.py:train_one_seed`, also the baseline of benchmarks/stacked_training.py.

Learning rate lr_mult * H (the paper's 'learning rate 0.01' in the mean-field
parametrisation), L2 penalty wd * sum_k ||W_k||^2 / (H K) on the conv filters only,
minibatches drawn by a seeded per-epoch permutation.

The interpolation time t* is the first epoch after which the training hinge loss is exactly
zero. Training stops either at a multiple of t* (the paper) or after a number of
weight-decay times u = steps * 2 wd lr_mult / K (the per-step shrink factor of the filters
is 1 - 2 wd lr_mult / K), whichever the config names, and never before t*; max_steps caps
both.

Optionally (anneal_fraction > 0, a departure from the paper's constant rate) the learning rate
falls linearly to zero over the last steps. SGD with weight decay on the hinge loss never
settles: margins hover at 1 and minibatch kicks briefly misclassify a few test points, so a
snapshot at an arbitrary step can land on such a spike. The warm-down lets the net settle.
u then counts the decay actually applied (the learning rate times the decay, step by step).
"""
from __future__ import annotations

import itertools
import math
import statistics
import time
from dataclasses import dataclass, field

import torch

from spatialpool.training.resume import Checkpointer
from spatialpool.runtime import flush_denormals, seed_words
from spatialpool.models.simple_cnn import SimpleCNN
from spatialpool.models.stacked import StackedCNN, channels_last


@dataclass
class TrainConfig:
    lr: float = 0.01          # multiplied by the width H
    weight_decay: float = 0.01
    batch_size: int = 8
    stop: str = "t_star_multiple"  # or "decay_times"
    stop_value: float = 500.0
    max_steps: int = 2_000_000
    anneal_fraction: float = 0.0
    log_every_epochs: int = 10
    progress_seconds: float = 10.0


@dataclass
class TrainResult:
    init_state: dict
    tstar_state: dict | None
    final_state: dict
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def hinge(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.relu(1 - y * out).mean()


def stack_losses(model: StackedCNN, x: torch.Tensor, y: torch.Tensor,
                 seeds: torch.Tensor | None = None) -> torch.Tensor:
    """Hinge losses [S, B] of the stacked seeds (or of the subset `seeds`, StackedCNN.forward) on
    their minibatches x [S, B, L, C], labels y [S, B] (+-1)."""
    return torch.relu(1 - y * model(x, seeds))


def backward_mean(losses: torch.Tensor) -> None:
    """Backward pass of the sum over seeds of each seed's mean loss (losses [S, B]): every seed
    gets the gradient of its own minibatch's mean, as in a one-seed run."""
    losses.mean(1).sum().backward()


def anneal_start(cfg: TrainConfig, target: int | None) -> int | None:
    if not cfg.anneal_fraction or target is None:
        return None
    return round((1 - cfg.anneal_fraction) * target)


def lr_factor(step: int, cfg: TrainConfig, target: int | None) -> float:
    """Learning-rate multiplier of update number `step` (0-based): 1, then (T - step)/(T - a)
    from a = (1 - anneal_fraction) T to the target T."""
    start = anneal_start(cfg, target)
    if start is None or step < start:
        return 1.0
    return max(0.0, (target - step) / (target - start))


def decay_times(steps: int, cfg: TrainConfig, depth: int, target: int | None = None) -> float:
    """Weight-decay time after `steps` updates: sum over updates of 2 wd lr_t / K."""
    start = anneal_start(cfg, target)
    if start is not None and steps > start:
        n = min(steps, target) - start
        steps = start + n * (target - start - (n - 1) / 2) / (target - start)
    return steps * 2 * cfg.weight_decay * cfg.lr / depth


def steps_for_decay_times(cfg: TrainConfig, depth: int) -> int:
    """The stop step of `stop: decay_times`: stop_value nominal decay times (constant rate)."""
    return math.ceil(cfg.stop_value * depth / (2 * cfg.weight_decay * cfg.lr))


@torch.no_grad()
def sgd_step(groups: list[dict]) -> None:
    """p <- p - lr (grad + weight_decay p) for every parameter of every group (dicts with params,
    lr and weight_decay, as StackedCNN.sgd_groups makes them): torch.optim.SGD's foreach update
    without momentum, the same calls in the same order, so bitwise its weights
    (tests/test_stacked.py). Written out because torch.optim's optimisers import torch._dynamo
    on construction (about 2 CPU-s per training job) and add about 0.2 ms of bookkeeping per
    step, several % of a stacked step's time."""
    for g in groups:
        params = g["params"]
        grads = [p.grad for p in params]
        if g["weight_decay"]:
            grads = torch._foreach_add(grads, params, alpha=g["weight_decay"])
        torch._foreach_add_(params, grads, alpha=-g["lr"])


@torch.no_grad()
def evaluate(net: SimpleCNN, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    out = net(x)
    return hinge(out, y).item(), (torch.sign(out) != y).double().mean().item()


def init_seeds(seed: int) -> tuple[int, int]:
    """Independent init and minibatch seeds derived from the run's seed."""
    a, b = seed_words(seed, 2)
    return a, b


@torch.no_grad()
def evaluate_stack(model: StackedCNN, x: torch.Tensor, y: torch.Tensor, chunk: int = 1024):
    """Hinge loss and error of every seed on the same data x [N, L, C]: two lists of S floats."""
    loss = torch.zeros(model.seeds, dtype=torch.float64, device=x.device)
    wrong = torch.zeros_like(loss)
    for i in range(0, len(x), chunk):
        xb, yb = x[i:i + chunk], y[i:i + chunk]
        out = model(xb.expand(model.seeds, *xb.shape))
        loss += torch.relu(1 - yb * out).double().sum(1)
        wrong += (torch.sign(out) != yb).double().sum(1)
    return (loss / len(x)).tolist(), (wrong / len(x)).tolist()


def subset_pass_pays(model: StackedCNN, x: torch.Tensor, y: torch.Tensor, repeats: int = 5) -> tuple[bool, float, float]:
    """Whether a look at the losses without autograd followed by a forward and backward pass of one
    seed takes less time than a forward and backward pass of the whole stack, on this machine and
    net: the choice `train_seeds` makes for the steps after interpolation. On a small net the
    passes cost about the same whatever the number of seeds (per-kernel overhead), and the look
    is then wasted: the default task-2 block trained 1.12x slower with it forced on (2026-12-05),
    where the task-1 blocks trained 1.13-1.26x faster (docs/performance.md).

    x [S, B, L, C], y [S, B]: a minibatch; the gradients are left None. Returns (pays, milliseconds
    of the look and one seed's pass, milliseconds of the whole pass), medians of `repeats` timings
    taken alternately after one warm-up each.
    """
    one = torch.zeros(1, dtype=torch.long, device=x.device)

    def whole():
        backward_mean(stack_losses(model, x, y))

    def look_then_one():
        with torch.no_grad():
            stack_losses(model, x, y)
        backward_mean(stack_losses(model, x[one], y[one], one))

    times = {whole: [], look_then_one: []}
    for r in range(repeats + 1):
        for f in times:
            begin = time.perf_counter()
            f()
            if r:
                times[f].append(1e3 * (time.perf_counter() - begin))
    for p in model.parameters():
        p.grad = None
    subset, full = statistics.median(times[look_then_one]), statistics.median(times[whole])
    return model.seeds > 1 and subset < full, subset, full


EXACT_CHECK_MAX_SEEDS = 8  # subset_pass_is_exact tries every subset: 2^S - 2 passes


def subset_pass_is_exact(model: StackedCNN, x: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether a forward and backward pass of any proper subset of the stacked seeds gives
    bitwise the gradients of those seeds in the whole stack's pass, on this machine and net.

    The two passes make the same arithmetic per seed, but a batched matrix product may take
    another kernel, with another order of summation, for another number of matrices or another
    position in the batch: on an AMD EPYC machine (2026-12-06) the products of a width-5 test
    net changed in their last bits for the subsets {1, 2, 3} and {0, 2, 3} of 4 seeds but not
    for {0, 1, 2}, while every product shape of the default nets (width 32) stayed bitwise the
    same. Kernels are chosen by shape and position, not by values, so one minibatch tells, but
    every subset must be tried; above EXACT_CHECK_MAX_SEEDS seeds that is too many passes and
    the answer is False. `train_seeds` takes the active-seeds path only where this holds, so
    that which path a step takes never changes a weight.

    x [S, B, L, C], y [S, B]: a minibatch; the gradients are left None.
    """
    if model.seeds > EXACT_CHECK_MAX_SEEDS:
        return False
    params = list(model.parameters())

    def gradients(seeds=None) -> list[torch.Tensor]:
        for p in params:
            p.grad = None
        xs, ys = (x, y) if seeds is None else (x[seeds], y[seeds])
        backward_mean(stack_losses(model, xs, ys, seeds))
        grads = [p.grad for p in params]
        for p in params:
            p.grad = None
        return grads

    whole = gradients()

    def same(subset) -> bool:
        seeds = torch.tensor(subset, device=x.device)
        return all(torch.equal(w[seeds], g[seeds]) for w, g in zip(whole, gradients(seeds)))

    return all(same(subset) for r in range(1, model.seeds)
               for subset in itertools.combinations(range(model.seeds), r))


def train_seeds(nets: list[SimpleCNN], x_train, y_train, x_test, y_test, cfg: TrainConfig,
                batch_seeds: list[int], log=print, checkpointer: Checkpointer | None = None,
                skip_idle_backward: bool | None = None,
                active_seeds_backward: bool | None = None,
                flush_subnormals: bool | None = None) -> list[TrainResult]:
    """Train every net of `nets` (one per seed, same architecture) as `train` would, at once.

    Seed s draws its minibatches from its own generator seeded with batch_seeds[s], exactly as
    `train` does, and stops at its own t* multiple or decay time; the stack runs until the last
    seed stops. Inputs: x [N, C, L] and y [N] on the training device; nets on the CPU.
    With a checkpointer, the full state is saved at epoch ends every interval and a saved state
    is resumed from; the final weights then equal an uninterrupted run's (bitwise on CPU).

    Idle minibatches: on the hinge loss a minibatch whose margins are all >= 1 has a gradient of
    exact zeros. After interpolation most are such (in the default task-1 ReLU run, 4 seeds, 72%
    of the steps have no seed with a non-zero gradient and 23% one; with swish at beta 16, where one
    seed collapsed, 15% and 69%). Their backward passes are skipped: a step where no seed is
    active (non-zero gradient) gets gradients of zeros, and SGD then does the same arithmetic as
    the full step (it adds wd * W), so the weights are bitwise unchanged. With
    active_seeds_backward, once a step has had an idle seed the next one first looks at the
    losses without autograd, then runs a forward and backward pass of the active seeds only
    (StackedCNN.forward's `seeds`; the others' gradients are exact zeros); while every seed is
    active the forward pass builds the graph for all. Every weight is bitwise the same whichever
    path a step takes (tests/test_stacked.py). By default (None) the look is used where a pass of
    fewer seeds is bitwise the whole stack's on this machine (`subset_pass_is_exact`: otherwise
    the path would change the weights in their last bits) and where it pays, timed on the first
    minibatch (`subset_pass_pays`): in A/B runs of 2026-12-05 it trained the default 4-seed
    blocks of task 1 1.13-1.26x faster, and it would slow task 2's small net.
    Knowing the active seeds takes the losses on the host, a sync per step, so by default (None)
    skip_idle_backward is on for the CPU only.

    A seed's result does not depend on which seeds share the stack (the workflow's training jobs
    are blocks of seeds, README 'Training jobs'): its weights, t*, stop step and error curves are
    bitwise those of the seed trained alone on CPU (tests/test_stacked.py), because every seed owns
    its own slice of each batched product and its own generator, and a skipped idle step changes
    no weight; this holds where the CPU's batched products keep their kernels whatever the number
    of seeds (`subset_pass_is_exact` checks it; the training log says). Only the recorded losses
    agree to float32 rounding rather than bitwise: the stack evaluates them for all seeds in one
    reduction, summed in another order. A GPU's batched
    products may use other kernels for other stack sizes, so there the weights agree to float
    rounding, not bitwise.

    flush_subnormals (default None: on for the CPU): the CPU computes with subnormal floats as
    zeros (runtime.flush_denormals: swish at large beta makes them, and they slow its steps
    about 3x where they abound).
    """
    if flush_subnormals is None:
        flush_subnormals = x_train.device.type == "cpu"
    with flush_denormals(flush_subnormals):
        return _train_stack(nets, x_train, y_train, x_test, y_test, cfg, batch_seeds, log, checkpointer,
                            skip_idle_backward, active_seeds_backward)


def _train_stack(nets, x_train, y_train, x_test, y_test, cfg, batch_seeds, log, checkpointer,
                 skip_idle_backward, active_seeds_backward) -> list[TrainResult]:
    n_seeds, depth, width = len(nets), nets[0].depth, nets[0].width
    device = x_train.device
    results = [TrainResult({k: v.detach().cpu().clone() for k, v in net.state_dict().items()}, None, {})
               for net in nets]
    model = StackedCNN(nets).to(device)
    groups = model.sgd_groups(cfg.lr * width, 2 * cfg.weight_decay / (width * depth))
    gens = [torch.Generator().manual_seed(s) for s in batch_seeds]  # CPU: same batches on any device
    xt, xe = channels_last(x_train), channels_last(x_test)
    n = len(xt)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    if cfg.stop not in ("decay_times", "t_star_multiple"):
        raise ValueError(f"unknown stop rule {cfg.stop!r}")
    fixed = steps_for_decay_times(cfg, depth) if cfg.stop == "decay_times" else None
    if cfg.anneal_fraction and fixed is None:
        raise ValueError("anneal_fraction > 0 needs stop='decay_times' (a stop step known in advance)")
    base_lrs = [g["lr"] for g in groups]
    if skip_idle_backward is None:
        skip_idle_backward = device.type == "cpu"
    params = list(model.parameters())
    # shared zero gradients: SGD without momentum or maximize reads p.grad and never writes it
    zero_grads = [torch.zeros_like(p) for p in params] if skip_idle_backward else None
    look_first = False  # whether the next step finds its active seeds before building a graph
    if skip_idle_backward and active_seeds_backward is None:
        b = min(cfg.batch_size, n)
        xb, yb = xt[:b].expand(n_seeds, -1, -1, -1), y_train[:b].expand(n_seeds, -1)
        if not subset_pass_is_exact(model, xb, yb):  # one seed: no subset, exact
            active_seeds_backward = False
            log("after interpolation, backward passes on the whole stack: on this machine a pass of fewer seeds is "
                "not bitwise the whole stack's for this net (its batched products change kernels with the number "
                "of seeds), so a seed's weights may also differ in their last bits from the same seed's in a block "
                "of another size")
        else:
            active_seeds_backward, subset_ms, whole_ms = subset_pass_pays(model, xb, yb)
            log(f"after interpolation, backward passes on "
                f"{'the active seeds only' if active_seeds_backward else 'the whole stack'}"
                f" (timed: a look and one seed's pass {subset_ms:.2f} ms, the whole stack's {whole_ms:.2f} ms;"
                f" passes of fewer seeds checked bitwise the whole stack's)")
    st = dict(step=0, epoch=0, wall=0.0, t_star=[None] * n_seeds, target=[fixed] * n_seeds,
              done=[False] * n_seeds, idle_steps=0, subset_steps=0)

    saved = checkpointer.load() if checkpointer else None
    if saved is not None:
        # Plain SGD keeps no per-parameter state and the learning rates follow from the step, so
        # the model's weights are the whole optimisation state (states saved while torch.optim.SGD
        # made the steps also hold its empty record, unused).
        model.load_state_dict(saved["model"])
        for g, gs in zip(gens, saved["generators"]):
            g.set_state(gs)
        st = {"idle_steps": 0, "subset_steps": 0, **saved["loop"]}  # states saved before these were counted
        for r, (tstar, final, hist) in zip(results, saved["per_seed"]):
            r.tstar_state, r.final_state, r.history = tstar, final, hist
    start = last_print = time.perf_counter() - st["wall"]

    def record(seeds, tag=""):
        tr_loss, tr_err = evaluate_stack(model, xt, y_train)
        te_loss, te_err = evaluate_stack(model, xe, y_test)
        for s in seeds:
            results[s].history.append(dict(
                epoch=st["epoch"], step=st["step"], decay_times=decay_times(st["step"], cfg, depth, fixed),
                train_loss=tr_loss[s], train_error=tr_err[s], test_loss=te_loss[s], test_error=te_err[s],
                wall_s=time.perf_counter() - start, event=tag))

    if saved is None:
        record(range(n_seeds), "init")
    while not all(st["done"]):
        perm = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device)
        xs, ys = xt[perm], y_train[perm]  # [S, N, L, C], [S, N]: every seed's epoch in its order
        for i in range(0, n, cfg.batch_size):
            if cfg.anneal_fraction:
                for g, base in zip(groups, base_lrs):
                    g["lr"] = base * lr_factor(st["step"] + i // cfg.batch_size, cfg, fixed)
            for p in params:
                p.grad = None
            xb, yb = xs[:, i:i + cfg.batch_size], ys[:, i:i + cfg.batch_size]
            if not skip_idle_backward:
                backward_mean(stack_losses(model, xb, yb))
            else:
                # While every seed is active (before interpolation) the forward pass builds the
                # graph; once a step had an idle seed, it looks first without autograd.
                with torch.set_grad_enabled(not look_first):
                    losses = stack_losses(model, xb, yb)
                active = losses.detach().any(1).nonzero()[:, 0]
                look_first = active_seeds_backward and len(active) < n_seeds
                if len(active) == 0:
                    for p, z in zip(params, zero_grads):
                        p.grad = z
                    st["idle_steps"] += 1
                elif losses.requires_grad and (2 * len(active) > n_seeds or not active_seeds_backward):
                    backward_mean(losses)  # the graph is there, and most seeds need it
                elif len(active) == n_seeds:
                    backward_mean(stack_losses(model, xb, yb))
                else:
                    backward_mean(stack_losses(model, xb[active], yb[active], active))
                    st["subset_steps"] += 1
            sgd_step(groups)
        st["step"] += steps_per_epoch
        st["epoch"] += 1
        step, epoch = st["step"], st["epoch"]

        if None in st["t_star"]:
            losses, _ = evaluate_stack(model, xt, y_train)
            for s, loss in enumerate(losses):
                if st["t_star"][s] is None and loss == 0.0:
                    st["t_star"][s] = epoch
                    results[s].tstar_state = model.state_of(s)
                    record([s], "t_star")
                    log(f"seed {batch_seeds[s]}: interpolation at epoch {epoch} (step {step}); "
                        f"test error {results[s].history[-1]['test_error']:.4f}")
                    if cfg.stop == "t_star_multiple":
                        st["target"][s] = math.ceil(cfg.stop_value * epoch) * steps_per_epoch
        finishing = [s for s in range(n_seeds) if not st["done"][s] and (
            (st["t_star"][s] is not None and step >= st["target"][s]) or step >= cfg.max_steps)]
        if finishing:
            record(finishing, "final")
            for s in finishing:
                st["done"][s] = True
                results[s].final_state = model.state_of(s)
        running = [s for s in range(n_seeds) if not st["done"][s]]
        if running and epoch % cfg.log_every_epochs == 0:
            record(running)
        now = time.perf_counter()
        st["wall"] = now - start
        if running and now - last_print > cfg.progress_seconds:
            last_print = now
            goal = min(max((t for t in st["target"] if t is not None), default=cfg.max_steps), cfg.max_steps)
            rate = step / (now - start)
            log(f"step {step}/{goal} ({100 * step / goal:.0f}%), epoch {epoch}, "
                f"{sum(t is not None for t in st['t_star'])}/{n_seeds} interpolated, "
                f"u={decay_times(step, cfg, depth, fixed):.2f}, {rate * n_seeds:.0f} seed-steps/s, "
                f"ETA {(goal - step) / rate:.0f} s")
        if running and checkpointer and checkpointer.due():
            checkpointer.save(dict(
                step=step, model=model.state_dict(),
                generators=[g.get_state() for g in gens], loop=st,
                per_seed=[(r.tstar_state, r.final_state, r.history) for r in results]))

    for s, r in enumerate(results):
        last = r.history[-1]
        t_star = st["t_star"][s]
        r.summary = dict(
            t_star_epochs=t_star, t_star_steps=None if t_star is None else t_star * steps_per_epoch,
            interpolated=bool(last["train_error"] == 0.0),
            steps=last["step"], epochs=last["epoch"], steps_per_epoch=steps_per_epoch,
            decay_times=decay_times(last["step"], cfg, depth, fixed), hit_step_cap=bool(last["step"] >= cfg.max_steps),
            train_loss=last["train_loss"], train_error=last["train_error"],
            test_loss=last["test_loss"], test_error=last["test_error"],
            wall_s=time.perf_counter() - start, batch_seed=batch_seeds[s], stacked_seeds=n_seeds,
            idle_steps=st["idle_steps"],  # of the stack: steps whose backward pass was skipped
            subset_steps=st["subset_steps"])  # steps whose backward pass ran on some seeds only
    log(f"backward skipped on {st['idle_steps']} idle steps of {st['step']} (every seed's margins >= 1), "
        f"run on the active seeds only on {st['subset_steps']}")
    return results
