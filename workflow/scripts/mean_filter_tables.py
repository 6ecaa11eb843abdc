import sys
from pathlib import Path

import pandas as pd

from spatialpool.tables import mean_filter_summary

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

# Paths are .../filters/{experiment}/seed{seed}_mean_filters.csv
names = [Path(f).parent.name for f in snakemake.input]
table = mean_filter_summary([pd.read_csv(f) for f in snakemake.input], names)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
