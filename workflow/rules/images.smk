# Real images, data and training (paper sec. 2-3, app. C; README, 'Real images'): data sets, probe
# sets, and one training job per (group, architecture, noise level, seed). Nothing runs without `images:`.


rule image_dataset:
    """Digits (offline CIFAR-10 stand-in) and 2D scale detection, generated from their config entry."""
    output:
        f"{IM}/data/{{dataset}}.pt",
    log:
        f"{LOGS}/image_dataset/{{dataset}}.log",
    conda:
        CONDA_ENV
    params:
        spec=lambda w: canonical(IMAGE_DATASETS[w.dataset]),
    script:
        "../scripts/image_dataset.py"


rule cifar10_dataset:
    """CIFAR-10 into one compact .npz, from cifar10_source (official archive or batches, or an image
    folder or archive) or downloaded (md5-checked) into cache_dir. Paths are params, not inputs,
    so a dry run works on a machine without the data."""
    output:
        f"{IM}/data/{{dataset}}.npz",
    log:
        f"{LOGS}/cifar10_dataset/{{dataset}}.log",
    conda:
        CONDA_ENV
    params:
        source=lambda w: IMAGE_DATASETS[w.dataset].get("source"),
        cache_dir=lambda w: IMAGE_DATASETS[w.dataset]["cache_dir"],
        download=lambda w: IMAGE_DATASETS[w.dataset].get("download", True),
    script:
        "../scripts/cifar10_dataset.py"


rule image_probe:
    """The probe set: a seeded draw from the test split and its perturbations."""
    input:
        lambda w: image_dataset_file(w.dataset),
    output:
        f"{IM}/probes/{{dataset}}.pt",
    log:
        f"{LOGS}/image_probe/{{dataset}}.log",
    conda:
        CONDA_ENV
    params:
        spec=lambda w: canonical(IMAGE_DATASETS[w.dataset]),
        probe=lambda w: canonical({k: v for k, v in IMAGES["probe"].items() if k not in ("batch_size", "dtype")}),
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
    log:
        f"{LOGS}/image_train/{NET}.log",
    benchmark:
        f"{RESULTS}/benchmarks/image_train/{NET}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=60,
    params:
        spec=lambda w: canonical(IMAGE_DATASETS[group_dataset(w)]),
        width_factor=lambda w: IW.arch_spec(IMAGES, w.group, w.arch)["width_factor"],
        train=lambda w: canonical(IW.train_params(IMAGES, w.group, w.arch, w.noise)),
    script:
        "../scripts/image_train.py"
