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
include: "workflow/rules/appendix_a.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/image_measure.smk"
include: "workflow/rules/image_plots.smk"
include: "workflow/rules/scorecard.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
include: "workflow/rules/cluster.smk"
