import sys
from pathlib import Path

import pandas as pd

from spatialpool import plots

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
plots.setup(p.plot["context"])
# inputs are .../filters/{experiment}/seed{seed}_spectra.csv
spectra = {n: pd.concat([pd.read_csv(f) for f in snakemake.input if Path(f).parent.name == n])
           for n in p.experiments}
stem = str(Path(snakemake.output[0]).with_suffix(""))
plots.figure_b1(spectra, stem, [Path(f).suffix[1:] for f in snakemake.output], p.plot["dpi"])
