import sys
from pathlib import Path

from spatialpool.figures import scale_detection as plots
from spatialpool.analysis.diffusion import plot_appendix_a
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

p = snakemake.params
plots.setup(p.plot["context"])
stem = str(Path(snakemake.output[0]).with_suffix(""))
plot_appendix_a(read_table(snakemake.input.profiles), read_table(snakemake.input.table), stem,
                dpi=p.plot["dpi"], formats=[Path(f).suffix[1:] for f in snakemake.output])
