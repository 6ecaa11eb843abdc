# The real-image half (paper sec. 2-3, app. C; README, 'Real images'): data sets, probe sets and one
# training job per (group, architecture, noise level, seed). Measurements: image_measure.smk;
# figures: image_plots.smk. Without an `images:` section in the config none of this runs.
from spatialpool import image_workflow as IW
from spatialpool.image_config import image_problems

_image_found = image_problems(config)
if _image_found:
    sys.exit(format_problems(_image_found))

IM = "results/images"
IMAGES = IW.normalise(config.get("images"))
IMAGE_DATASETS = IMAGES.get("datasets", {})
IMAGE_GROUPS = IMAGES.get("groups", {})
IMAGENET = IMAGES.get("imagenet")
# One order for every rule that pairs group names with files (as EXPERIMENTS, common.smk).
IMAGE_GROUP_NAMES = sorted(IMAGE_GROUPS)


def _alternatives(names):
    return "|".join(sorted(names, key=len, reverse=True)) or "__none__"


wildcard_constraints:
    dataset=_alternatives(IMAGE_DATASETS),
    group=_alternatives(IMAGE_GROUPS),
    arch=_alternatives({a for g in IMAGE_GROUPS.values() for a in g["archs"]}),
    noise=r"[0-9][0-9.e+-]*",
    model=_alternatives(IMAGENET["models"] if IMAGENET else []),


def image_dataset_file(name):
    ext = "npz" if IMAGE_DATASETS[name]["kind"] == "cifar10" else "pt"
    return f"{IM}/data/{name}.{ext}"


def group_dataset(w):
    return IMAGE_GROUPS[w.group]["dataset"]


def image_nets(groups=None):
    """Wildcard dicts of every trained net (of the given groups)."""
    return IW.grid(IMAGES, groups) if IMAGES else []


def per_net(pattern, group=None):
    """Paths of pattern for every net of a group (the wildcards' group when group is None)."""
    if group is None:
        return lambda w: [pattern.format(**n) for n in image_nets([w.group])]
    return [pattern.format(**n) for n in image_nets([group])]


NET = "{group}/{arch}/noise{noise}/seed{seed}"


# Provenance of the real-image results (see upstream() in common.smk): what each was computed from.


def image_trained(group, arch, noise):
    """A net's result, curves and summary (rule image_train); its seed is in its path."""
    return dict(dataset=IMAGE_DATASETS[IMAGE_GROUPS[group]["dataset"]],
                width_factor=IW.arch_spec(IMAGES, group, arch)["width_factor"],
                train=IW.train_params(IMAGES, group, arch, noise))


def image_measured(group, nets=None):
    """Measurements of a group's nets (all of them by default): their training, the probe set, the
    measurement settings."""
    nets = image_nets([group]) if nets is None else nets
    return dict(nets={NET.format(**n): image_trained(n["group"], n["arch"], n["noise"]) for n in nets},
                dataset=IMAGE_DATASETS[IMAGE_GROUPS[group]["dataset"]], probe=IMAGES["probe"],
                shuffles=IMAGES["shuffles"])


def imagenet_measured():
    """The ImageNet tables: the imagenet_measure settings."""
    return dict(imagenet=IMAGENET, shuffles=IMAGES["shuffles"]) if IMAGENET else None


def image_lineage(groups=None, imagenet=True):
    """Tables and figures of the given groups (all by default): their nets' measurements, the
    correlation settings, and the ImageNet measurements where they are read."""
    groups = IMAGE_GROUP_NAMES if groups is None else groups
    return dict(groups={g: image_measured(g) for g in groups}, correlations=IMAGES.get("correlations", {}),
                imagenet=imagenet_measured() if imagenet else None)


def image_intermediates():
    """Every file of the real-image half between the config and its tables (see intermediates())."""
    datasets = sorted({IMAGE_GROUPS[g]["dataset"] for g in IMAGE_GROUP_NAMES})
    out = [image_dataset_file(d) for d in datasets] + expand(list(rules.image_probe.output), dataset=datasets)
    per_net_outputs = list(rules.image_train.output) + list(rules.image_measure.output)
    out += [p.format(**n) for n in image_nets() for p in per_net_outputs]
    out += expand(list(rules.image_collect.output), group=IMAGE_GROUP_NAMES)
    if IMAGENET:
        out += expand(list(rules.imagenet_measure.output), model=IMAGENET["models"])
        out += list(rules.imagenet_collect.output)
    return out


rule image_dataset:
    """Digits (offline CIFAR-10 stand-in) and 2D scale detection, generated from their config entry."""
    output:
        f"{IM}/data/{{dataset}}.pt",
    params:
        spec=lambda w: canonical(IMAGE_DATASETS[w.dataset]),
    conda:
        CONDA_ENV
    log:
        "logs/image_dataset/{dataset}.log",
    script:
        "../scripts/image_dataset.py"


rule cifar10_dataset:
    """CIFAR-10 into one compact .npz: download (md5-checked) into cache_dir, or read a user path.
    Paths are params, not inputs, so a dry run works on a machine without the data."""
    output:
        f"{IM}/data/{{dataset}}.npz",
    params:
        source=lambda w: IMAGE_DATASETS[w.dataset].get("source"),
        cache_dir=lambda w: IMAGE_DATASETS[w.dataset]["cache_dir"],
        download=lambda w: IMAGE_DATASETS[w.dataset].get("download", True),
    conda:
        CONDA_ENV
    log:
        "logs/cifar10_dataset/{dataset}.log",
    script:
        "../scripts/cifar10_dataset.py"


rule image_probe:
    """The probe set: a seeded draw from the test split and its perturbations."""
    input:
        lambda w: image_dataset_file(w.dataset),
    output:
        f"{IM}/probes/{{dataset}}.pt",
    params:
        spec=lambda w: canonical(IMAGE_DATASETS[w.dataset]),
        probe=lambda w: canonical({k: v for k, v in IMAGES["probe"].items() if k not in ("batch_size", "dtype")}),
    conda:
        CONDA_ENV
    log:
        "logs/image_probe/{dataset}.log",
    script:
        "../scripts/image_probe.py"


rule image_train:
    """One net: the authors' protocol for its architecture and task, with the config's overrides;
    initial, selected and final weights and the training curves are saved."""
    input:
        data=lambda w: image_dataset_file(group_dataset(w)),
    output:
        result=f"{IM}/train/{NET}.pt",
        history=f"{IM}/train/{NET}_history.csv",
        summary=f"{IM}/train/{NET}_summary.csv",
    params:
        spec=lambda w: canonical(IMAGE_DATASETS[group_dataset(w)]),
        width_factor=lambda w: IW.arch_spec(IMAGES, w.group, w.arch)["width_factor"],
        train=lambda w: canonical(IW.train_params(IMAGES, w.group, w.arch, w.noise)),
    threads: 1
    resources:
        runtime=60,
    conda:
        CONDA_ENV
    log:
        f"logs/image_train/{NET}.log",
    benchmark:
        f"results/benchmarks/image_train/{NET}.tsv"
    script:
        "../scripts/image_train.py"
