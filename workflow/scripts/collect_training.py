import sys

import pandas as pd

from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

# One experiment's training summary and curves from its blocks: the configured seeds only (a block
# on disk may hold seeds removed from the config since), in seed order.
seeds = snakemake.params.seeds
for files, out in ((snakemake.input.summaries, snakemake.output.summary),
                   (snakemake.input.histories, snakemake.output.history)):
    table = pd.concat([read_table(f) for f in files], ignore_index=True)
    table = table[table.seed.isin(seeds)].sort_values("seed", kind="stable")
    missing = sorted(set(seeds) - set(table.seed))
    if missing:
        raise ValueError(f"no training record of seeds {missing} in {files}")
    table.to_csv(out, index=False)
print(pd.read_csv(snakemake.output.summary).to_string(index=False))
