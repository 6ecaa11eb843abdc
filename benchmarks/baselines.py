"""Plain implementations kept outside the package: test oracles and benchmark baselines.

Each is the straightforward version of something the package does fast, and the tests check the
fast version against it:

- `train_one_seed`: one seed of the simple 1D CNN as an ordinary nn.Module loop (the workflow
  trains seeds stacked, spatialpool.training.scale_detection.train_seeds; tests/test_stacked.py,
  benchmarks/stacked_training.py);
- `deform_loop`: the diffeomorphism one image at a time (spatialpool.perturbations.diffeo.deform is batched;
  tests/test_diffeo.py, benchmarks/diffeo_sampler.py);
- `sensitivities`: eq. 1 with a forward pass per perturbation and shifted sums (the workflow's one
  streaming estimator, image_sensitivity.measure_representations / measure_batches;
  tests/test_sensitivity.py, benchmarks/sensitivity_pass.py);
- `train_steps_dataloader`: image training through a torchvision DataLoader with per-image
  transforms (spatialpool.training.images keeps the data on the device; benchmarks/image_training.py).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from spatialpool.perturbations.diffeo import _pixel_grid, modes
from spatialpool.training.images import ImageTrainConfig, RunSeeds, _timed_steps, memory_format_for, pick_device
from spatialpool.data.images import ImageSplits, InputNoise
from spatialpool.measurement.sensitivity import Representations, delta_is_undefined, divide_by_delta
from spatialpool.models.simple_cnn import SimpleCNN
from spatialpool.training.scale_detection import TrainConfig, TrainResult, decay_times, evaluate, hinge, lr_factor, steps_for_decay_times


def train_one_seed(net: SimpleCNN, x_train, y_train, x_test, y_test, cfg: TrainConfig,
          batch_seed: int, log=print) -> TrainResult:
    """One seed as a plain nn.Module loop: the reference the workflow's stacked loop
    (spatialpool.training.scale_detection.train_seeds) must reproduce, and the baseline of stacked_training.py."""
    depth, width = net.depth, net.width
    lr = cfg.lr * width
    # SGD's weight_decay adds wd' * W to the gradient; the penalty wd ||W||^2 / (H K) has
    # gradient 2 wd W / (H K).
    groups = [
        {"params": list(net.weights), "weight_decay": 2 * cfg.weight_decay / (width * depth)},
        {"params": list(net.biases) + [net.beta, net.b_out], "weight_decay": 0.0},
    ]
    opt = torch.optim.SGD(groups, lr=lr, foreach=True)
    base_lrs = [g["lr"] for g in opt.param_groups]
    gen = torch.Generator().manual_seed(batch_seed)  # CPU generator: same batches on any device
    n = len(x_train)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    if cfg.stop == "decay_times":
        steps_target = steps_for_decay_times(cfg, depth)
    elif cfg.stop == "t_star_multiple":
        steps_target = None  # known once t* is
    else:
        raise ValueError(f"unknown stop rule {cfg.stop!r}")
    if cfg.anneal_fraction and steps_target is None:
        raise ValueError("anneal_fraction > 0 needs stop='decay_times' (a stop step known in advance)")

    def snapshot():
        return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}

    result = TrainResult(snapshot(), None, {})
    t_star = None
    step, epoch = 0, 0
    start = last_print = time.perf_counter()

    def record(tag=""):
        tr_loss, tr_err = evaluate(net, x_train, y_train)
        te_loss, te_err = evaluate(net, x_test, y_test)
        row = dict(epoch=epoch, step=step, decay_times=decay_times(step, cfg, depth, steps_target),
                   train_loss=tr_loss, train_error=tr_err, test_loss=te_loss, test_error=te_err,
                   wall_s=time.perf_counter() - start, event=tag)
        result.history.append(row)
        return row

    record("init")
    while True:
        perm = torch.randperm(n, generator=gen).to(x_train.device)
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            if cfg.anneal_fraction:
                for g, base in zip(opt.param_groups, base_lrs):
                    g["lr"] = base * lr_factor(step + i // cfg.batch_size, cfg, steps_target)
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
                f"t*={t_star}, u={decay_times(step, cfg, depth, steps_target):.2f}, "
                f"{rate:.0f} steps/s, ETA {(goal - step) / rate:.0f} s")

    result.final_state = snapshot()
    last = result.history[-1]
    result.summary = dict(
        t_star_epochs=t_star, t_star_steps=None if t_star is None else t_star * steps_per_epoch,
        interpolated=bool(last["train_error"] == 0.0),
        steps=step, epochs=epoch, steps_per_epoch=steps_per_epoch,
        decay_times=decay_times(step, cfg, depth, steps_target), hit_step_cap=bool(step >= cfg.max_steps),
        train_loss=last["train_loss"], train_error=last["train_error"],
        test_loss=last["test_loss"], test_error=last["test_error"],
        wall_s=time.perf_counter() - start, batch_seed=batch_seed,
    )
    return result


def deform_loop(images: torch.Tensor, coeffs: torch.Tensor, cut: int = 3) -> torch.Tensor:
    """The diffeomorphism of spatialpool.perturbations.diffeo.deform, one image at a time: the field as an explicit
    sum over modes (Petrini et al. 2021, eq. 2) and a hand-written bilinear remap. images [B, C, n, n],
    coeffs [B, 2, modes] as diffeo.sample_coefficients draws them."""
    n = images.shape[-1]
    x, y = _pixel_grid(n, torch.float64, images.device)
    ij = modes(cut).tolist()
    u = x / (n - 1)
    v = y / (n - 1)
    out = torch.empty_like(images)
    for b in range(len(images)):
        dx = torch.zeros(n, n, dtype=torch.float64, device=images.device)
        dy = torch.zeros_like(dx)
        for m, (i, j) in enumerate(ij):
            mode = n * torch.sin(math.pi * i * u) * torch.sin(math.pi * j * v)
            dx += coeffs[b, 0, m].item() * mode
            dy += coeffs[b, 1, m].item() * mode
        out[b] = _bilinear(images[b], (x - dx).clamp(0, n - 1), (y - dy).clamp(0, n - 1))
    return out


def _bilinear(img: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    """img [C, n, n] sampled at real pixel coordinates (sx, sy), both within [0, n - 1]."""
    n = img.shape[-1]
    x0 = sx.floor().long().clamp(max=n - 2)
    y0 = sy.floor().long().clamp(max=n - 2)
    wx = (sx - x0).to(img.dtype)
    wy = (sy - y0).to(img.dtype)
    top = img[:, y0, x0] * (1 - wx) + img[:, y0, x0 + 1] * wx
    bottom = img[:, y0 + 1, x0] * (1 - wx) + img[:, y0 + 1, x0 + 1] * wx
    return top * (1 - wy) + bottom * wy


class _TransformedImages(torch.utils.data.Dataset):
    def __init__(self, x, y, transform):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.transform(self.x[i]), self.y[i]


class _ToUnitFloat:
    def __init__(self, scale: float):
        self.scale = scale

    def __call__(self, x):
        return x.float() / self.scale


def train_steps_dataloader(model: nn.Module, data: ImageSplits, cfg: ImageTrainConfig, seeds: RunSeeds,
                           steps: int, warmup: int = 3, num_workers: int = 0) -> tuple[int, float]:
    """Baseline for the benchmark: the usual DataLoader over CPU tensors with torchvision's
    RandomCrop / RandomHorizontalFlip / Normalize per image, batches copied to the device."""
    from torchvision import transforms as T
    device = pick_device(cfg.device)
    steps_t = [T.RandomCrop(data.image_shape[-1], padding=cfg.crop_padding)] if cfg.augment else []
    if cfg.augment and cfg.flip:
        steps_t.append(T.RandomHorizontalFlip())
    steps_t += [_ToUnitFloat(data.scale), T.Normalize(data.mean, data.std)]
    dataset = _TransformedImages(data.x_train, data.y_train, T.Compose(steps_t))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=cfg.batch_size, shuffle=True, num_workers=num_workers,
        pin_memory=device.type == "cuda", persistent_workers=num_workers > 0,
        generator=torch.Generator().manual_seed(seeds.batches))
    noise = InputNoise(cfg.noise_std, seeds.noise, device)
    memory_format = memory_format_for(model, cfg)  # the same layout as the on-device pipeline
    model.to(device=device, memory_format=memory_format)

    def forever():
        while True:
            for xb, yb in loader:
                xb = noise(xb.to(device, non_blocking=True)).contiguous(memory_format=memory_format)
                yield xb, yb.to(device, non_blocking=True)
    return _timed_steps(model, forever(), cfg, device, steps, warmup)


@torch.no_grad()
def sensitivities(represent: Representations, clean: torch.Tensor,
                  perturbed: dict[str, torch.Tensor], batch_size: int = 64) -> dict[str, np.ndarray]:
    """The reference estimator of eq. 1: one forward pass per perturbation, shifted float64 sums.
    The workflow's estimator (image_sensitivity.measure_representations) must agree with it to
    rounding (tests/test_sensitivity.py).

    clean: [P, ...] probe images; perturbed[name]: [P, R, ...] perturbed versions of them.
    Returns {'delta': [n_layers], name: [n_layers] (N / Delta) for every perturbation}; N / Delta
    is NaN for a layer whose representation does not differ between probe images beyond
    round-off (delta_is_undefined). 'delta' itself is reported as accumulated.
    """
    n_probe = clean.shape[0]
    shift = sum_x = sum_x2 = None
    numer = {name: None for name in perturbed}
    counts = {name: 0 for name in perturbed}
    for lo in range(0, n_probe, batch_size):
        x = clean[lo:lo + batch_size]
        reps = [r.flatten(1).double() for r in represent(x)]
        if shift is None:
            shift = [r.mean(0) for r in reps]  # keeps the one-pass variance well conditioned
            sum_x = [torch.zeros_like(s) for s in shift]
            sum_x2 = [torch.zeros_like(s) for s in shift]
        for k, r in enumerate(reps):
            c = r - shift[k]
            sum_x[k] += c.sum(0)
            sum_x2[k] += (c * c).sum(0)
        for name, pert in perturbed.items():
            xp = pert[lo:lo + batch_size]
            n_draws = xp.shape[1]
            reps_p = represent(xp.flatten(0, 1))
            sq = [((rp.flatten(1).double().view(len(x), n_draws, -1) - r[:, None]) ** 2).sum((1, 2))
                  .sum() for rp, r in zip(reps_p, reps)]
            numer[name] = sq if numer[name] is None else [a + b for a, b in zip(numer[name], sq)]
            counts[name] += len(x) * n_draws
    variances = [s2 / n_probe - (s / n_probe) ** 2 for s, s2 in zip(sum_x, sum_x2)]
    delta = np.array([(2 * v.sum()).item() for v in variances])
    # mean of f^2 = variance + mean^2, with the mean undone from the shift
    mean_square = np.array([(v + (m + s / n_probe) ** 2).sum().item()
                            for v, m, s in zip(variances, shift, sum_x)])
    # A layer whose representation is the same for every probe image has no scale to
    # compare with: its sensitivity is undefined, not infinite, and not zero.
    undefined = delta_is_undefined(delta, mean_square, n_probe)
    out = {"delta": delta}
    for name in perturbed:
        mean_sq = np.array([v.item() for v in numer[name]]) / counts[name]
        out[name] = divide_by_delta(mean_sq, delta, undefined)
    return out
