import sys
from pathlib import Path

import pandas as pd

from spatialpool import scorecard as sc
from spatialpool.claims import table as claims_table
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

i, p = snakemake.input, snakemake.params


def by_experiment(paths, name_of=lambda f: Path(f).stem):
    """Experiment -> table, each name taken from its own file's path (never from a list's order)."""
    return {name_of(f): read_table(f) for f in paths}


collected = by_experiment(i.collected)
selection = by_experiment(i.selection)
theory = by_experiment(i.theory)
windows = by_experiment(i.windows, lambda f: Path(f).stem.removesuffix("_windows"))
history = by_experiment(i.history, lambda f: Path(f).parent.name)
per_seed = pd.concat(by_experiment(i.per_seed, lambda f: Path(f).stem.removesuffix("_per_seed")).values())
spectra = pd.concat([read_table(f).assign(experiment=Path(f).parent.name) for f in i.spectra])
fits = read_table(i.fits)

rows = []
for name in sorted(collected):  # the row order does not depend on the config's order either
    rows += sc.experiment_rows(name, p.experiments[name], fits, windows[name], collected[name], selection[name],
                               history[name], spectra[spectra.experiment == name], theory[name], p.tolerances)
relu, tanh = p.appendix_b["relu"], p.appendix_b["tanh"]
rows += sc.relu_vs_tanh_rows(relu, tanh, per_seed, collected, spectra, p.experiments[relu]["fit"], p.tolerances,
                             p.confidence)
rows += sc.appendix_a_rows(read_table(i.appendix_a))
table = claims_table(rows)
# the real-image claims (section 2, appendix C), computed by the image_scorecard rule
table = pd.concat([table] + [read_table(f) for f in i.get("images", [])], ignore_index=True)
table.to_csv(snakemake.output.csv, index=False)
with pd.option_context("display.max_colwidth", 60, "display.width", 250):
    print(table.drop(columns=["criterion"]).to_string(index=False))
print()
print(table.verdict.value_counts().to_string())
