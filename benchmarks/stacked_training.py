"""Seed-steps per second: S seeds trained as one StackedCNN against one seed at a time with the
plain nn.Module loop (`training.train`), same data, same protocol, same number of steps.

    python benchmarks/stacked_training.py [--seeds 4] [--steps 1200] [--threads 2] [--repeats 3]

Both sides run in this process, alternately, and the median of the repeats is kept (the
machines are noisy). The last line is the ratio for the default config's task-1 net; task 2's
is printed above it. On a GPU it also projects the GPU-hours of the paper's section-4 protocol.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import yaml

from spatialpool.config import task_from_config
from spatialpool.scale_detection import make_dataset, render
from spatialpool.simple_cnn import SimpleCNN
from spatialpool.training import TrainConfig, init_seeds, train, train_seeds

ROOT = Path(__file__).resolve().parents[1]


def data(task_cfg, device):
    task = task_from_config(task_cfg)
    d = make_dataset(task, task_cfg["n_train"], task_cfg["data_seed"])
    x = lambda k: torch.tensor(render(task, *d[k].T), dtype=torch.float32, device=device)
    y = lambda k: torch.tensor(d[k], dtype=torch.float32, device=device)
    return x("train_sites"), y("train_y"), x("test_sites"), y("test_y")


def nets_for(exp, seeds):
    out = []
    for s in seeds:
        init_seed, batch_seed = init_seeds(s)
        torch.manual_seed(init_seed)
        out.append((SimpleCNN(activation=exp["activation"], **exp["net"]), batch_seed))
    return out


def time_sides(exp, task_cfg, n_seeds, steps, repeats, device):
    xy = data(task_cfg, device)
    # A fixed number of steps (the stop never comes first), logging as in the real run.
    cfg = TrainConfig(**(exp["train"] | dict(stop="decay_times", stop_value=1e6, max_steps=steps)))
    plain, stacked = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for net, batch_seed in nets_for(exp, range(n_seeds)):
            train(net.to(device), *xy, cfg, batch_seed, log=lambda m: None)
        plain.append(time.perf_counter() - start)
        nets, batch_seeds = zip(*nets_for(exp, range(n_seeds)))
        start = time.perf_counter()
        train_seeds(list(nets), *xy, cfg, list(batch_seeds), log=lambda m: None)
        stacked.append(time.perf_counter() - start)
    return statistics.median(plain), statistics.median(stacked)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = yaml.safe_load(open(args.config))
    print(f"device {device}, {args.threads} threads, {args.seeds} seeds, {args.steps} steps each, "
          f"median of {args.repeats}")
    ratios = {}
    for name in ("task2_relu", "task1_relu"):
        exp = config["experiments"][name]
        plain, stacked = time_sides(exp, config["tasks"][exp["task"]], args.seeds, args.steps,
                                    args.repeats, device)
        seed_steps = args.seeds * args.steps
        ratios[name] = plain / stacked
        print(f"{name} (width {exp['net']['width']}): plain {seed_steps / plain:.0f} seed-steps/s, "
              f"stacked {seed_steps / stacked:.0f} seed-steps/s")
    if device.type == "cuda":
        print("GPU projection: see benchmarks/README (pending: no GPU measured yet)")
    print(f"task2_relu speed-up (stacked / plain): {ratios['task2_relu']:.2f}x")
    print(f"task1_relu speed-up (stacked / plain): {ratios['task1_relu']:.2f}x")


if __name__ == "__main__":
    main()
