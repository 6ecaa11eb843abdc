"""One part's scorecard card (rule scorecard_part): the claims of that part of the paper."""
import sys
from pathlib import Path

import pandas as pd

from spatialpool.claims import images as isc
from spatialpool.claims import scale_detection as sc
from spatialpool.claims.statistics import part_of, table
from spatialpool.data.kinds import kind as dataset_kind
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

i, p = snakemake.input, snakemake.params


def by_name(paths, name_of=lambda f: Path(f).stem):
    """Name -> table, each name taken from its own file's path (never from a list's order)."""
    return {name_of(f): read_table(f) for f in paths}


rows = []
# 1D model tasks (sections 4, B, C)
collected = by_name(i.collected)
if collected:
    fits = pd.concat(by_name(i.fits).values(), ignore_index=True)
    selection, theory = by_name(i.selection), by_name(i.theory)
    windows = by_name(i.windows, lambda f: Path(f).stem.removesuffix("_windows"))
    history = by_name(i.history, lambda f: Path(f).parent.name)
    per_seed = pd.concat(by_name(i.per_seed, lambda f: Path(f).stem.removesuffix("_per_seed")).values())
    spectra = pd.concat([read_table(f).assign(experiment=Path(f).parent.name) for f in i.spectra])
    for name in sorted(collected):  # the row order does not depend on the config's order either
        rows += sc.experiment_rows(name, p.experiments[name], fits, windows[name], collected[name], selection[name],
                                   history[name], spectra[spectra.experiment == name], theory[name], p.tolerances)
    if p.part == "appendix_b":
        relu, tanh = p.appendix_b["relu"], p.appendix_b["tanh"]
        rows += sc.relu_vs_tanh_rows(relu, tanh, per_seed, collected, spectra, p.experiments[relu]["fit"],
                                     p.tolerances, p.confidence)
if i.appendix_a:
    rows += sc.appendix_a_rows(read_table(i.appendix_a[0]))
# real images (sections 2, 3)
layers, aggregates = by_name(i.layers, lambda f: Path(f).parent.name), by_name(i.aggregates, lambda f: Path(f).parent.name)
image_spectra = by_name(i.image_spectra, lambda f: Path(f).parent.name)
correlations = by_name(i.correlations, lambda f: Path(f).stem.removeprefix("correlations_"))
for group in sorted(layers):
    detection = dataset_kind(p.kinds[group]).task == "scale_detection"
    rows += isc.depth_rows(group, "3 (fig. C2)" if detection else "2 (figs 3, C4)", layers[group],
                           p.image_tolerances, scale_detection=detection)
    rows += isc.spectra_rows(group, "3 (figs 4, C5, C7)" if detection else "2 (figs 4, C5, C7)", aggregates[group],
                             p.image_tolerances, spectra=image_spectra.get(group))
    rows += isc.correlation_rows(group, "3 (fig. C1)" if detection else "1, 2 (figs 1, C3)", correlations[group],
                                 p.image_tolerances)
for group, summary in sorted(by_name(i.trajectory, lambda f: Path(f).stem.removeprefix("trajectory_")).items()):
    rows += isc.trajectory_rows(group, "2 (training trajectory)", summary, p.image_tolerances)
if i.imagenet:
    imagenet = {Path(f).stem: read_table(f) for f in i.imagenet}  # layers, aggregates, spectra
    rows += isc.imagenet_rows(imagenet["layers"], imagenet["aggregates"], p.image_tolerances, imagenet.get("spectra"))

card = table(rows)
# the data each row was computed from, as results must name it (a JPEG copy of CIFAR-10 is not CIFAR-10)
labels = {g: ", ".join(dict.fromkeys(t["data"].astype(str))) for g, t in layers.items() if "data" in t and len(t)}
labels["imagenet"] = "ImageNet"
card.insert(3, "data", [labels.get(str(e).split("/")[0].split(",")[0], "1D scale detection" if collected else "")
                        for e in card.experiment])
card = card[card.section.map(part_of) == p.part].reset_index(drop=True)  # e.g. section 4's rows of a tanh net
card.to_csv(snakemake.output[0], index=False)
with pd.option_context("display.max_colwidth", 60, "display.width", 250):
    print(card.drop(columns=["criterion"]).to_string(index=False))
print(f"\n{p.part}: {len(card)} claims")
print(card.verdict.value_counts().to_string())
