import sys
from pathlib import Path

from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table
from spatialpool.analysis.tables import mean_filter_summary

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

# Paths are .../filters/{experiment}/seed{seed}_mean_filters.csv
names = [Path(f).parent.name for f in snakemake.input]
table = mean_filter_summary([read_table(f) for f in snakemake.input], names)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
