"""Training the Table C1 networks on images (paper sec. 2-3, README, 'Real images').

The authors' protocol, every choice a config value:
- CNNs: SGD lr 0.1, momentum 0.9, weight decay 5e-4 on parameters with ndim != 1 only (biases
  and BN scales/shifts are exempt), batch 128, cross-entropy, 250 epochs, CosineAnnealingLR
  with T_max = 0.8 x epochs stepped once per epoch. Past T_max torch's cosine does not stop:
  the lr rises again from 0 (the authors' setting, kept as the default; cosine_t_max_fraction
  = 1 gives the usual schedule).
- FCNs: Adam lr 0.1, no weight decay, constant lr.
- 2D scale detection (sec. 3): the same, but hinge loss on one output and lr 0.05 (FCNs keep
  Adam lr 0.1). Augmentation is off by default there: a translated crop can push an active
  pixel out of the image, which changes the task.
- Checkpoint: the epoch with the lowest error on a held-out validation split; the authors'
  choice, the lowest *test* error, is selection='test'. Ties keep the earliest epoch.

The data live on the device for the whole run (uint8 or float). Each minibatch is gathered,
padded, cropped and flipped there in one indexing operation with a seeded generator, then
normalised (and corrupted by InputNoise for noisy CIFAR-10): no DataLoader, no per-image
Python. Networks with convolutions train on channels_last (NHWC) tensors on every device
(`memory_format_for`), and on CUDA under bf16 autocast.

Seeds: one run seed is expanded into independent seeds for the initialisation, minibatch
order, augmentation draws, input noise and dropout / drop-connect; all are recorded. On the
CPU a seed reproduces the weights bit for bit.

The conventional pipeline (torchvision transforms per image in a DataLoader) is the baseline of
benchmarks/image_training.py, in benchmarks/baselines.py.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F_
from torch import nn

from spatialpool.models.architectures import from_arch
from spatialpool.data.images import ImageSplits, InputNoise
from spatialpool.training.protocols import ImageTrainConfig, paper_protocol  # noqa: F401 (re-exported)
from spatialpool.training.checkpoints import save_checkpoint
from spatialpool.training.resume import Checkpointer
from spatialpool.runtime import pick_device, seed_words  # noqa: F401 (pick_device re-exported)


@dataclass(frozen=True)
class RunSeeds:
    seed: int
    init: int
    batches: int
    augment: int
    noise: int
    dropout: int

    @classmethod
    def from_seed(cls, seed: int) -> RunSeeds:
        return cls(seed, *seed_words(seed, 5))


@dataclass
class ImageTrainResult:
    states: dict  # {"init", "best", "final"}: state dicts (training/checkpoints.py)
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    seeds: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    arch: dict = field(default_factory=dict)  # the checkpoint's arch record (models.registry.build)




# --------------------------------------------------------------------------- protocol pieces


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on parameters with ndim != 1 only (biases, BN affine and any 1-D vector exempt)."""
    decay = [p for p in model.parameters() if p.ndim != 1]
    exempt = [p for p in model.parameters() if p.ndim == 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": exempt, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, cfg: ImageTrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(parameter_groups(model, cfg.weight_decay), lr=cfg.lr)
    return torch.optim.SGD(parameter_groups(model, cfg.weight_decay), lr=cfg.lr, momentum=cfg.momentum)


def cosine_t_max(cfg: ImageTrainConfig) -> int:
    return max(1, round(cfg.cosine_t_max_fraction * cfg.epochs))


def make_scheduler(opt: torch.optim.Optimizer, cfg: ImageTrainConfig):
    if cfg.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0)
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cosine_t_max(cfg))


def loss_fn(cfg: ImageTrainConfig):
    if cfg.loss == "hinge":
        return lambda out, y: torch.relu(1 - y * out.float().squeeze(-1)).mean()
    return lambda out, y: F_.cross_entropy(out.float(), y)


def errors(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Number of misclassified points (sign for hinge, with 0 an error; argmax otherwise)."""
    if loss == "hinge":
        return (torch.sign(out.float().squeeze(-1)) != y).sum()
    return (out.argmax(-1) != y).sum()


def augment_batch(x: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor, padding: int) -> torch.Tensor:
    """Crop each zero-padded image at its (row, col) offset in [0, 2 padding], flipping it
    horizontally where flips is True: torchvision's RandomCrop(padding) + RandomHorizontalFlip
    for a whole batch. The crops are read from a strided view of every window of the padded
    batch, so only the chosen windows are copied."""
    n, _, h, w = x.shape
    windows = F_.pad(x, (padding,) * 4).unfold(2, h, 1).unfold(3, w, 1)  # [n, c, 2p+1, 2p+1, h, w]
    crops = windows[torch.arange(n, device=x.device), :, offsets[:, 0], offsets[:, 1]]
    return torch.where(flips[:, None, None, None], crops.flip(-1), crops)


def memory_format_for(model: nn.Module, cfg: ImageTrainConfig) -> torch.memory_format:
    """channels_last for a network with 2D convolutions when cfg.channels_last, else contiguous.

    On the CPU, oneDNN's convolutions run on NHWC without reordering: a training step of the
    default run's narrow ResNet18 and VGG11-BN is 1.1-1.5x faster, LeNet's 1.0-1.2x
    (benchmarks/channels_last.py); the fully connected nets gain nothing (their first layer
    flattens the image) and stay contiguous. Either layout is deterministic on the CPU; the
    two round differently, so they train to different weights."""
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return torch.channels_last if cfg.channels_last and has_conv else torch.contiguous_format


class DeviceBatches:
    """Minibatches from device-resident data: seeded order, on-device augmentation,
    normalisation and input noise, laid out in `memory_format` (see memory_format_for)."""

    def __init__(self, data: ImageSplits, cfg: ImageTrainConfig, seeds: RunSeeds, device: torch.device,
                 memory_format: torch.memory_format = torch.contiguous_format):
        self.data, self.cfg, self.device = data, cfg, device
        self.x = data.x_train.to(device)
        self.y = data.y_train.to(device)
        self.order = torch.Generator(device=device).manual_seed(seeds.batches)
        self.aug = torch.Generator(device=device).manual_seed(seeds.augment)
        self.noise = InputNoise(cfg.noise_std, seeds.noise, device)
        self.mean = torch.tensor(data.mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(data.std, device=device).view(1, -1, 1, 1)
        self.memory_format = memory_format

    def __len__(self):
        return len(self.x)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Raw images on the device -> the network's input (normalised, noisy, laid out)."""
        x = (x.float() / self.data.scale - self.mean) / self.std
        return self.noise(x).contiguous(memory_format=self.memory_format)

    def epoch(self):
        n, bs, cfg = len(self.x), self.cfg.batch_size, self.cfg
        perm = torch.randperm(n, generator=self.order, device=self.device)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            if len(idx) == 1 and n > 1:
                break  # a lone last image would break BatchNorm; it is seen again next epoch
            x = self.x[idx]
            if cfg.augment:
                k = len(idx)
                offsets = torch.randint(0, 2 * cfg.crop_padding + 1, (k, 2), generator=self.aug, device=self.device)
                flips = (torch.randint(0, 2, (k,), generator=self.aug, device=self.device) == 1
                         if cfg.flip else torch.zeros(k, dtype=torch.bool, device=self.device))
                x = augment_batch(x, offsets, flips, cfg.crop_padding)
            yield self.prepare(x), self.y[idx]


def _autocast(device: torch.device, cfg: ImageTrainConfig):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" and cfg.amp_bf16)


def _sgd_step(model, opt, loss, xb, yb, device, cfg):
    """One optimiser step on a batch; returns the outputs and the loss."""
    with _autocast(device, cfg):
        out = model(xb)
    batch_loss = loss(out, yb)
    opt.zero_grad(set_to_none=True)
    batch_loss.backward()
    opt.step()
    return out, batch_loss


@torch.no_grad()
def evaluate(model: nn.Module, batches: DeviceBatches, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean loss and error on raw images x (moved to the device in eval-sized chunks)."""
    if len(x) == 0:
        return float("nan"), float("nan")
    cfg, device = batches.cfg, batches.device
    was_training = model.training
    model.eval()
    loss, total_loss, wrong = loss_fn(cfg), torch.zeros((), device=device), torch.zeros((), device=device)
    for i in range(0, len(x), cfg.eval_batch_size):
        xb = batches.prepare(x[i:i + cfg.eval_batch_size].to(device))
        yb = y[i:i + cfg.eval_batch_size].to(device)
        with _autocast(device, cfg):
            out = model(xb)
        total_loss += loss(out, yb) * len(yb)
        wrong += errors(out, yb, cfg.loss)
    model.train(was_training)
    return (total_loss / len(x)).item(), (wrong / len(x)).item()


def _snapshot(model: nn.Module) -> dict:
    """The weights on the CPU, contiguous whatever the training layout (checkpoints stay plain)."""
    return {k: v.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
            for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------- training


def _generators(batches: DeviceBatches) -> list[torch.Generator]:
    return [batches.order, batches.aug, batches.noise.generator]


def _rng_state(device: torch.device, batches: DeviceBatches) -> dict:
    return dict(generators=[g.get_state() for g in _generators(batches)], torch=torch.get_rng_state(),
                cuda=torch.cuda.get_rng_state(device) if device.type == "cuda" else None)


def _set_rng_state(device: torch.device, batches: DeviceBatches, state: dict) -> None:
    for g, gs in zip(_generators(batches), state["generators"]):
        g.set_state(gs)
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None:
        torch.cuda.set_rng_state(state["cuda"], device)


def train_model(model: nn.Module, data: ImageSplits, cfg: ImageTrainConfig, seeds: RunSeeds,
                log=print, checkpointer: Checkpointer | None = None) -> ImageTrainResult:
    """Train `model` (already initialised) for cfg.epochs; evaluate and select every epoch.

    With a checkpointer, the full state (weights, optimiser, schedule, every generator, history,
    the best epoch's snapshot) is saved at epoch ends every interval, and a saved state is resumed
    from: the result then equals an uninterrupted run's (bitwise on CPU)."""
    device = pick_device(cfg.device)
    if cfg.selection == "validation" and len(data.x_val) == 0:
        raise ValueError("selection='validation' needs a validation split (n_val > 0), "
                         "or choose the authors' selection='test'")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    batches = DeviceBatches(data, cfg, seeds, device, memory_format_for(model, cfg))
    model.to(device=device, memory_format=batches.memory_format)
    opt, loss = make_optimizer(model, cfg), loss_fn(cfg)
    sched = make_scheduler(opt, cfg)
    torch.manual_seed(seeds.dropout)  # dropout and drop-connect masks draw from the global generator

    result = ImageTrainResult({"init": _snapshot(model)}, 0, seeds=asdict(seeds), config=asdict(cfg))
    result.seeds["data"] = {k: v for k, v in data.info.items() if "seed" in k}
    best, first_epoch, wall = math.inf, 1, 0.0
    saved = checkpointer.load() if checkpointer else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        _set_rng_state(device, batches, saved["rng"])
        result.history, result.best_epoch = saved["history"], saved["best_epoch"]
        result.states["best"], best = saved["best_state"], saved["best"]
        result.states.update(saved.get("trajectory", {}))
        first_epoch, wall = saved["step"] + 1, saved["wall"]
    start = last_print = time.perf_counter() - wall

    # evaluation sets stay on the device too (the training set already is, in `batches`)
    val = data.x_val.to(device), data.y_val.to(device)
    test = data.x_test.to(device), data.y_test.to(device)

    def record(epoch: int, lr: float, train_loss: float, running_error: float):
        row = dict(epoch=epoch, lr=lr, train_loss=train_loss, train_error_running=running_error)
        if cfg.eval_train:
            row["train_error"] = evaluate(model, batches, batches.x, batches.y)[1]
        row["val_loss"], row["val_error"] = evaluate(model, batches, *val)
        row["test_loss"], row["test_error"] = evaluate(model, batches, *test)
        row["wall_s"] = time.perf_counter() - start
        result.history.append(row)
        return row

    if saved is None:
        record(0, opt.param_groups[0]["lr"], float("nan"), float("nan"))
    model.train()
    for epoch in range(first_epoch, cfg.epochs + 1):
        lr = opt.param_groups[0]["lr"]
        loss_sum, wrong, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
        for xb, yb in batches.epoch():
            out, batch_loss = _sgd_step(model, opt, loss, xb, yb, device, cfg)
            loss_sum += batch_loss.detach() * len(yb)
            wrong += errors(out.detach(), yb, cfg.loss)
            seen += len(yb)
        sched.step()
        row = record(epoch, lr, (loss_sum / seen).item(), (wrong / seen).item())
        score = row["val_error" if cfg.selection == "validation" else "test_error"]
        if score < best:
            best, result.best_epoch = score, epoch
            result.states["best"] = _snapshot(model)
        if epoch in cfg.trajectory_epochs:
            result.states[f"epoch{epoch}"] = _snapshot(model)
        now = time.perf_counter()
        if epoch in (1, cfg.epochs) or now - last_print > cfg.progress_seconds:
            last_print = now
            per_epoch = (now - start) / epoch
            log(f"epoch {epoch}/{cfg.epochs}  loss {row['train_loss']:.4f}  "
                f"train err {row.get('train_error', row['train_error_running']):.4f}  "
                f"val err {row['val_error']:.4f}  test err {row['test_error']:.4f}  lr {lr:.4g}  "
                f"{per_epoch:.2f} s/epoch  ETA {per_epoch * (cfg.epochs - epoch):.0f} s")
        if epoch < cfg.epochs and checkpointer and checkpointer.due():
            checkpointer.save(dict(
                step=epoch, model=model.state_dict(), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                rng=_rng_state(device, batches), history=result.history, best_epoch=result.best_epoch,
                best_state=result.states["best"], best=best, wall=time.perf_counter() - start,
                trajectory={k: v for k, v in result.states.items() if k.startswith("epoch")}))

    result.states["final"] = _snapshot(model)
    sel = result.history[result.best_epoch]
    last = result.history[-1]
    result.summary = dict(
        best_epoch=result.best_epoch, selection=cfg.selection,
        best_val_error=sel["val_error"], best_test_error=sel["test_error"],
        best_train_error=sel.get("train_error"),
        final_train_error=last.get("train_error"), final_test_error=last["test_error"],
        epochs=cfg.epochs, wall_s=time.perf_counter() - start,
        seconds_per_epoch=(time.perf_counter() - start) / cfg.epochs,
        device=str(device), n_train=len(data.x_train), n_val=len(data.x_val), n_test=len(data.x_test),
    )
    return result


def arch_record(arch: str, data: ImageSplits, cfg: ImageTrainConfig, width_factor: float = 1.0) -> dict:
    """What rebuilds the net (a checkpoint's arch: models.registry.build): name and build settings."""
    c, h, _ = data.image_shape
    return dict(name=arch, num_classes=1 if cfg.loss == "hinge" else (len(data.classes) or 10),
                in_channels=c, width_factor=width_factor, input_size=h)


def init_model(arch: str, data: ImageSplits, cfg: ImageTrainConfig, seeds: RunSeeds,
               width_factor: float = 1.0) -> nn.Module:
    """The architecture initialised on the CPU from seeds.init (same weights on any device)."""
    torch.manual_seed(seeds.init)
    return from_arch(arch_record(arch, data, cfg, width_factor))


def run_seed(arch: str, data: ImageSplits, cfg: ImageTrainConfig, seed: int,
             width_factor: float = 1.0, log=print,
             checkpointer: Checkpointer | None = None) -> tuple[nn.Module, ImageTrainResult]:
    """One seed of one architecture: initialise, train, select. Returns the trained model too."""
    seeds = RunSeeds.from_seed(seed)
    model = init_model(arch, data, cfg, seeds, width_factor)
    result = train_model(model, data, cfg, seeds, log=log, checkpointer=checkpointer)
    result.arch = arch_record(arch, data, cfg, width_factor)
    result.summary.update(arch=arch, width_factor=width_factor, seed=seed,
                          parameters=sum(p.numel() for p in model.parameters()))
    return model, result


def save_result(result: ImageTrainResult, path: str | os.PathLike) -> None:
    """The result as a one-seed checkpoint (training/checkpoints.py), written atomically: states
    init, best and final, and as extras best_epoch, history, summary, seeds and config."""
    extras = {k: v for k, v in asdict(result).items() if k not in ("states", "arch")}
    save_checkpoint(path, result.arch, {int(result.summary["seed"]): {"states": result.states, **extras}})


# --------------------------------------------------------------------------- throughput


def _sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed_steps(model, batches_iter, cfg, device, steps: int, warmup: int) -> tuple[int, float]:
    opt, loss = make_optimizer(model, cfg), loss_fn(cfg)
    model.train()
    images, t0 = 0, None
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            t0 = time.perf_counter()
        xb, yb = next(batches_iter)
        _sgd_step(model, opt, loss, xb, yb, device, cfg)
        if step >= warmup:
            images += len(yb)
    _sync(device)
    return images, time.perf_counter() - t0


def train_steps_device(model: nn.Module, data: ImageSplits, cfg: ImageTrainConfig, seeds: RunSeeds,
                       steps: int, warmup: int = 3) -> tuple[int, float]:
    """(images, seconds) for `steps` SGD steps of the on-device pipeline, after `warmup` steps."""
    device = pick_device(cfg.device)
    batches = DeviceBatches(data, cfg, seeds, device, memory_format_for(model, cfg))
    model.to(device=device, memory_format=batches.memory_format)

    def forever():
        while True:
            yield from batches.epoch()
    return _timed_steps(model, forever(), cfg, device, steps, warmup)
