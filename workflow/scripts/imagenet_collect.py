import sys

import pandas as pd

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

i, o = snakemake.input, snakemake.output
for name, out in (("sensitivity", o.layers), ("spectra", o.spectra), ("aggregates", o.aggregates)):
    frames = [pd.read_csv(f) for f in getattr(i, name)]
    pd.concat(frames, ignore_index=True).to_csv(out, index=False)
print(f"{len(i.sensitivity)} ImageNet models collected")
