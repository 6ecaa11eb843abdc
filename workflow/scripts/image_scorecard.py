import sys

import pandas as pd

from spatialpool import image_scorecard as sc

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

i, p = snakemake.input, snakemake.params
rows = []
for group, layers, aggregates, corr in zip(p.groups, i.layers, i.aggregates, i.correlations):
    natural = p.kinds[group] != "scale_detection_2d"
    layers, aggregates = pd.read_csv(layers), pd.read_csv(aggregates)
    rows += sc.depth_rows(group, "2 (figs 3, C4)" if natural else "3 (fig. C2)", layers, p.tolerances)
    rows += sc.spectra_rows(group, "2 (figs 4, C5, C7)" if natural else "3 (figs 4, C5, C7)", aggregates,
                            p.tolerances)
    rows += sc.correlation_rows(group, "1, 2 (figs 1, C3)" if natural else "3 (fig. C1)", pd.read_csv(corr))
if i.imagenet:
    layers, aggregates = (pd.read_csv(f) for f in i.imagenet)
    rows += sc.imagenet_rows(layers, aggregates, p.tolerances)
table = sc.table(rows)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
print(f"\n{table.passed.sum()} of {len(table)} real-image claims reproduced")
