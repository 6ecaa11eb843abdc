import sys

import torch

from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table
from spatialpool.measurement.images import measure_trajectory
from spatialpool.models.registry import build
from spatialpool.perturbations.probes import load_probe
from spatialpool.training.checkpoints import load_checkpoint

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback
torch.set_num_threads(snakemake.threads)

w, s = snakemake.wildcards, snakemake.params.settings
summary = read_table(snakemake.input.summary).iloc[0]
ckpt = load_checkpoint(snakemake.input.result, int(w.seed))
states = {name: build(ckpt["arch"], state).eval() for name, state in ckpt["states"].items()
          if name == "init" or name.startswith("epoch")}
table = measure_trajectory(states, read_table(snakemake.input.history), load_probe(snakemake.input.probe),
                           noise_std=float(w.noise), batch_size=s["batch_size"], dtype=getattr(torch, s["dtype"]))
ids = dict(group=w.group, arch=w.arch, noise=float(w.noise), seed=int(w.seed), data=summary.get("data", summary.dataset))
table.assign(**ids).to_csv(snakemake.output[0], index=False)
