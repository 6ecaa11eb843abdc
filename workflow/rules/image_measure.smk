# Measurements of the real-image half: per trained net (sensitivities at init and trained, channel
# shuffles, filter spectra), per group (collected tables, correlations across architectures), the
# ImageNet models, Table C1 and the scorecard rows of section 2 and appendix C.


def _measure_settings():
    return canonical(dict(shuffles=IMAGES["shuffles"], batch_size=IMAGES["probe"]["batch_size"],
                          dtype=IMAGES["probe"]["dtype"]))


rule image_measure:
    """D_k, G_k, R_k at every layer and the output, at init, trained and with shuffled channels;
    filter spectra (eq. 3, B.1) and the fig. C5 aggregate, init and trained."""
    input:
        result=f"{IM}/train/{NET}.pt",
        summary=f"{IM}/train/{NET}_summary.csv",
        probe=lambda w: f"{IM}/probes/{group_dataset(w)}.pt",
    output:
        sensitivity=f"{IM}/measure/{NET}_sensitivity.csv",
        spectra=f"{IM}/measure/{NET}_spectra.csv",
        aggregates=f"{IM}/measure/{NET}_aggregates.csv",
    params:
        settings=lambda w: _measure_settings(),
        upstream=lambda w: upstream(image_measured(w.group, [dict(w.items())])),
    threads: 1
    conda:
        CONDA_ENV
    log:
        f"logs/image_measure/{NET}.log",
    benchmark:
        f"results/benchmarks/image_measure/{NET}.tsv"
    script:
        "../scripts/image_measure.py"


rule image_collect:
    """One tidy table per kind for a group: layers, nets (error, D_f, G_f, R_f), spectra, aggregates,
    training curves."""
    input:
        sensitivity=per_net(f"{IM}/measure/{NET}_sensitivity.csv"),
        spectra=per_net(f"{IM}/measure/{NET}_spectra.csv"),
        aggregates=per_net(f"{IM}/measure/{NET}_aggregates.csv"),
        summary=per_net(f"{IM}/train/{NET}_summary.csv"),
        history=per_net(f"{IM}/train/{NET}_history.csv"),
    output:
        layers=f"{IM}/collected/{{group}}/layers.csv",
        nets=report(f"{IM}/collected/{{group}}/nets.csv", caption="../report/image_nets.rst",
                    category="Real images", subcategory="Tables"),
        spectra=f"{IM}/collected/{{group}}/spectra.csv",
        aggregates=f"{IM}/collected/{{group}}/aggregates.csv",
        history=f"{IM}/collected/{{group}}/history.csv",
    params:
        upstream=lambda w: upstream(image_measured(w.group)),
    conda:
        CONDA_ENV
    log:
        "logs/image_collect/{group}.log",
    script:
        "../scripts/image_collect.py"


rule image_correlations:
    """rho(eps, X) across architectures for X in D_f, G_f, R_f, per noise level, with bootstrap intervals."""
    input:
        nets=f"{IM}/collected/{{group}}/nets.csv",
    output:
        report(f"{TABLES}/correlations_{{group}}.csv", caption="../report/image_correlations.rst",
               category="Real images", subcategory="Tables"),
    params:
        correlations=canonical(IMAGES.get("correlations", {})),
        upstream=lambda w: upstream(image_measured(w.group)),
    conda:
        CONDA_ENV
    log:
        "logs/image_correlations/{group}.log",
    script:
        "../scripts/image_correlations.py"


rule imagenet_measure:
    """A torchvision pretrained model (and a seeded random initialisation of it) on a probe set drawn
    from the user's ImageNet validation folder. The folder and weights are params, not inputs."""
    output:
        sensitivity=f"{IM}/imagenet/{{model}}_sensitivity.csv",
        spectra=f"{IM}/imagenet/{{model}}_spectra.csv",
        aggregates=f"{IM}/imagenet/{{model}}_aggregates.csv",
    params:
        val_dir=lambda w: IMAGENET["val_dir"],
        weights=lambda w: (IMAGENET["weights"] if isinstance(IMAGENET["weights"], str)
                           else IMAGENET["weights"].get(w.model, "DEFAULT")),
        probe=lambda w: canonical(IMAGENET["probe"]),
        init_seed=lambda w: IMAGENET.get("init_seed", 0),
        shuffles=lambda w: IMAGES["shuffles"],
    threads: 1
    resources:
        runtime=120,
    conda:
        CONDA_ENV
    log:
        "logs/imagenet_measure/{model}.log",
    benchmark:
        "results/benchmarks/imagenet_measure/{model}.tsv"
    script:
        "../scripts/imagenet_measure.py"


rule imagenet_collect:
    input:
        sensitivity=expand(f"{IM}/imagenet/{{model}}_sensitivity.csv", model=IMAGENET["models"] if IMAGENET else []),
        spectra=expand(f"{IM}/imagenet/{{model}}_spectra.csv", model=IMAGENET["models"] if IMAGENET else []),
        aggregates=expand(f"{IM}/imagenet/{{model}}_aggregates.csv", model=IMAGENET["models"] if IMAGENET else []),
    output:
        layers=f"{IM}/collected/imagenet/layers.csv",
        spectra=f"{IM}/collected/imagenet/spectra.csv",
        aggregates=f"{IM}/collected/imagenet/aggregates.csv",
    params:
        upstream=lambda w: upstream(imagenet_measured()),
    conda:
        CONDA_ENV
    log:
        "logs/imagenet_collect.log",
    script:
        "../scripts/imagenet_collect.py"


rule table_C1:
    """Table C1 generated from the architecture definitions (width factor 1, 10 classes, 3 channels)."""
    output:
        report(f"{TABLES}/table_C1.csv", caption="../report/table_C1.rst", category="Real images",
               subcategory="Tables"),
    conda:
        CONDA_ENV
    log:
        "logs/table_C1.log",
    script:
        "../scripts/table_c1.py"


def image_groups_of(kinds):
    return [g for g, spec in IMAGE_GROUPS.items() if IMAGE_DATASETS[spec["dataset"]]["kind"] in kinds]


def imagenet_collected():
    return {k: f"{IM}/collected/imagenet/{k}.csv" for k in ("layers", "aggregates", "spectra")} if IMAGENET else {}


rule image_scorecard:
    """The scorecard rows of section 2 and appendix C, computed from the collected tables."""
    input:
        layers=expand(f"{IM}/collected/{{group}}/layers.csv", group=IMAGE_GROUP_NAMES),
        aggregates=expand(f"{IM}/collected/{{group}}/aggregates.csv", group=IMAGE_GROUP_NAMES),
        spectra=expand(f"{IM}/collected/{{group}}/spectra.csv", group=IMAGE_GROUP_NAMES),
        correlations=expand(f"{TABLES}/correlations_{{group}}.csv", group=IMAGE_GROUP_NAMES),
        imagenet=lambda w: list(imagenet_collected().values()),
    output:
        report(f"{TABLES}/scorecard_images.csv", caption="../report/scorecard_images.rst", category="Scorecard"),
    params:
        kinds=canonical({g: IMAGE_DATASETS[s["dataset"]]["kind"] for g, s in IMAGE_GROUPS.items()}),
        tolerances=canonical(IMAGES.get("scorecard", {})),
        upstream=lambda w: upstream(image_lineage()),
    conda:
        CONDA_ENV
    log:
        "logs/image_scorecard.log",
    script:
        "../scripts/image_scorecard.py"
