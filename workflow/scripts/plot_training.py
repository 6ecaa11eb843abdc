import sys
from pathlib import Path

import pandas as pd

from spatialpool import plots

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
plots.setup(p.plot["context"])
# inputs are .../train/{experiment}/history.csv, every seed's rows in one tidy table
histories = {Path(f).parent.name: pd.read_csv(f) for f in snakemake.input}
stem = str(Path(snakemake.output[0]).with_suffix(""))
plots.figure_training(histories, stem, [Path(f).suffix[1:] for f in snakemake.output], p.plot["dpi"])
