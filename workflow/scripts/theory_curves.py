import sys

import numpy as np

from spatialpool.measure import theory_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
table = theory_table(p.net, p.activation, p.length, dict(np.load(snakemake.input.probe)), p.batch_size)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
