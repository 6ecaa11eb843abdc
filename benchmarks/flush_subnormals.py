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

from spatialpool.config import keyed
from spatialpool.training.scale_detection import TrainConfig, train_seeds
from stacked_training import data as task_data, nets_for

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
    data = task_data(cfg["tasks"][exp["task"]], torch.device("cpu"))
    train_cfg = TrainConfig(**{**exp["train"], "max_steps": args.steps})
    seeds = exp["seeds"][:cfg["block_size"]]

    def run(flush: bool):
        nets, batch_seeds = zip(*nets_for(exp, seeds))
        begin = time.perf_counter()
        result = train_seeds(list(nets), *data, train_cfg, list(batch_seeds), log=lambda m: None, flush_subnormals=flush)
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
