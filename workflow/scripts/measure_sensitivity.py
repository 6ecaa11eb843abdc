import sys

import pandas as pd
import torch

from spatialpool.io import exit_briefly_on_corrupted_intermediate
from spatialpool.perturbations.probes import load_probe
from spatialpool.measurement.scale_detection import measure_states
from spatialpool.training.checkpoints import load_checkpoint

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback
torch.set_num_threads(snakemake.threads)

probe = load_probe(snakemake.input.probe)
tables = []
for seed in snakemake.params.seeds:  # the block's configured seeds, each its own record in the checkpoint
    print(f"seed {seed}")
    table = measure_states(load_checkpoint(snakemake.input.weights, seed), probe, snakemake.params.batch_size, log=print)
    table.insert(0, "experiment", snakemake.wildcards.experiment)
    table.insert(1, "seed", seed)
    tables.append(table)
pd.concat(tables, ignore_index=True).to_csv(snakemake.output[0], index=False)
