import sys
from pathlib import Path

import pandas as pd

from spatialpool import scorecard as sc

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

i, p = snakemake.input, snakemake.params
fits = pd.read_csv(i.fits)
spectra = pd.concat([pd.read_csv(f).assign(experiment=Path(f).parent.name) for f in i.spectra])
rows = []
for name, f_col, f_sel, f_th in zip(p.experiments, i.collected, i.selection, i.theory):
    rows += sc.experiment_rows(name, p.experiments[name], fits, pd.read_csv(f_col), pd.read_csv(f_sel),
                               spectra[spectra.experiment == name], pd.read_csv(f_th), p.tolerances)
rows += sc.relu_vs_tanh_rows(p.appendix_b["relu"], p.appendix_b["tanh"], fits, spectra,
                             p.experiments[p.appendix_b["relu"]]["fit"], p.tolerances)
rows += sc.appendix_a_rows(pd.read_csv(i.appendix_a))
table = pd.DataFrame(rows)
# the real-image claims (section 2, appendix C), computed by the image_scorecard rule
table = pd.concat([table] + [pd.read_csv(f) for f in i.get("images", [])], ignore_index=True)
table.to_csv(snakemake.output.csv, index=False)
print(table.to_string(index=False))
print(f"\n{table.passed.sum()} of {len(table)} claims reproduced")
