import sys
from pathlib import Path

import pandas as pd

from spatialpool import plots
from spatialpool.diffusion import plot_appendix_a

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
plots.setup(p.plot["context"])
stem = str(Path(snakemake.output[0]).with_suffix(""))
plot_appendix_a(pd.read_csv(snakemake.input.profiles), pd.read_csv(snakemake.input.table), stem,
                dpi=p.plot["dpi"], formats=[Path(f).suffix[1:] for f in snakemake.output])
