"""Train the default run's digit CNNs under several SGD protocols; print test errors per seed.

The default run's digits group (config.yaml) stands in for CIFAR-10 with 1197 training images.
With the authors' CIFAR-10 protocol (SGD batch 128, lr 0.1, momentum 0.9, cosine) that is 10 SGD
steps per epoch, 120 in the default's 12 epochs, and some seeds fail to train. This script trains
each architecture of the group under each protocol given, with everything else exactly as the
workflow trains it (image_workflow.train_config: the config's epochs, width factor, input noise and
the authors' protocol, the protocol's batch and lr replacing the config's). It writes one CSV row
per (protocol, architecture, noise, seed): the first epoch's training loss, the selected (best
validation) epoch and its test error, the last epoch's test error and the training's seconds; it
prints the selected test error of each, then a table of them per protocol.

    python benchmarks/digits_protocol_search.py                  # the authors' and the default's
    python benchmarks/digits_protocol_search.py -p 128:0.1 128:0.05 32:0.05 32:0.025   # the README's table
    python benchmarks/digits_protocol_search.py -p 128:0.1:24 --archs lenet vgg11_bn

A protocol is 'BATCH:LR' or 'BATCH:LR:EPOCHS' (without EPOCHS, the config's). One thread per
training, `--jobs` trainings at a time. Rows are appended to --out (CSV) as each training ends, so
partial results survive. About 3 minutes on 2 cores for the defaults (the three CNNs, 4 seeds,
noise 0 and LeNet's noise 10, two protocols).
"""
from __future__ import annotations

import argparse
import copy
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import torch
import yaml

from spatialpool.image_workflow import arch_spec, dataset_of, make_dataset, normalise, train_config
from spatialpool.training.images import run_seed

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ["128:0.1", "32:0.025"]  # the authors'; the default run's (the same lr per image)


def train_one(job: dict) -> dict:
    torch.set_num_threads(1)
    images, group, arch, noise, seed, protocol = (job[k] for k in
                                                  ("images", "group", "arch", "noise", "seed", "protocol"))
    spec = arch_spec(images, group, arch)
    batch, lr, *epochs = protocol.split(":")
    train = {**spec["train"], "batch_size": int(batch), "lr": float(lr), "progress_seconds": 1e9}
    if job["flip"] is not None:
        train["flip"] = job["flip"]
    if epochs:
        train["epochs"] = int(epochs[0])
    images = copy.deepcopy(images)
    images["groups"][group]["archs"][arch]["train"] = train
    cfg = train_config(images, group, arch, noise)
    data = make_dataset(dataset_of(images, group))
    _, result = run_seed(arch, data, cfg, seed, width_factor=spec["width_factor"], log=lambda m: None)
    h = result.history
    return dict(protocol=protocol, batch_size=cfg.batch_size, lr=cfg.lr, flip=cfg.flip, arch=arch, noise=float(noise), seed=seed,
                epochs=cfg.epochs, steps_per_epoch=-(-len(data.x_train) // cfg.batch_size),
                loss_epoch1=h[1]["train_loss"], best_epoch=result.best_epoch,
                best_test_error=h[result.best_epoch]["test_error"], final_test_error=h[-1]["test_error"],
                wall_s=result.summary["wall_s"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-p", "--protocols", nargs="+", default=PROTOCOLS, help="BATCH:LR[:EPOCHS] ...")
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--group", default="digits")
    parser.add_argument("--archs", nargs="+", default=["lenet", "vgg11_bn", "resnet18"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                        help="horizontal flips in the augmentation (default: the config's, i.e. the authors' on)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", default="digits_protocol_search.csv")
    args = parser.parse_args(argv)
    images = normalise(yaml.safe_load(open(args.config))["images"])
    if args.group not in images["groups"]:
        parser.error(f"group {args.group!r} not in {args.config} (groups: {sorted(images['groups'])})")
    missing = [a for a in args.archs if a not in images["groups"][args.group]["archs"]]
    if missing:
        parser.error(f"{missing} not in group {args.group!r} of {args.config}")
    jobs = []
    for protocol in args.protocols:
        if not 2 <= len(protocol.split(":")) <= 3:
            parser.error(f"protocol {protocol!r}: expected BATCH:LR or BATCH:LR:EPOCHS")
        for arch in args.archs:
            for noise in arch_spec(images, args.group, arch)["noise"]:
                jobs += [dict(images=images, group=args.group, arch=arch, noise=noise, seed=s,
                              protocol=protocol, flip=args.flip) for s in args.seeds]
    print(f"{len(jobs)} trainings, {args.jobs} at a time; rows appended to {args.out}", flush=True)
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, row in enumerate(pool.map(train_one, jobs), 1):
            rows.append(row)
            pd.DataFrame([row]).to_csv(args.out, mode="a", header=not os.path.exists(args.out), index=False)
            print(f"[{i}/{len(jobs)}] {row['protocol']:>9s} {row['arch']:9s} noise {row['noise']:g} seed {row['seed']}: "
                  f"test error {row['best_test_error']:.3f} (epoch {row['best_epoch']})", flush=True)
    table = pd.DataFrame(rows).pivot_table(index=["arch", "noise", "seed"], columns="protocol",
                                           values="best_test_error")
    print("\nselected checkpoint's test error, per protocol (BATCH:LR[:EPOCHS]):")
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()
