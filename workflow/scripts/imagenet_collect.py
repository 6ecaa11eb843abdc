import sys

import pandas as pd

from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

i, o = snakemake.input, snakemake.output
for name, out in (("sensitivity", o.layers), ("spectra", o.spectra), ("aggregates", o.aggregates)):
    frames = [read_table(f) for f in getattr(i, name)]
    pd.concat(frames, ignore_index=True).to_csv(out, index=False)
print(f"{len(i.sensitivity)} ImageNet models collected")
