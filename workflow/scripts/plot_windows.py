import sys
from pathlib import Path

from spatialpool.figures import scale_detection as plots
from spatialpool.analysis.fits import window_of
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

p = snakemake.params
plots.setup(p.plot["context"])
windows = {Path(f).stem.removesuffix("_windows"): read_table(f) for f in snakemake.input}
stem = str(Path(snakemake.output[0]).with_suffix(""))
configured = {e: {m: window_of(m, fit) for m in ("D", "G_rect", "R_rect")} for e, fit in p.fits.items()}
plots.figure_windows(windows, stem, [Path(f).suffix[1:] for f in snakemake.output], p.plot["dpi"],
                     configured=configured)
print(f"window scan of {sorted(windows)} written to {stem}")
