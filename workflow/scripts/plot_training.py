import sys
from pathlib import Path

import pandas as pd

from spatialpool import plots

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
plots.setup(p.plot["context"])
# inputs are .../train/{experiment}/seed{seed}/history.csv
histories = {}
for f in snakemake.input:
    path = Path(f)
    h = pd.read_csv(f).assign(seed=int(path.parent.name.removeprefix("seed")))
    histories.setdefault(path.parent.parent.name, []).append(h)
histories = {n: pd.concat(h, ignore_index=True) for n, h in histories.items()}
stem = str(Path(snakemake.output[0]).with_suffix(""))
plots.figure_training(histories, stem, [Path(f).suffix[1:] for f in snakemake.output], p.plot["dpi"])
