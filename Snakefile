# Reproduction of Tomasini, Petrini, Cagnetta & Wyart (2023), "How deep convolutional neural
# networks lose spatial information with training". Data flows one way:
# data -> train -> measure -> fit -> plot -> scorecard. See README.md.
from pathlib import Path


configfile: Path(workflow.basedir) / "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/measure.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/diffusion.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/image_measure.smk"
include: "workflow/rules/image_plots.smk"
include: "workflow/rules/scorecard.smk"
include: "workflow/rules/model_measurements.smk"
include: "workflow/rules/swish.smk"


# The default target: the parts of the paper named by the config key `parts`, and the merged scorecard.
rule all:
    default_target: True
    input:
        all_outputs(),


# One target per part of the paper: `snakemake section4` builds its figures, tables and scorecard card.
for _part in PARTS:

    rule:
        name:
            _part
        input:
            lambda w, part=_part: part_outputs(part),


include: "workflow/rules/cluster.smk"
