import sys

import pandas as pd

from spatialpool.analysis.correlations import correlation_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

c = snakemake.params.correlations
nets = pd.read_csv(snakemake.input.nets)
# only architectures that learned (error < learned_fraction x chance) enter rho; the permutation
# null (exact for few architectures) gives the one-sided p-values the scorecard uses
table = correlation_table(nets, ("D_f", "G_f", "R_f"), error="best_test_error", by="noise", arch="arch",
                          seed=c["seed"], n_resamples=c["bootstrap_resamples"], level=c["confidence"],
                          learned_fraction=c["learned_fraction"], n_classes="num_classes",
                          n_permutations=c["permutations"], seed_column="seed")
table.insert(0, "group", snakemake.wildcards.group)
if "data" in nets:  # the data the nets were trained on, as results must name it (e.g. "CIFAR-10 (JPEG copy)")
    table.insert(1, "data", ", ".join(dict.fromkeys(nets["data"].astype(str))))
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
