import sys

import pandas as pd

from spatialpool.io import exit_briefly_on_corrupted_intermediate
from spatialpool.measurement.receptive_field import effective_receptive_field
from spatialpool.models.simple_cnn import from_state
from spatialpool.training.checkpoints import load_checkpoint

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

rows = []
for seed in snakemake.params.seeds:  # the block's configured seeds, each its own record in the checkpoint
    ckpt = load_checkpoint(snakemake.input[0], seed)
    for state in ("init", "final"):
        widths = effective_receptive_field(from_state(ckpt["arch"], ckpt["states"][state]), snakemake.params.length)
        rows += [dict(seed=seed, state=state, k=k, A_measured=a) for k, a in enumerate(widths, start=1)]
table = pd.DataFrame(rows)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
