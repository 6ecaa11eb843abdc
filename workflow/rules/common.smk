import sys

from spatialpool.config import format_problems, problems

# Check the whole config before any DAG is built: a bad value stops here, naming its key.
_found = problems(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
if _found:
    sys.exit(format_problems(_found))

SD = "results/scale_detection"
FIGURES = "results/figures"
TABLES = "results/tables"
EXPERIMENTS = list(config["experiments"])
FORMATS = config["plots"]["formats"]
# For --sdm conda; the path is relative to the rule files.
CONDA_ENV = "../../envs/spatialpool.yaml"


wildcard_constraints:
    experiment="|".join(EXPERIMENTS),
    task="|".join(config["tasks"]),
    seed=r"\d+",


def canonical(value):
    """Dicts with sorted keys, recursively: Snakemake compares params by their printed form, so
    reordering keys in a config file must not look like a change."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def experiment(wildcards):
    return config["experiments"][wildcards.experiment]


def task_of(wildcards):
    return canonical(config["tasks"][experiment(wildcards)["task"]])


def seeds_of(name):
    return config["experiments"][name]["seeds"]


def per_seed(pattern):
    """Input function: pattern expanded over the seeds of the wildcards' experiment."""
    return lambda w: expand(pattern, experiment=w.experiment, seed=seeds_of(w.experiment))


def figure(name, caption, category, subcategory=None):
    # The report shows the PNG; other formats are plain outputs beside it.
    as_report = lambda path: report(path, caption=f"../report/{caption}", category=category,
                                    subcategory=subcategory)
    return [as_report(f"{FIGURES}/{name}.{fmt}") if fmt == "png" else f"{FIGURES}/{name}.{fmt}"
            for fmt in FORMATS]


def plot_params():
    return canonical(dict(dpi=config["plots"]["dpi"], context=config["plots"].get("context", "paper")))


def all_outputs():
    out = [f"{TABLES}/scorecard.csv", f"{TABLES}/table_C2_C3.csv", f"{TABLES}/fits.csv"]
    for fig in ("fig7", "figB1", "figB2", "fig_appendix_A", "fig_receptive_field", "fig_training"):
        out += expand(f"{FIGURES}/{fig}.{{fmt}}", fmt=FORMATS)
    return out + image_outputs()  # the real-image half (image_plots.smk); empty without `images:`
