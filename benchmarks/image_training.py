"""Images per second: on-device data pipeline vs the usual DataLoader pipeline.

Both train the same seeded model with the same protocol (SGD 0.1, momentum 0.9, wd 5e-4 on
ndim != 1 parameters, batch 128, cross-entropy, random crop 32 / padding 4 + horizontal flip,
CIFAR normalisation) on random uint8 images of CIFAR's shape, in one process, alternating
A B A B so that load from other processes hits both alike; the best repeat of each counts.

    python benchmarks/image_training.py [--arch vgg11] [--width-factor 0.25] [--steps 20]

On CUDA it also measures every Table C1 architecture at full width with the on-device
pipeline and projects the GPU-hours of the paper's CIFAR-10 grid. The last line printed is
always the speed ratio (on-device / DataLoader); on CPU the target is >= 1 ("no slower").
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

try:
    import spatialpool  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from spatialpool.models.architectures import ARCHITECTURES, build, is_fully_connected
from spatialpool.training.images import (
    RunSeeds,
    paper_protocol,
    pick_device,
    train_steps_device,
)
from baselines import _ToUnitFloat, _TransformedImages, train_steps_dataloader
from spatialpool.data.images import CIFAR10_MEAN, CIFAR10_STD, ImageSplits

# README, 'Real images': CNN seeds 0-3, FCN seeds 0-10, 250 epochs, 50000 training images.
PAPER_EPOCHS, PAPER_TRAIN, PAPER_EVAL = 250, 50_000, 60_000
NOISE_LEVELS = 7  # std in {0, 0.01, 0.1, 1, 10, 30, 100}: each a full retraining of the grid
EVAL_COST = 1 / 3  # a forward pass costs about a third of a training step per image


def random_cifar(n: int, seed: int = 0) -> ImageSplits:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    empty = x[:0]
    return ImageSplits("random-cifar", x, y, empty, y[:0], empty, y[:0], CIFAR10_MEAN, CIFAR10_STD,
                       scale=255.0, classes=[str(i) for i in range(10)])


def throughput(pipeline, arch, width_factor, data, cfg, steps, warmup, **kw) -> float:
    torch.manual_seed(0)
    model = build(arch, width_factor=width_factor)
    images, seconds = pipeline(model, data, cfg, RunSeeds.from_seed(0), steps, warmup, **kw)
    return images / seconds


def pipeline_only(data, cfg, workers: int, batches: int = 40) -> dict:
    """Images per second of the data pipelines alone (no model): the part that differs."""
    from torchvision import transforms as T

    from spatialpool.training.images import DeviceBatches
    device = pick_device(cfg.device)
    rates = {}
    dev = DeviceBatches(data, cfg, RunSeeds.from_seed(0), device)
    tf = T.Compose([T.RandomCrop(32, padding=cfg.crop_padding), T.RandomHorizontalFlip(),
                    _ToUnitFloat(data.scale), T.Normalize(data.mean, data.std)])
    loader = torch.utils.data.DataLoader(_TransformedImages(data.x_train, data.y_train, tf),
                                         batch_size=cfg.batch_size, shuffle=True, num_workers=workers,
                                         pin_memory=device.type == "cuda")

    def to_device(it):
        for x, y in it:
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    for name, source in [("device", dev.epoch), ("dataloader", lambda: to_device(loader))]:
        n, t0 = 0, time.perf_counter()
        for i, (x, _) in enumerate(source()):
            n += len(x)
            if i + 1 == batches:
                break
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates[name] = n / (time.perf_counter() - t0)
    return rates


def project_gpu_hours(data, steps: int) -> None:
    total = 0.0
    print(f"{'arch':>16} {'img/s':>9} {'seeds':>5} {'GPU-h':>7}")
    for arch in ARCHITECTURES:
        cfg = paper_protocol("images", arch)
        rate = throughput(train_steps_device, arch, 1.0, data, cfg, steps, 5)
        seeds = 11 if is_fully_connected(arch) else 4
        hours = seeds * PAPER_EPOCHS * (PAPER_TRAIN + EVAL_COST * PAPER_EVAL) / rate / 3600
        total += hours
        print(f"{arch:>16} {rate:9.0f} {seeds:5d} {hours:7.2f}", flush=True)
    print(f"projected GPU-hours, CIFAR-10 grid (clean): {total:.1f}; "
          f"with the noisy CIFAR-10 grid ({NOISE_LEVELS - 1} more noise levels): {NOISE_LEVELS * total:.1f}")


def main(argv=None):
    cuda = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet18" if cuda else "vgg11")
    ap.add_argument("--width-factor", type=float, default=1.0 if cuda else 0.25)
    ap.add_argument("--images", type=int, default=10_000, help="size of the random training set")
    ap.add_argument("--steps", type=int, default=50 if cuda else 15)
    ap.add_argument("--warmup", type=int, default=5 if cuda else 2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1) if cuda else 0,
                    help="DataLoader workers of the baseline")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--skip-projection", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = pick_device()
    data = random_cifar(args.images)
    cfg = paper_protocol("images", args.arch, progress_seconds=1e9)
    print(f"device {device} ({torch.cuda.get_device_name() if cuda else f'{torch.get_num_threads()} threads'}), "
          f"{args.arch} x{args.width_factor}, batch {cfg.batch_size}, {args.steps} timed steps, "
          f"DataLoader workers {args.workers}", flush=True)
    best = {"device": 0.0, "dataloader": 0.0}
    for r in range(args.repeats):
        for name, fn, kw in [("device", train_steps_device, {}),
                             ("dataloader", train_steps_dataloader, {"num_workers": args.workers})]:
            t0 = time.perf_counter()
            rate = throughput(fn, args.arch, args.width_factor, data, cfg, args.steps, args.warmup, **kw)
            best[name] = max(best[name], rate)
            print(f"repeat {r}: {name:>10} pipeline {rate:9.1f} images/s ({time.perf_counter() - t0:.1f} s)",
                  flush=True)
    alone = pipeline_only(data, cfg, args.workers)
    print(f"data pipeline alone (no model): on-device {alone['device']:.0f} images/s, "
          f"DataLoader {alone['dataloader']:.0f} images/s", flush=True)
    if cuda and not args.skip_projection:
        project_gpu_hours(data, steps=args.steps)
    else:
        print("GPU figures pending (no CUDA device here): run this script on a GPU for the projected "
              "GPU-hours of the paper's CIFAR-10 grid")
    ratio = best["device"] / best["dataloader"]
    print(f"on-device {best['device']:.1f} images/s vs DataLoader {best['dataloader']:.1f} images/s: "
          f"ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
