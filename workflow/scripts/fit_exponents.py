import sys

import pandas as pd

from spatialpool.fits import exponents, summarise

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
table = pd.read_csv(snakemake.input.collected)
n_all = table.seed.nunique()
table = table[table.selected]
print(f"{table.seed.nunique()} of {n_all} seeds selected (interpolating)")
per_seed = exponents(table, p.fit)
summary = summarise(per_seed, p.fits["seed"], p.fits["bootstrap_resamples"], p.fits["confidence"])
# Filter homogeneity over each fit's layers, beside every exponent: a steep D_k means spatial
# pooling only if the filters are homogeneous.
summary["homogeneity"] = [
    table[(table.state == r.state) & table.k.between(r.k_min, r.k_max)].homogeneity.mean()
    for r in summary.itertuples()]
summary.insert(0, "experiment", snakemake.wildcards.experiment)
per_seed.insert(0, "experiment", snakemake.wildcards.experiment)
summary.to_csv(snakemake.output.summary, index=False)
per_seed.to_csv(snakemake.output.per_seed, index=False)
print(summary.to_string(index=False))
