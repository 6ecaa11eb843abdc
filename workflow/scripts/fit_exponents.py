import sys

import pandas as pd

from spatialpool.analysis.fits import exponents, summarise, window_table
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

p = snakemake.params
table = read_table(snakemake.input.collected)
n_all = table.seed.nunique()
table = table[table.selected]
print(f"{table.seed.nunique()} of {n_all} seeds selected (interpolating)")
per_seed = exponents(table, p.fit)
summary = summarise(per_seed, p.fits["confidence"])
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

# Every window of at least min_layers layers, with the exact network's exponent beside it. The
# theory's premise (sec. 4: homogeneous mean filters) holds at the layers where the trained nets'
# seed-mean homogeneity reaches the threshold; only windows inside them can be justified.
homogeneity = table[table.state == "final"].groupby("k").homogeneity.mean()
premise = list(homogeneity[homogeneity >= p.tolerances["homogeneity_threshold"]].index)
print(f"layers with homogeneous trained mean filters (premise of sec. 4): {premise}")
windows = window_table(table, read_table(snakemake.input.theory), p.stride, p.fits["min_layers"],
                       p.fits["confidence"], p.tolerances["rel_tolerance"], p.tolerances["flat_tolerance"],
                       premise)
windows.insert(0, "experiment", snakemake.wildcards.experiment)
windows.to_csv(snakemake.output.windows, index=False)
print(windows[windows.state == "final"].to_string(index=False))
