# The real-image half (paper sec. 2-3, app. C; docs/images.md): data sets, probe sets and one
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
