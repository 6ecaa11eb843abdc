import sys

import pandas as pd

from spatialpool.measurement.filters import mean_filter_table, spectra_table
from spatialpool.io import exit_briefly_on_corrupted_intermediate
from spatialpool.training.checkpoints import load_checkpoint

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

means, spectra = [], []
for seed in snakemake.params.seeds:  # the block's configured seeds, each its own record in the checkpoint
    ckpt = load_checkpoint(snakemake.input[0], seed)
    for state in ("init", "final"):
        weights = [ckpt["states"][state][f"weights.{k}"] for k in range(ckpt["arch"]["depth"])]
        means.append(mean_filter_table(weights, state).assign(seed=seed))
        spectra.append(spectra_table(weights, state).assign(seed=seed))
for tables, path in ((means, snakemake.output.mean), (spectra, snakemake.output.spectra)):
    table = pd.concat(tables, ignore_index=True)
    table.insert(0, "seed", table.pop("seed"))
    table.to_csv(path, index=False)
    if path == snakemake.output.mean:
        print(table.to_string(index=False))
