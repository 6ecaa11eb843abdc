import hashlib
import json
import sys

from spatialpool.config import format_problems, problems

# Check the whole config before any DAG is built: a bad value stops here, naming its key.
_found = problems(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
if _found:
    sys.exit(format_problems(_found))

SD = "results/scale_detection"
FIGURES = "results/figures"
TABLES = "results/tables"
# One order for every rule that pairs experiment names with files: sorted, as canonical() orders the
# params. Config order is not a property of the config (a --configfile override puts its keys first).
EXPERIMENTS = sorted(config["experiments"])
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


# ---------------------------------------------------------------- provenance
# Every downstream rule carries `params: upstream=upstream(<what its inputs were computed from>)`.
# A file's mtime ties it only to inputs that still exist: a job that fails or is killed leaves its
# output deleted, nothing downstream asks for it again, and Snakemake would keep results computed
# from the old settings. A changed digest makes the consumer rerun, and it then asks for the
# missing intermediate. Each lineage below is the settings of every rule above that product; it
# may say more than the rules read (a needless rerun of cheap jobs), never less (a stale result).


def upstream(settings):
    """A short digest of the canonical JSON of settings."""
    text = json.dumps(canonical(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def probed(name):
    """An experiment's probe set: its task and the probe draw (rule probe_set)."""
    task = config["experiments"][name]["task"]
    return dict(task=config["tasks"][task], probe={k: config["probe"][k] for k in ("size", "draws", "seed")})


def trained(name):
    """An experiment's weights, history and summary: its task and every setting of the experiment
    but the fit windows, which only fit_exponents reads (rule train: net, activation, train, seeds)."""
    e = config["experiments"][name]
    return dict(task=config["tasks"][e["task"]], experiment={k: v for k, v in e.items() if k != "fit"})


def measured(name):
    """An experiment's per-seed tables, theory curves and collected table (probe.batch_size too)."""
    return dict(trained=trained(name), probed=probed(name), probe=config["probe"])


def fitted(name):
    """An experiment's fits: the collected table, the fit windows and the fit and verdict settings."""
    return dict(measured=measured(name), fit=config["experiments"][name]["fit"], fits=config["fits"],
                scorecard=config["scorecard"])


def scorecard_lineage():
    """Everything the scorecard is computed from (its referee summary too)."""
    return dict(experiments={e: fitted(e) for e in EXPERIMENTS}, appendix_a=config["appendix_a"],
                appendix_b=config["figures"]["appendix_b"], scorecard=config["scorecard"],
                images=dict(tables=image_lineage(), scorecard=IMAGES.get("scorecard", {})) if IMAGES else None)


def intermediates():
    """Every file between the config and the tables and figures. The default target asks for them
    so that a missing one (deleted, or removed with a failed or killed job) is rebuilt, and every
    job computed from it reruns; Snakemake otherwise accepts a missing intermediate whose
    consumers look up to date."""
    tasks = sorted({config["experiments"][e]["task"] for e in EXPERIMENTS})
    out = expand(list(rules.dataset.output) + list(rules.probe_set.output), task=tasks)
    for e in EXPERIMENTS:
        for rule in (rules.train, rules.select_checkpoints, rules.theory_curves, rules.collect_experiment,
                     rules.fit_exponents):
            out += expand(list(rule.output), experiment=e)
        for rule in (rules.sensitivity, rules.receptive_field, rules.filters):
            out += expand(list(rule.output), experiment=e, seed=seeds_of(e))
    return sorted(out)


def all_outputs():
    out = [f"{TABLES}/scorecard.csv", f"{TABLES}/referee_summary.html", f"{TABLES}/table_C2_C3.csv",
           f"{TABLES}/fits.csv"]
    for fig in ("fig7", "fig_windows", "figB1", "figB2", "fig_appendix_A", "fig_receptive_field", "fig_training"):
        out += expand(f"{FIGURES}/{fig}.{{fmt}}", fmt=FORMATS)
    # the real-image half (image_plots.smk); empty without `images:`
    return out + intermediates() + image_outputs()
