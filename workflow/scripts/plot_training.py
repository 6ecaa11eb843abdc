import sys
from pathlib import Path

from spatialpool.figures import scale_detection as plots
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

p = snakemake.params
plots.setup(p.plot["context"])
# inputs are .../train/{experiment}/history.csv, every seed's rows in one tidy table
histories = {Path(f).parent.name: read_table(f) for f in snakemake.input}
stem = str(Path(snakemake.output[0]).with_suffix(""))
plots.figure_training(histories, stem, [Path(f).suffix[1:] for f in snakemake.output], p.plot["dpi"])
