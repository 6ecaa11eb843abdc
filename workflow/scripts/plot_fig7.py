import sys
from pathlib import Path

import pandas as pd

from spatialpool import plots

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
plots.setup(p.plot["context"])
names = [Path(f).stem for f in snakemake.input.collected]
collected = {n: pd.read_csv(f) for n, f in zip(names, snakemake.input.collected)}
theory = {n: pd.read_csv(f) for n, f in zip(names, snakemake.input.theory)}
stem = str(Path(snakemake.output[0]).with_suffix(""))
formats = [Path(f).suffix[1:] for f in snakemake.output]
plots.figure7(collected, theory, p.fits, stem, formats, p.plot["dpi"])
