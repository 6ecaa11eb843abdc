import sys

import pandas as pd

from spatialpool.analysis.tables import collect_experiment, undefined_counts

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

i = snakemake.input
table = collect_experiment([pd.read_csv(f) for f in i.sensitivity], [pd.read_csv(f) for f in i.receptive_field],
                           [pd.read_csv(f) for f in i.mean_filters], pd.read_csv(i.selection),
                           pd.read_csv(i.theory))
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
counts = undefined_counts(table, selected_only=False)
print("\nundefined sensitivities (representation identical for every probe input), all seeds:")
print(counts[counts.n_undefined > 0].to_string(index=False) if counts.n_undefined.any() else "none")
