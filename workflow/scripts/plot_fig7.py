import sys
from pathlib import Path

import pandas as pd

from spatialpool.figures import scale_detection as plots
from spatialpool.analysis.tables import undefined_counts

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
plots.setup(p.plot["context"])
names = [Path(f).stem for f in snakemake.input.collected]
collected = {n: pd.read_csv(f) for n, f in zip(names, snakemake.input.collected)}
theory = {n: pd.read_csv(f) for n, f in zip(names, snakemake.input.theory)}
stem = str(Path(snakemake.output[0]).with_suffix(""))
for name, table in collected.items():  # what the figure counts: selected seeds, undefined layers
    c = undefined_counts(table)
    print(f"{name}: undefined (seed, layer) pairs per state\n"
          + (c[c.n_undefined > 0].to_string(index=False) if c.n_undefined.any() else "none"))
formats = [Path(f).suffix[1:] for f in snakemake.output]
plots.figure7(collected, theory, p.fits, stem, formats, p.plot["dpi"])
