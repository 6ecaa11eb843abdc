import sys
from pathlib import Path

from spatialpool import image_scorecard as sc
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

i, p = snakemake.input, snakemake.params


def by_group(paths, name_of=lambda f: Path(f).parent.name):
    """Group -> table, each name taken from its own file's path (never from a list's order)."""
    return {name_of(f): read_table(f) for f in paths}


layers, aggregates = by_group(i.layers), by_group(i.aggregates)
spectra = by_group(i.get("spectra", []))  # without it the filter claim is 'not tested'
correlations = by_group(i.correlations, lambda f: Path(f).stem.removeprefix("correlations_"))
rows = []
for group in sorted(layers):
    detection = p.kinds[group] == "scale_detection_2d"
    rows += sc.depth_rows(group, "3 (fig. C2)" if detection else "2 (figs 3, C4)", layers[group], p.tolerances,
                          scale_detection=detection)
    rows += sc.spectra_rows(group, "3 (figs 4, C5, C7)" if detection else "2 (figs 4, C5, C7)", aggregates[group],
                            p.tolerances, spectra=spectra.get(group))
    rows += sc.correlation_rows(group, "3 (fig. C1)" if detection else "1, 2 (figs 1, C3)", correlations[group],
                                p.tolerances)
if i.imagenet:
    imagenet = {Path(f).stem: read_table(f) for f in i.imagenet}  # layers, aggregates, spectra
    rows += sc.imagenet_rows(imagenet["layers"], imagenet["aggregates"], p.tolerances, imagenet.get("spectra"))
table = sc.table(rows)
table.to_csv(snakemake.output[0], index=False)
print(table[["section", "claim", "experiment", "measured", "n", "control_measured", "verdict"]].to_string(index=False))
print(f"\n{table.passed.sum()} of {len(table)} real-image claims reproduced; verdicts:")
print(table.verdict.value_counts().to_string())
