import sys
from pathlib import Path

import pandas as pd

from spatialpool.figures import scale_detection as plots
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

p = snakemake.params
plots.setup(p.plot["context"])
# inputs are .../filters/{experiment}/seed{seed}_spectra.csv
spectra = {n: pd.concat([read_table(f) for f in snakemake.input if Path(f).parent.name == n])
           for n in p.experiments}
stem = str(Path(snakemake.output[0]).with_suffix(""))
plots.figure_b1(spectra, stem, [Path(f).suffix[1:] for f in snakemake.output], p.plot["dpi"])
