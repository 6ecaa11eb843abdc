import sys

import pandas as pd

from spatialpool.analysis.trajectory import trajectory_summary
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

layers = pd.concat([read_table(f) for f in snakemake.input], ignore_index=True)
layers.to_csv(snakemake.output.layers, index=False)
summary = trajectory_summary(layers)
summary.to_csv(snakemake.output.summary, index=False)
print(summary.to_string(index=False))
