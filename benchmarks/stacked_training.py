"""Seed-steps per second: S seeds trained as one StackedCNN against one seed at a time with the
plain nn.Module loop (`training.train`), same data, same protocol, same number of steps.

    python benchmarks/stacked_training.py [--seeds 4] [--steps 1200] [--threads 2] [--repeats 3]

Two regimes are timed, because a run spends almost all its steps after interpolation, where
most minibatches have an exactly zero hinge gradient and the stacked loop skips their backward
pass, or runs it on the seeds whose minibatch is not idle only (training.train_seeds): 'from
init' (the first --steps steps) and 'after interpolation' (--steps steps from the weights
reached after --warm-steps steps, t* being about 200 steps). The projected ratio over a whole
default-config run weights the two by the measured t* and the run's length. Both sides run in
this process, alternately, and the median of the repeats is kept (the machines are noisy).
The last line is the projection for the default task-1 net; task 2's is printed above it.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import yaml

from spatialpool.config import keyed, task_from_config
from spatialpool.data.scale_detection import make_dataset, render
from spatialpool.models.simple_cnn import SimpleCNN
from baselines import train_one_seed as train
from spatialpool.training.scale_detection import TrainConfig, init_seeds, steps_for_decay_times, train_seeds

ROOT = Path(__file__).resolve().parents[1]


def data(task_cfg, device):
    task = task_from_config(task_cfg)
    d = make_dataset(task, task_cfg["n_train"], task_cfg["data_seed"])
    x = lambda k: torch.tensor(render(task, *d[k].T), dtype=torch.float32, device=device)
    y = lambda k: torch.tensor(d[k], dtype=torch.float32, device=device)
    return x("train_sites"), y("train_y"), x("test_sites"), y("test_y")


def nets_for(exp, seeds, states=None):
    out = []
    for i, s in enumerate(seeds):
        init_seed, batch_seed = init_seeds(s)
        torch.manual_seed(init_seed)
        net = SimpleCNN(activation=exp["activation"], **exp["net"])
        if states is not None:
            net.load_state_dict(states[i])
        out.append((net, batch_seed))
    return out


def steps_cfg(exp, steps):
    """The experiment's protocol for exactly `steps` steps (the stop never comes first; no warm-down)."""
    return TrainConfig(**(exp["train"] | dict(stop="decay_times", stop_value=1e6, max_steps=steps,
                                              anneal_fraction=0.0)))


def time_sides(exp, xy, n_seeds, steps, repeats, states=None):
    cfg = steps_cfg(exp, steps)
    plain, stacked = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for net, batch_seed in nets_for(exp, range(n_seeds), states):
            train(net.to(xy[0].device), *xy, cfg, batch_seed, log=lambda m: None)
        plain.append(time.perf_counter() - start)
        nets, batch_seeds = zip(*nets_for(exp, range(n_seeds), states))
        start = time.perf_counter()
        res = train_seeds(list(nets), *xy, cfg, list(batch_seeds), log=lambda m: None)
        stacked.append(time.perf_counter() - start)
    idle = (res[0].summary["idle_steps"] / steps, res[0].summary["subset_steps"] / steps)
    return statistics.median(plain), statistics.median(stacked), idle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warm-steps", type=int, default=2400, help="steps before the 'after interpolation' timing")
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = keyed(yaml.safe_load(open(args.config)))  # grids keyed by name
    print(f"device {device}, {args.threads} threads, {args.seeds} seeds, {args.steps} steps each, "
          f"median of {args.repeats}")
    ratios = {}
    seed_steps = args.seeds * args.steps
    for name in ("task2_relu", "task1_relu"):
        exp = config["experiments"][name]
        xy = data(config["tasks"][exp["task"]], device)
        # the weights after --warm-steps steps of the real protocol, and each seed's t*
        nets, batch_seeds = zip(*nets_for(exp, range(args.seeds)))
        warm = train_seeds(list(nets), *xy, steps_cfg(exp, args.warm_steps), list(batch_seeds), log=lambda m: None)
        t_star = statistics.mean(r.summary["t_star_steps"] or args.warm_steps for r in warm)
        run_steps = min(steps_for_decay_times(TrainConfig(**exp["train"]), exp["net"]["depth"]),
                        exp["train"]["max_steps"])
        per_step = {}
        for regime, states in (("from init", None), ("after interpolation", [r.final_state for r in warm])):
            plain, stacked, idle = time_sides(exp, xy, args.seeds, args.steps, args.repeats, states)
            per_step[regime] = (plain / args.steps, stacked / args.steps)
            print(f"{name} (width {exp['net']['width']}), {regime}: plain {seed_steps / plain:.0f} seed-steps/s, "
                  f"stacked {seed_steps / stacked:.0f} seed-steps/s ({plain / stacked:.2f}x; "
                  f"{100 * idle[0]:.0f}% of the steps with no backward pass, {100 * idle[1]:.0f}% with one "
                  f"on the active seeds only)")
        f = min(t_star / run_steps, 1.0)
        cost = [f * a + (1 - f) * b for a, b in zip(per_step["from init"], per_step["after interpolation"])]
        ratios[name] = cost[0] / cost[1]
        late = sum(r.summary["t_star_steps"] is None for r in warm)
        print(f"{name}: t* about {t_star:.0f} of {run_steps} steps in the default run"
              + (f" ({late} seeds not yet interpolated after {args.warm_steps} warm steps, counted at that)" if late else ""))
    if device.type == "cuda":
        print("GPU projection: pending (no GPU measured yet; README, Performance)")
    print(f"task2_relu speed-up over a default run (stacked / plain): {ratios['task2_relu']:.2f}x")
    print(f"task1_relu speed-up over a default run (stacked / plain): {ratios['task1_relu']:.2f}x")


if __name__ == "__main__":
    main()
