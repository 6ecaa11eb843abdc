import sys

import pandas as pd

from spatialpool.measurement.images import net_summary
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

i, o = snakemake.input, snakemake.output
nets = []
for sens, summ in zip(i.sensitivity, i.summary):
    nets.append(net_summary(read_table(sens), read_table(summ)))
nets = pd.concat(nets, ignore_index=True)
nets.to_csv(o.nets, index=False)
for name in ("sensitivity", "spectra", "aggregates", "history"):
    frames = [read_table(f) for f in getattr(i, name)]
    frames = [f for f in frames if len(f)] or frames[:1]
    pd.concat(frames, ignore_index=True).to_csv(getattr(o, "layers" if name == "sensitivity" else name), index=False)
cols = ["arch", "noise", "seed", "best_test_error", "D_f", "G_f", "R_f", "R_f_init", "displacement_rms"]
print(nets[cols].to_string(index=False))
