import sys

import pandas as pd

from spatialpool.correlations import correlation_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

c = snakemake.params.correlations
nets = pd.read_csv(snakemake.input.nets)
table = correlation_table(nets, ("D_f", "G_f", "R_f"), error="selected_test_error", by="noise", arch="arch",
                          seed=c["seed"], n_resamples=c["bootstrap_resamples"], level=c["confidence"])
table.insert(0, "group", snakemake.wildcards.group)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
