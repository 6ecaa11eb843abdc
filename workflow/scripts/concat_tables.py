import sys

import pandas as pd

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

table = pd.concat([pd.read_csv(f) for f in snakemake.input], ignore_index=True)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
