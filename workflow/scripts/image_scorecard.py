import sys
from pathlib import Path

import pandas as pd

from spatialpool import image_scorecard as sc

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

i, p = snakemake.input, snakemake.params
# the filter claim needs the mode shares of spectra.csv; without that input its rows are 'not tested'
spectra_files = list(i.get("spectra", [])) or [None] * len(p.groups)
rows = []
for group, layers, aggregates, spectra, corr in zip(p.groups, i.layers, i.aggregates, spectra_files, i.correlations):
    detection = p.kinds[group] == "scale_detection_2d"
    layers, aggregates = pd.read_csv(layers), pd.read_csv(aggregates)
    spectra = pd.read_csv(spectra) if spectra else None
    rows += sc.depth_rows(group, "3 (fig. C2)" if detection else "2 (figs 3, C4)", layers, p.tolerances,
                          scale_detection=detection)
    rows += sc.spectra_rows(group, "3 (figs 4, C5, C7)" if detection else "2 (figs 4, C5, C7)", aggregates,
                            p.tolerances, spectra=spectra)
    rows += sc.correlation_rows(group, "3 (fig. C1)" if detection else "1, 2 (figs 1, C3)", pd.read_csv(corr),
                                p.tolerances)
if i.imagenet:
    imagenet = {Path(f).stem: pd.read_csv(f) for f in i.imagenet}  # layers, aggregates[, spectra]
    rows += sc.imagenet_rows(imagenet["layers"], imagenet["aggregates"], p.tolerances, imagenet.get("spectra"))
table = sc.table(rows)
table.to_csv(snakemake.output[0], index=False)
print(table[["section", "claim", "experiment", "measured", "n", "control_measured", "verdict"]].to_string(index=False))
print(f"\n{table.passed.sum()} of {len(table)} real-image claims reproduced; verdicts:")
print(table.verdict.value_counts().to_string())
