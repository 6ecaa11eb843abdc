"""SGD on the hinge loss for the simple 1D CNNs (sections 4.3 and B).

Learning rate lr_mult * H (the paper's 'learning rate 0.01' in the mean-field
parametrisation), L2 penalty wd * sum_k ||W_k||^2 / (H K) on the conv filters only,
minibatches drawn by a seeded per-epoch permutation.

The interpolation time t* is the first epoch after which the training hinge loss is exactly
zero. Training stops either at a multiple of t* (the paper) or after a number of
weight-decay times u = steps * 2 wd lr_mult / K (the per-step shrink factor of the filters
is 1 - 2 wd lr_mult / K), whichever the config names, and never before t*; max_steps caps
both.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .simple_cnn import SimpleCNN


@dataclass
class TrainConfig:
    lr: float = 0.01          # multiplied by the width H
    weight_decay: float = 0.01
    batch_size: int = 8
    stop: str = "t_star_multiple"  # or "decay_times"
    stop_value: float = 500.0
    max_steps: int = 2_000_000
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


def decay_times(steps: int, cfg: TrainConfig, depth: int) -> float:
    return steps * 2 * cfg.weight_decay * cfg.lr / depth


@torch.no_grad()
def evaluate(net: SimpleCNN, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    out = net(x)
    return hinge(out, y).item(), (torch.sign(out) != y).double().mean().item()


def train(net: SimpleCNN, x_train, y_train, x_test, y_test, cfg: TrainConfig,
          batch_seed: int, log=print) -> TrainResult:
    depth, width = net.depth, net.width
    lr = cfg.lr * width
    # SGD's weight_decay adds wd' * W to the gradient; the penalty wd ||W||^2 / (H K) has
    # gradient 2 wd W / (H K).
    groups = [
        {"params": list(net.weights), "weight_decay": 2 * cfg.weight_decay / (width * depth)},
        {"params": list(net.biases) + [net.beta, net.b_out], "weight_decay": 0.0},
    ]
    opt = torch.optim.SGD(groups, lr=lr, foreach=True)
    gen = torch.Generator().manual_seed(batch_seed)  # CPU generator: same batches on any device
    n = len(x_train)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    if cfg.stop == "decay_times":
        steps_target = math.ceil(cfg.stop_value * depth / (2 * cfg.weight_decay * cfg.lr))
    elif cfg.stop == "t_star_multiple":
        steps_target = None  # known once t* is
    else:
        raise ValueError(f"unknown stop rule {cfg.stop!r}")

    def snapshot():
        return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}

    result = TrainResult(snapshot(), None, {})
    t_star = None
    step, epoch = 0, 0
    start = last_print = time.perf_counter()

    def record(tag=""):
        tr_loss, tr_err = evaluate(net, x_train, y_train)
        te_loss, te_err = evaluate(net, x_test, y_test)
        row = dict(epoch=epoch, step=step, decay_times=decay_times(step, cfg, depth),
                   train_loss=tr_loss, train_error=tr_err, test_loss=te_loss, test_error=te_err,
                   wall_s=time.perf_counter() - start, event=tag)
        result.history.append(row)
        return row

    record("init")
    while True:
        perm = torch.randperm(n, generator=gen).to(x_train.device)
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            opt.zero_grad(set_to_none=True)
            hinge(net(x_train[idx]), y_train[idx]).backward()
            opt.step()
        step += steps_per_epoch
        epoch += 1

        if t_star is None:
            with torch.no_grad():
                interpolated = hinge(net(x_train), y_train).item() == 0.0
            if interpolated:
                t_star = epoch
                result.tstar_state = snapshot()
                row = record("t_star")
                log(f"interpolation at epoch {epoch} (step {step}); test error {row['test_error']:.4f}")
                if cfg.stop == "t_star_multiple":
                    steps_target = math.ceil(cfg.stop_value * t_star) * steps_per_epoch
        done = (t_star is not None and step >= steps_target) or step >= cfg.max_steps
        if done:
            record("final")
            break
        if epoch % cfg.log_every_epochs == 0:
            record()
        now = time.perf_counter()
        if now - last_print > cfg.progress_seconds:
            last_print = now
            goal = min(steps_target or cfg.max_steps, cfg.max_steps)
            rate = step / (now - start)
            log(f"step {step}/{goal} ({100 * step / goal:.0f}%), epoch {epoch}, "
                f"t*={t_star}, u={decay_times(step, cfg, depth):.2f}, "
                f"{rate:.0f} steps/s, ETA {(goal - step) / rate:.0f} s")

    result.final_state = snapshot()
    last = result.history[-1]
    result.summary = dict(
        t_star_epochs=t_star, t_star_steps=None if t_star is None else t_star * steps_per_epoch,
        interpolated=bool(last["train_error"] == 0.0),
        steps=step, epochs=epoch, steps_per_epoch=steps_per_epoch,
        decay_times=decay_times(step, cfg, depth), hit_step_cap=bool(step >= cfg.max_steps),
        train_loss=last["train_loss"], train_error=last["train_error"],
        test_loss=last["test_loss"], test_error=last["test_error"],
        wall_s=time.perf_counter() - start, batch_seed=batch_seed,
    )
    return result


def init_seeds(seed: int) -> tuple[int, int]:
    """Independent init and minibatch seeds derived from the run's seed."""
    a, b = np.random.SeedSequence(seed).generate_state(2)
    return int(a), int(b)
