"""Training with subnormal floats flushed to zero against IEEE subnormals, on a default-config block.

    python benchmarks/flush_subnormals.py [--experiment task1_relu_swish16] [--steps 3000] [--repeats 2]

Trains the first block of a 1D experiment of config.yaml (by default the swish small version's
beta = 16 block, 4 seeds stacked) for its first --steps steps with train_seeds'
flush_subnormals on and off, alternating in this process, one thread; prints the median
seconds of each, whether the weights are bitwise equal, and last the speed ratio (unflushed /
flushed; runtime.flush_denormals says why). The swish experiments are those config.yaml's
`swish.trained` generates (task1_relu_swish1, task1_relu_swish16).
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
from spatialpool.training.scale_detection import TrainConfig, init_seeds, train_seeds

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiment", default="task1_relu_swish16")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = keyed(yaml.safe_load((ROOT / "config.yaml").read_text()))
    if args.experiment not in cfg["experiments"]:
        raise SystemExit(f"no experiment {args.experiment!r} in config.yaml: {sorted(cfg['experiments'])}")
    exp = cfg["experiments"][args.experiment]
    task_cfg = cfg["tasks"][exp["task"]]
    task = task_from_config(task_cfg)
    d = make_dataset(task, task_cfg["n_train"], task_cfg["data_seed"])
    x = lambda k: torch.tensor(render(task, *d[k].T), dtype=torch.float32)
    y = lambda k: torch.tensor(d[k], dtype=torch.float32)
    data = x("train_sites"), y("train_y"), x("test_sites"), y("test_y")
    train_cfg = TrainConfig(**{**exp["train"], "max_steps": args.steps})
    seeds = exp["seeds"][:cfg["block_size"]]

    def run(flush: bool):
        nets, batch_seeds = [], []
        for s in seeds:
            init_seed, batch_seed = init_seeds(s)
            torch.manual_seed(init_seed)
            nets.append(SimpleCNN(activation=exp["activation"], **exp["net"]))
            batch_seeds.append(batch_seed)
        begin = time.perf_counter()
        result = train_seeds(nets, *data, train_cfg, batch_seeds, log=lambda m: None, flush_subnormals=flush)
        return time.perf_counter() - begin, [r.final_state for r in result]

    times, states = {True: [], False: []}, {}
    for _ in range(args.repeats):
        for flush in (False, True):
            seconds, states[flush] = run(flush)
            times[flush].append(seconds)
    same = all(torch.equal(a[k], b[k]) for a, b in zip(states[False], states[True]) for k in a)
    plain, flushed = statistics.median(times[False]), statistics.median(times[True])
    print(f"{args.experiment} ({exp['activation']}), seeds {seeds}, first {args.steps} steps, one thread, "
          f"median of {args.repeats}: subnormals kept {plain:.2f} s, flushed {flushed:.2f} s; "
          f"weights bitwise equal: {same}")
    print(f"speed ratio (kept / flushed): {plain / flushed:.2f}x")


if __name__ == "__main__":
    main()
