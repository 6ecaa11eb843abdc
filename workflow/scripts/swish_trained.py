import sys
from pathlib import Path

import numpy as np
import pandas as pd

from spatialpool.analysis.swish import trained_tables
from spatialpool.claims.statistics import table
from spatialpool.claims.swish import swish_rows
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table
from spatialpool.models.simple_cnn import swish_beta

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

i, p = snakemake.input, snakemake.params
sweeps = pd.concat([read_table(f) for f in i.sweeps], ignore_index=True)
filters = pd.concat([read_table(f) for f in i.filters], ignore_index=True)
selection = []
for f in i.selection:  # each experiment's name from its own file's path
    act = p.experiments[Path(f).stem]
    beta = swish_beta(act)
    selection.append(read_table(f).assign(activation=act, beta=np.nan if beta is None else beta))
selection = pd.concat(selection, ignore_index=True)
# Only the nets that interpolate at the end are at a solution worth measuring (select_checkpoints);
# the others (a net that collapsed to a constant output) count in the test accuracy only.
left_out = selection[~selection.selected]
for act, g in left_out.groupby("activation"):
    print(f"{act}: seeds {sorted(g.seed)} do not interpolate at the end: left out of the exponents and claims")
receptive_field = sweeps.drop_duplicates("k").sort_values("k").A_theory.to_numpy()
kept = selection[selection.selected][["activation", "seed"]]
sweeps, filters = sweeps.merge(kept, on=["activation", "seed"]), filters.merge(kept, on=["activation", "seed"])
out = trained_tables(sweeps, receptive_field, p.window, selection, p.confidence)
excluded = {act: sorted(int(s) for s in g.seed) for act, g in left_out.groupby("activation")}
betas = sorted(b for b in (swish_beta(a) for a in p.experiments.values()) if b is not None)
card = table(swish_rows(out["exponents"], filters, out["crossovers"], read_table(i.theory),
                        read_table(i.theory_crossovers), tuple(p.window), p.tolerances, p.confidence, excluded,
                        betas))
for key in ("exponents", "summary", "crossovers", "accuracy"):
    out[key].to_csv(snakemake.output[key], index=False)
card.to_csv(snakemake.output.card, index=False)
print(out["summary"].pivot_table(index=["noise", "activation"], columns="magnitude", values="exponent",
                                 sort=False).round(3).to_string())
print(out["crossovers"].to_string(index=False))
print(out["accuracy"].to_string(index=False))
print(card[["claim", "experiment", "paper", "measured", "ci_low", "ci_high", "control_measured", "verdict"]].to_string(index=False))
