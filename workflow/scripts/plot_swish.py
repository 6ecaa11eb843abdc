import sys
from pathlib import Path

from spatialpool.figures.swish import figure_swish
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

stem = str(Path(snakemake.output[0]).with_suffix(""))
i = snakemake.input
trained = {k: read_table(i[k]) if i[k] else None for k in ("trained", "trained_crossovers", "accuracy")}
figure_swish(read_table(i.exponents), read_table(i.crossovers), stem, snakemake.params.formats,
             snakemake.params.plot["dpi"], **trained)
