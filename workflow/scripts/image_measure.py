import sys

import torch

from spatialpool.models.registry import build
from spatialpool.measurement.images import filter_spectra, measure_states
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table
from spatialpool.perturbations.probes import load_probe
from spatialpool.training.checkpoints import load_checkpoint

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback
torch.set_num_threads(snakemake.threads)

w, s = snakemake.wildcards, snakemake.params.settings
summary = read_table(snakemake.input.summary).iloc[0]
ckpt = load_checkpoint(snakemake.input.result, int(w.seed))
probe = load_probe(snakemake.input.probe)
init, best = (build(ckpt["arch"], ckpt["states"][state]).eval() for state in ("init", "best"))
print(f"{w.group}/{w.arch} noise {w.noise} seed {w.seed}: best epoch {ckpt['best_epoch']}, "
      f"test error {summary.best_test_error:.4f}")
# `data` labels every row with the data it was measured on ("CIFAR-10 (JPEG copy)" must say so)
ids = dict(group=w.group, arch=w.arch, noise=float(w.noise), seed=int(w.seed), data=summary.get("data", summary.dataset))
table = measure_states(init, best, probe, noise_std=float(w.noise), shuffles=s["shuffles"],
                       net_seed=int(w.seed), batch_size=s["batch_size"], dtype=getattr(torch, s["dtype"]))
table.assign(**ids).to_csv(snakemake.output.sensitivity, index=False)
spectra, aggregates = filter_spectra(init, best)
spectra.assign(**ids).to_csv(snakemake.output.spectra, index=False)
aggregates.assign(**ids).to_csv(snakemake.output.aggregates, index=False)
print(aggregates.to_string(index=False))
