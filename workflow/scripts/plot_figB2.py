import sys
from pathlib import Path

import pandas as pd

from spatialpool.figures import scale_detection as plots
from spatialpool.analysis.tables import undefined_counts

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
plots.setup(p.plot["context"])
collected = {Path(f).stem: pd.read_csv(f) for f in snakemake.input.collected}
stem = str(Path(snakemake.output[0]).with_suffix(""))
for name, table in collected.items():  # what the figure counts: selected seeds, undefined layers
    c = undefined_counts(table)
    print(f"{name}: undefined (seed, layer) pairs per state\n"
          + (c[c.n_undefined > 0].to_string(index=False) if c.n_undefined.any() else "none"))
plots.figure_b2(collected, p.fits, stem, [Path(f).suffix[1:] for f in snakemake.output], p.plot["dpi"])
