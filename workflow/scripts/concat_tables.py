import sys

import pandas as pd

from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

table = pd.concat([read_table(f) for f in snakemake.input], ignore_index=True)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
