import hashlib
import json
import re
import sys

from snakemake.exceptions import WorkflowError
from snakemake.io import regex_from_filepattern

from spatialpool import image_workflow as IW
from spatialpool.config import PARTS, format_problems, keyed, model_measurement_files, problems
from spatialpool.data.kinds import kind as dataset_kind
from spatialpool.image_config import image_problems

# Every constant and input function of the rule files lives here; the rule files hold rules only.

# Check the whole config before any DAG is built: a bad value stops here, naming its key.
_found = problems(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
_found = _found or image_problems(config)
if _found:
    sys.exit(format_problems(_found))

# The config as the rules read it: grids (lists of named entries in the file) keyed by name,
# defaults filled in. `config` itself stays as written.
CFG = keyed(config)
RESULTS = CFG["results"]
LOGS = CFG["logs"]
SD = f"{RESULTS}/scale_detection"
FIGURES = f"{RESULTS}/figures"
TABLES = f"{RESULTS}/tables"
# One order wherever experiment names are paired with files: sorted, as canonical() orders the
# params (config order is not a property of the config).
# The paper's experiments; the swish experiment's trained nets (config key swish.trained, named
# <experiment>_swish<beta>) train and are measured by the same rules but stay out of the paper's
# tables, figures and scorecard.
EXPERIMENTS = sorted(e for e, spec in CFG["experiments"].items() if "swish" not in spec)
FORMATS = CFG["plots"]["formats"]
# For --sdm conda; the path is relative to the rule files.
CONDA_ENV = "../../envs/spatialpool.yaml"

# The real-image half (paper sec. 2-3, app. C; README, 'Real images'); all empty without `images:`.
IM = f"{RESULTS}/images"
IMAGES = CFG["images"]  # keyed by name; {} without an images section
# CIFAR-10's location is one top-level key, read into every cifar10 entry (a change of source
# changes the entry, so everything made from it reruns).
IMAGE_DATASETS = {
    name: {**spec, "source": CFG["cifar10_source"]} if spec["kind"] == "cifar10" else spec
    for name, spec in IMAGES.get("datasets", {}).items()
}
IMAGE_GROUPS = IMAGES.get("groups", {})
IMAGENET = IMAGES.get("imagenet")
# ImageNet cannot be downloaded by the workflow: without its validation folder the run leaves it out
# (as if images.imagenet were not set), says so on every invocation, and includes it once it is there.
if IMAGENET and not Path(IMAGENET["val_dir"]).is_dir():
    print(
        f"Note: images.imagenet.val_dir '{IMAGENET['val_dir']}' is not a folder here, so ImageNet is left out "
        "(its measurements, figure C6 and the ImageNet panels); put the ILSVRC2012 validation images there "
        "as <wnid>/*.JPEG to include it.",
        file=sys.stderr,
    )
    IMAGENET = None
# One order for every rule that pairs group names with files (as EXPERIMENTS).
IMAGE_GROUP_NAMES = sorted(IMAGE_GROUPS)
NET = "{group}/{arch}/noise{noise}/seed{seed}"  # one trained image net, in paths
IMAGE_FIGS = IMAGES.get("figures", {})
IMG_GROUP = IMAGE_FIGS.get("images")  # the group drawn where the paper shows CIFAR-10
SD_GROUP = IMAGE_FIGS.get("scale_detection")
# Appendix C's figures (figC6 shows ImageNet models: only with images.imagenet)
# Groups whose nets record their training trajectory (train.trajectory_epochs): fig_trajectory
TRAJECTORY_GROUPS = (
    sorted(
        {
            n["group"]
            for n in IW.grid(IMAGES)
            if IW.train_params(IMAGES, n["group"], n["arch"], n["noise"])["trajectory_epochs"]
        }
    )
    if IMAGES
    else []
)
IMAGE_APPENDIX_C_FIGURES = (
    (["figC1", "figC2"] if SD_GROUP else [])
    + (["figC3", "figC4"] if IMG_GROUP else [])
    + ["figC5", "figC7", "fig_image_training"]
    + (["figC6"] if IMAGENET else [])
)


def _alternatives(names):
    return "|".join(sorted(names, key=len, reverse=True)) or "__none__"


wildcard_constraints:
    experiment="|".join(re.escape(e) for e in sorted(CFG["experiments"], key=len, reverse=True)),
    task="|".join(CFG["tasks"]),
    seed=r"\d+",
    block=r"\d+(-\d+)*",
    dataset=_alternatives(IMAGE_DATASETS),
    group=_alternatives(IMAGE_GROUPS),
    arch=_alternatives({a for g in IMAGE_GROUPS.values() for a in g["archs"]}),
    noise=r"[0-9][0-9.e+-]*",
    model=_alternatives(IMAGENET["models"] if IMAGENET else []),
    part="|".join(PARTS),


def canonical(value):
    """Dicts with sorted keys, recursively: Snakemake compares params by their printed form, so
    reordering keys in a config file must not look like a change."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def experiment(wildcards):
    return CFG["experiments"][wildcards.experiment]


def task_of(wildcards):
    return canonical(CFG["tasks"][experiment(wildcards)["task"]])


def seeds_of(name):
    return CFG["experiments"][name]["seeds"]


def block_name(seeds):
    """The block of these seeds in paths: its seeds, sorted, joined by '-' (block0-1-2-3.pt)."""
    return "-".join(str(s) for s in sorted(seeds))


_BLOCKS = {}


def seed_blocks(name):
    """An experiment's training jobs: block name -> its seeds (README, 'Training jobs').

    A block trains its seeds stacked in one job. A block already on disk keeps its seeds, so
    adding seeds to an experiment makes new blocks of only the new seeds and leaves finished ones
    alone; the seeds no block holds yet are cut, in config order, into blocks of `block_size`.
    A seed's result does not depend on its block mates (tests/test_stacked.py), so a fresh run
    and a grown one give the same tables. An on-disk block of seeds that are no longer configured
    is not used; one that still holds some is, and retrains all of its seeds if its settings change.
    Computed once per run: the blocks a run plans are the blocks it makes."""
    if name in _BLOCKS:
        return _BLOCKS[name]
    seeds = seeds_of(name)
    on_disk = []
    for path in Path(f"{SD}/train/{name}").glob("block*.pt"):
        m = re.fullmatch(r"block(\d+(?:-\d+)*)\.pt", path.name)
        if m:
            on_disk.append(sorted(int(s) for s in m[1].split("-")))
    blocks, covered = {}, set()
    for members in sorted(on_disk, key=lambda m: (-len(set(m) & set(seeds)), m)):
        live = set(members) & set(seeds)
        if live and not live & covered:
            blocks[block_name(members)] = members
            covered |= live
    rest = [s for s in seeds if s not in covered]
    size = CFG["block_size"]
    for i in range(0, len(rest), size):
        blocks[block_name(rest[i : i + size])] = sorted(rest[i : i + size])
    _BLOCKS[name] = blocks
    return blocks


def block_seeds(name, block):
    """The configured seeds of one training block: what its measurement jobs measure (a block on
    disk may also hold seeds no longer configured, which no table shows)."""
    return sorted(set(seed_blocks(name)[block]) & set(seeds_of(name)))


def per_block(pattern, names=None):
    """Input function (names None: the wildcards' experiment) or list (the named experiments):
    pattern expanded over every training block of each experiment. The 1D measurement jobs are
    one per block, as training is: one process measures every seed of its block, so a run pays
    each job's start-up (about 2-3 CPU-seconds of imports) once per block instead of per seed."""
    if names is None:
        return lambda w: expand(pattern, experiment=w.experiment, block=list(seed_blocks(w.experiment)))
    return [f for e in names for f in expand(pattern, experiment=e, block=list(seed_blocks(e)))]


def figure(name, caption, category, subcategory=None):
    # The report shows the PNG; other formats are plain outputs beside it.
    as_report = lambda path: report(path, caption=f"../report/{caption}", category=category, subcategory=subcategory)
    return [as_report(f"{FIGURES}/{name}.{fmt}") if fmt == "png" else f"{FIGURES}/{name}.{fmt}" for fmt in FORMATS]


def plot_params():
    return canonical(dict(dpi=CFG["plots"]["dpi"], context=CFG["plots"].get("context", "paper")))


def collected(names):
    return [f"{SD}/collected/{e}.csv" for e in names]


# ---------------------------------------------------------------- real images: paths and grids


def image_dataset_file(name):
    ext = "pt" if dataset_kind(IMAGE_DATASETS[name]["kind"]).generated else "npz"
    return f"{IM}/data/{name}.{ext}"


def group_dataset(w):
    return IMAGE_GROUPS[w.group]["dataset"]


def image_nets(groups=None):
    """Wildcard dicts of every trained net (of the given groups; all groups when None)."""
    if not IMAGES or groups == []:
        return []
    return IW.grid(IMAGES, groups)


def trajectory_nets(groups=None):
    """Nets whose training records a trajectory (train.trajectory_epochs): measured along training."""
    return [
        n for n in image_nets(groups) if IW.train_params(IMAGES, n["group"], n["arch"], n["noise"])["trajectory_epochs"]
    ]


def trajectory_groups(groups=None):
    return sorted({n["group"] for n in trajectory_nets(groups)})


def per_net(pattern, group=None):
    """Paths of pattern for every net of a group (the wildcards' group when group is None)."""
    if group is None:
        return lambda w: [pattern.format(**n) for n in image_nets([w.group])]
    return [pattern.format(**n) for n in image_nets([group])]


def _measure_settings():
    return canonical(
        dict(shuffles=IMAGES["shuffles"], batch_size=IMAGES["probe"]["batch_size"], dtype=IMAGES["probe"]["dtype"])
    )


def imagenet_collected():
    return {k: f"{IM}/collected/imagenet/{k}.csv" for k in ("layers", "aggregates", "spectra")} if IMAGENET else {}


def collected_file(group, kind):
    """A group's collected table, or no file for a figure panel whose group is not configured
    (images.figures.images / scale_detection null): the panel then says so."""
    return [f"{IM}/collected/{group}/{kind}.csv"] if group else []


def imagenet_file(kind):
    return [f"{IM}/collected/imagenet/{kind}.csv"] if IMAGENET else []


def image_plot_params(**extra):
    return canonical(dict(plot=plot_params(), **extra))


# ---------------------------------------------------------------- provenance
# Every downstream rule carries `upstream=upstream(<what its inputs were computed from>)` in params.
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
    task = CFG["experiments"][name]["task"]
    return dict(task=CFG["tasks"][task], probe={k: CFG["probe"][k] for k in ("size", "draws", "seed")})


def trained(name):
    """An experiment's weights, history and summary: its task and every setting of the experiment
    but the fit windows, which only fit_exponents reads (read by the train job: net, activation, train, seeds)."""
    e = CFG["experiments"][name]
    return dict(task=CFG["tasks"][e["task"]], experiment={k: v for k, v in e.items() if k != "fit"})


def block_trained(name):
    """One block's weights (from the train rule), as trained() but without the seed list, which a
    block's result does not depend on (its seeds are in its input's path, and the seeds its
    measurement jobs measure are their own params)."""
    out = trained(name)
    out["experiment"] = {k: v for k, v in out["experiment"].items() if k != "seeds"}
    return out


def block_measured(name):
    """One block's tables (sensitivity, receptive field, filters): measured() but the seed list."""
    return dict(trained=block_trained(name), probed=probed(name), probe=CFG["probe"])


def measured(name):
    """An experiment's per-seed tables, theory curves and collected table (probe.batch_size too)."""
    return dict(trained=trained(name), probed=probed(name), probe=CFG["probe"])


def fitted(name):
    """An experiment's fits: the collected table, the fit windows and the fit and verdict settings."""
    return dict(
        measured=measured(name), fit=CFG["experiments"][name]["fit"], fits=CFG["fits"], scorecard=CFG["scorecard"]
    )


def image_trained(group, arch, noise):
    """A net's result, curves and summary (rule image_train); its seed is in its path."""
    return dict(
        dataset=IMAGE_DATASETS[IMAGE_GROUPS[group]["dataset"]],
        width_factor=IW.arch_spec(IMAGES, group, arch)["width_factor"],
        train=IW.train_params(IMAGES, group, arch, noise),
    )


def image_measured(group, nets=None):
    """Measurements of a group's nets (all of them by default): their training, the probe set, the
    measurement settings."""
    nets = image_nets([group]) if nets is None else nets
    return dict(
        nets={NET.format(**n): image_trained(n["group"], n["arch"], n["noise"]) for n in nets},
        dataset=IMAGE_DATASETS[IMAGE_GROUPS[group]["dataset"]],
        probe=IMAGES["probe"],
        shuffles=IMAGES["shuffles"],
    )


def imagenet_measured():
    """The ImageNet tables: the imagenet_measure settings."""
    return dict(imagenet=IMAGENET, shuffles=IMAGES["shuffles"]) if IMAGENET else None


def image_lineage(groups=None, imagenet=True):
    """Tables and figures of the given groups (all by default): their nets' measurements, the
    correlation settings, and the ImageNet measurements where they are read."""
    groups = IMAGE_GROUP_NAMES if groups is None else [g for g in groups if g]
    return dict(
        groups={g: image_measured(g) for g in groups},
        correlations=IMAGES.get("correlations", {}),
        imagenet=imagenet_measured() if imagenet else None,
    )


def intermediates(names):
    """Every file between the config and the tables and figures of the given experiments. The
    targets ask for them so that a missing one (deleted, or removed with a failed or killed job)
    is rebuilt, and every job computed from it reruns; Snakemake otherwise accepts a missing
    intermediate whose consumers look up to date."""
    tasks = sorted({CFG["experiments"][e]["task"] for e in names})
    out = expand(list(rules.dataset.output) + list(rules.probe_set.output), task=tasks)
    for e in names:
        for block in seed_blocks(e):
            out += expand(list(rules.train.output), experiment=e, block=block)
        for step in (
            rules.collect_training,
            rules.select_checkpoints,
            rules.theory_curves,
            rules.collect_experiment,
            rules.fit_exponents,
        ):
            out += expand(list(step.output), experiment=e)
        for step in (rules.sensitivity, rules.receptive_field, rules.filters):
            out += expand(list(step.output), experiment=e, block=list(seed_blocks(e)))
    return sorted(out)


def image_intermediates(groups, imagenet=False):
    """Every file between the config and the tables of the given groups (and of the ImageNet
    models), see intermediates() in common.smk."""
    datasets = sorted({IMAGE_GROUPS[g]["dataset"] for g in groups})
    out = [image_dataset_file(d) for d in datasets] + expand(list(rules.image_probe.output), dataset=datasets)
    per_net_outputs = list(rules.image_train.output) + list(rules.image_measure.output)
    out += [p.format(**n) for n in image_nets(groups) for p in per_net_outputs]
    out += expand(list(rules.image_collect.output), group=groups)
    out += [rules.image_trajectory.output[0].format(**n) for n in trajectory_nets(groups)]
    out += expand(list(rules.trajectory_collect.output), group=trajectory_groups(groups))
    if IMAGENET and imagenet:
        out += expand(list(rules.imagenet_measure.output), model=IMAGENET["models"])
        out += list(rules.imagenet_collect.output)
    return out


# ---------------------------------------------------------------- parts of the paper
# Each part is a target of its own (`snakemake section4`) with its figures, tables and scorecard
# card; the default target builds the parts of the config key `parts` that the config can build.


def _natural_groups():
    return [
        g
        for g, s in CFG["images"].get("groups", {}).items()
        if dataset_kind(CFG["images"]["datasets"][s["dataset"]]["kind"]).task == "images"
    ]


def _scale_detection_groups():
    return [
        g
        for g, s in CFG["images"].get("groups", {}).items()
        if dataset_kind(CFG["images"]["datasets"][s["dataset"]]["kind"]).task == "scale_detection"
    ]


B_PAIR = [CFG["figures"]["appendix_b"][a] for a in ("relu", "tanh")]
# Figure 7 draws the listed experiments that the config has (all of them if it has none of those).
FIG7 = [e for e in CFG["figures"]["fig7"] if e in CFG["experiments"]] or EXPERIMENTS
# A reference left behind by a --configfile that replaces the experiment grid is not an error, but
# neither must a misspelt name vanish unnoticed: say which names were dropped.
_FIG7_DROPPED = [e for e in CFG["figures"]["fig7"] if e not in CFG["experiments"]]
if _FIG7_DROPPED:
    print(
        f"Note: figures.fig7 names experiments this config does not have ({', '.join(_FIG7_DROPPED)}); "
        f"figure 7 shows {', '.join(FIG7)}.",
        file=sys.stderr,
    )


def unavailable(part):
    """Why the config cannot build a part (None if it can)."""
    if part in ("section2", "section3") and not CFG["images"]:
        return "the config has no images section"
    if part == "appendix_b" and not set(B_PAIR) <= set(EXPERIMENTS):
        return f"figures.appendix_b names experiments the config does not have ({', '.join(sorted(set(B_PAIR) - set(EXPERIMENTS)))})"
    return None


WANTED_PARTS = [p for p in CFG["parts"] if unavailable(p) is None]
for _part in CFG["parts"]:
    if unavailable(_part):
        print(f"Part {_part} is left out of the default target: {unavailable(_part)}.", file=sys.stderr)


def part_experiments(part):
    """The 1D experiments whose claims belong to a part (sorted: see EXPERIMENTS)."""
    if part == "section4":
        return EXPERIMENTS
    if part == "appendix_b":  # the ReLU/tanh pair, and every tanh experiment's own appendix-B rows
        return sorted(set(B_PAIR) | {e for e in EXPERIMENTS if CFG["experiments"][e]["activation"] == "tanh"})
    if part == "appendix_c":  # the mean-filter rows of every ReLU experiment, and Tables C2, C3
        return sorted({e for e in EXPERIMENTS if CFG["experiments"][e]["activation"] == "relu"} | set(FIG7))
    return []


def part_groups(part):
    """The image groups of a part (sorted)."""
    if part == "section2":
        return sorted(_natural_groups())
    if part == "section3":
        return sorted(_scale_detection_groups())
    if part == "appendix_c":
        return sorted(CFG["images"].get("groups", {}))
    return []


def part_lineage(part):
    """Everything a part's scorecard card is computed from."""
    groups = part_groups(part) if part in ("section2", "section3") else []
    return dict(
        experiments={e: fitted(e) for e in part_experiments(part)},
        scorecard=CFG["scorecard"],
        appendix_a=CFG["appendix_a"] if part == "appendix_a" else None,
        appendix_b=CFG["figures"]["appendix_b"] if part == "appendix_b" else None,
        images=(
            dict(tables=image_lineage(groups, imagenet=part == "section2"), scorecard=IMAGES.get("scorecard", {}))
            if groups
            else None
        ),
    )


def figures(*names):
    return [f"{FIGURES}/{n}.{fmt}" for n in names for fmt in FORMATS]


def part_outputs(part):
    """A part's tables, figures and scorecard card, with every intermediate they are computed from."""
    if unavailable(part):
        raise WorkflowError(f"Part {part} cannot be built with this config: {unavailable(part)}.")
    out = [f"{TABLES}/scorecard_{part}.csv"] + intermediates(part_experiments(part))
    if part == "section4":
        out += [f"{TABLES}/fits.csv"] + figures("fig7", "fig_windows", "fig_receptive_field", "fig_training")
    elif part == "appendix_a":
        out += list(rules.diffusion.output) + figures("fig_appendix_A")
    elif part == "appendix_b":
        out += figures("figB1", "figB2")
    elif part == "appendix_c":
        out += [f"{TABLES}/table_C2_C3.csv"]
        if IMAGES:
            out += [f"{TABLES}/table_C1.csv"] + figures(*IMAGE_APPENDIX_C_FIGURES)
    elif part == "section2":
        out += figures("fig1", "fig3", "fig4") + (figures("fig_trajectory") if TRAJECTORY_GROUPS else [])
    elif part == "section3":
        out += figures("fig4")
    groups = part_groups(part)
    out += [f"{TABLES}/correlations_{g}.csv" for g in groups if part != "appendix_c"]
    return sorted(set(out + image_intermediates(groups, imagenet=part in ("section2", "appendix_c"))))


# Your own models (config key model_measurements), keyed by entry name.
MODEL_MEASUREMENTS = {e["name"]: {k: v for k, v in e.items() if k != "name"} for e in CFG["model_measurements"]}


def model_measurement_inputs(wildcards):
    """The local files an entry reads (data, checkpoints, weights files): a missing one stops the run
    before any job, one the workflow makes (a checkpoint under results/) is made first, and a
    changed one reruns the entry."""
    return model_measurement_files(MODEL_MEASUREMENTS[wildcards.entry])


def model_measurement_lineage(name):
    """The training settings of the workflow's own nets an entry measures (checkpoint:PATH under
    the image training's outputs), by path: a retrained net reruns the entry."""
    nets = {}
    produced = regex_from_filepattern(f"{IM}/train/{NET}.pt")  # rule image_train's output
    for spec in MODEL_MEASUREMENTS[name]["models"]:
        kind, _, path = spec.partition(":")
        m = re.match(produced, path) if kind == "checkpoint" else None
        if m and m["group"] in IMAGE_GROUPS and m["arch"] in IMAGE_GROUPS[m["group"]]["archs"]:
            nets[path] = image_trained(m["group"], m["arch"], m["noise"])
    return nets


def model_measurement_outputs():
    return [
        f"{RESULTS}/model_measurements/{e}/{f}"
        for e in sorted(MODEL_MEASUREMENTS)
        for f in ("layers.csv", "outputs.csv", "sensitivities.png")
    ]


# The swish experiment (beyond the paper; config key swish): built when its experiment is in the config.
SWISH = CFG.get("swish") if CFG.get("swish") and CFG["swish"]["experiment"] in CFG["experiments"] else None
if CFG.get("swish") and not SWISH:
    print(
        f"Note: swish.experiment '{CFG['swish']['experiment']}' is not an experiment of this config; "
        "the swish experiment is left out (set swish: null to silence this).",
        file=sys.stderr,
    )
# Its trained nets: one experiment per beta (sorted by beta), and the ReLU nets they are compared with.
SWISH_TRAINED = sorted(
    (e for e, s in CFG["experiments"].items() if "swish" in s), key=lambda e: CFG["experiments"][e]["swish"]
)
SWISH_NETS = (SWISH_TRAINED + [SWISH["experiment"]]) if SWISH and SWISH_TRAINED else []


def swish_sweeps(suffix=""):
    return per_block(f"{RESULTS}/swish/trained/{{experiment}}/block{{block}}{suffix}.csv", SWISH_NETS)


def swish_outputs():
    """In the default target with section 4, whose 1D nets it extends (target swish: always)."""
    if not SWISH or "section4" not in WANTED_PARTS:
        return []
    trained = (
        [f"{TABLES}/swish_trained_{k}.csv" for k in ("exponents", "summary", "crossovers", "accuracy")]
        + [f"{TABLES}/scorecard_swish.csv"]
        if SWISH_TRAINED
        else []
    )
    return [f"{TABLES}/swish_theory.csv", f"{TABLES}/swish_crossovers.csv"] + trained + figures("fig_swish")


def swish_card():
    """The swish experiment's scorecard card, merged into the scorecard when the default target builds it."""
    return [f"{TABLES}/scorecard_swish.csv"] if SWISH_TRAINED and SWISH and "section4" in WANTED_PARTS else []


def swish_lineage():
    """Everything the swish experiment's tables are computed from: the theory's settings and probe
    set, and every trained net's training and probe set."""
    return dict(
        probed=probed(SWISH["experiment"]),
        swish=SWISH,
        trained={e: block_measured(e) for e in SWISH_NETS},
        seeds={e: seeds_of(e) for e in SWISH_NETS},
        scorecard=CFG["scorecard"],
        confidence=CFG["fits"]["confidence"],
    )


def all_outputs():
    out = [f"{TABLES}/scorecard.csv", f"{TABLES}/referee_summary.html"] + model_measurement_outputs() + swish_outputs()
    return sorted(set(out + [f for part in WANTED_PARTS for f in part_outputs(part)]))


def scorecard_inputs(part):
    """The tables a part's claims are computed from (common.smk says which experiments and groups)."""
    names = part_experiments(part)
    groups = part_groups(part) if part in ("section2", "section3") else []
    return dict(
        fits=expand(f"{SD}/fits/{{experiment}}.csv", experiment=names),
        collected=collected(names),
        selection=expand(f"{SD}/selection/{{experiment}}.csv", experiment=names),
        theory=expand(f"{SD}/theory/{{experiment}}.csv", experiment=names),
        windows=expand(f"{SD}/fits/{{experiment}}_windows.csv", experiment=names),
        per_seed=expand(f"{SD}/fits/{{experiment}}_per_seed.csv", experiment=names),
        history=expand(f"{SD}/train/{{experiment}}/history.csv", experiment=names),
        spectra=per_block(f"{SD}/filters/{{experiment}}/block{{block}}_spectra.csv", names),
        appendix_a=[rules.diffusion.output.table] if part == "appendix_a" else [],
        layers=expand(f"{IM}/collected/{{group}}/layers.csv", group=groups),
        aggregates=expand(f"{IM}/collected/{{group}}/aggregates.csv", group=groups),
        image_spectra=expand(f"{IM}/collected/{{group}}/spectra.csv", group=groups),
        correlations=expand(f"{TABLES}/correlations_{{group}}.csv", group=groups),
        trajectory=expand(
            f"{TABLES}/trajectory_{{group}}.csv",
            group=trajectory_groups(groups) if part == "section2" else [],
        ),
        imagenet=list(imagenet_collected().values()) if part == "section2" else [],
    )
