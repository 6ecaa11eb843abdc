import sys

import pandas as pd
import torch

from spatialpool.analysis.swish import trained_sweep
from spatialpool.io import exit_briefly_on_corrupted_intermediate
from spatialpool.measurement.receptive_field import theory_receptive_field
from spatialpool.perturbations.probes import load_probe
from spatialpool.training.checkpoints import load_checkpoint

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback
torch.set_num_threads(snakemake.threads)

p = snakemake.params
a = theory_receptive_field(p.net["depth"], p.net["filter_size"], p.net["stride"], p.length)
probe = load_probe(snakemake.input.probe)
sweeps, filters = [], []
for seed in p.seeds:  # the block's configured seeds, each its own record in the checkpoint
    sweep, homogeneity = trained_sweep(load_checkpoint(snakemake.input.weights, seed), probe, p.magnitudes, a,
                                       p.batch_size)
    sweeps.append(sweep)
    filters.append(homogeneity)
sweep, filters = pd.concat(sweeps, ignore_index=True), pd.concat(filters, ignore_index=True)
sweep.insert(0, "experiment", snakemake.wildcards.experiment)
filters.insert(0, "experiment", snakemake.wildcards.experiment)
sweep.to_csv(snakemake.output.sweep, index=False)
filters.to_csv(snakemake.output.filters, index=False)
print(sweep.pivot_table(index=["seed", "k"], columns="magnitude", values="G_plain").to_string())
print(filters.to_string(index=False))
