"""Image training on the CPU: channels_last (NHWC) tensors against the contiguous (NCHW) layout.

    python benchmarks/channels_last.py [--steps 30] [--rounds 3]

Times SGD steps of the default run's image nets (its widths and batch, digits-sized 1x32x32
random inputs, the authors' CNN protocol) on one thread, with the training loop's own step
(training/images.train_steps_device), in alternating rounds A B B A ... so that the machine's drift
hits both layouts alike; per net it prints the median seconds per step of each layout and their
ratio. The last line is the ratio over the default run's heavy nets (ResNet18 and VGG11-BN), the
ones channels_last is used for (training/images.memory_format_for).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

try:
    import spatialpool  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from spatialpool.data.images import ImageSplits
from spatialpool.models.architectures import build
from spatialpool.training.images import ImageTrainConfig, RunSeeds, train_steps_device

NETS = [("resnet18", 0.125), ("vgg11_bn", 0.25), ("lenet", 1.0)]  # config.yaml's digits group


def digits_like(n: int = 512) -> ImageSplits:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 17, (n, 1, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return ImageSplits("digits-like", x, y, x[:0], y[:0], x[:0], y[:0], (0.5,), (0.25,), scale=16.0,
                       classes=[str(i) for i in range(10)])


def seconds_per_step(arch: str, width_factor: float, channels_last: bool, data, steps: int) -> float:
    """The training loop's own timed steps (train_steps_device), its layout chosen as in training."""
    cfg = ImageTrainConfig(batch_size=32, lr=0.025, augment=False, device="cpu", channels_last=channels_last)
    torch.manual_seed(0)
    model = build(arch, width_factor=width_factor, in_channels=1, input_size=32)
    _, seconds = train_steps_device(model, data, cfg, RunSeeds.from_seed(0), steps, warmup=3)
    return seconds / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = digits_like()
    layouts = {"contiguous": False, "channels_last": True}
    times = {(a, name): [] for a, _ in NETS for name in layouts}
    for r in range(args.rounds):
        order = list(layouts.items()) if r % 2 == 0 else list(layouts.items())[::-1]
        for arch, wf in NETS:
            for name, layout in order:
                times[arch, name].append(seconds_per_step(arch, wf, layout, data, args.steps))
    heavy = []
    for arch, wf in NETS:
        a, b = (statistics.median(times[arch, n]) for n in layouts)
        print(f"{arch} x{wf:g}: contiguous {1e3 * a:.1f} ms/step, channels_last {1e3 * b:.1f} ms/step: {a / b:.2f}x")
        if arch != "lenet":
            heavy.append(a / b)
    print(f"channels_last / contiguous speed on the heavy nets (ResNet18, VGG11-BN): {statistics.mean(heavy):.2f}x")


if __name__ == "__main__":
    main()
