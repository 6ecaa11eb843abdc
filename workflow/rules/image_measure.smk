# Real images, measurement: per trained net (sensitivities at init and trained, channel shuffles, filter
# spectra), per group (collected tables, correlations across architectures), the ImageNet models, Table C1.


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
    log:
        f"{LOGS}/image_measure/{NET}.log",
    benchmark:
        f"{RESULTS}/benchmarks/image_measure/{NET}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        settings=lambda w: _measure_settings(),
        upstream=lambda w: upstream(image_measured(w.group, [dict(w.items())])),
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
        nets=report(
            f"{IM}/collected/{{group}}/nets.csv",
            caption="../report/image_nets.rst",
            category="Real images",
            subcategory="Tables",
        ),
        spectra=f"{IM}/collected/{{group}}/spectra.csv",
        aggregates=f"{IM}/collected/{{group}}/aggregates.csv",
        history=f"{IM}/collected/{{group}}/history.csv",
    log:
        f"{LOGS}/image_collect/{{group}}.log",
    conda:
        CONDA_ENV
    params:
        upstream=lambda w: upstream(image_measured(w.group)),
    script:
        "../scripts/image_collect.py"


rule image_trajectory:
    """The training trajectory: D_k, G_k, R_k of the net at init and after each of its
    train.trajectory_epochs, with the test error it had then."""
    input:
        result=f"{IM}/train/{NET}.pt",
        summary=f"{IM}/train/{NET}_summary.csv",
        history=f"{IM}/train/{NET}_history.csv",
        probe=lambda w: f"{IM}/probes/{group_dataset(w)}.pt",
    output:
        f"{IM}/trajectory/{NET}.csv",
    log:
        f"{LOGS}/image_trajectory/{NET}.log",
    benchmark:
        f"{RESULTS}/benchmarks/image_trajectory/{NET}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        settings=lambda w: _measure_settings(),
        upstream=lambda w: upstream(image_measured(w.group, [dict(w.items())])),
    script:
        "../scripts/image_trajectory.py"


rule trajectory_collect:
    """A group's trajectories in one tidy table, and per architecture and epoch the seed means of
    the test error and of the output's D_f, G_f, R_f (R_f also relative to init)."""
    input:
        lambda w: [rules.image_trajectory.output[0].format(**n) for n in trajectory_nets([w.group])],
    output:
        layers=f"{IM}/collected/{{group}}/trajectory.csv",
        summary=report(
            f"{TABLES}/trajectory_{{group}}.csv",
            caption="../report/trajectory.rst",
            category="Real images",
            subcategory="Tables",
        ),
    log:
        f"{LOGS}/trajectory_collect/{{group}}.log",
    conda:
        CONDA_ENV
    params:
        upstream=lambda w: upstream(image_measured(w.group, trajectory_nets([w.group]))),
    script:
        "../scripts/trajectory_collect.py"


rule image_correlations:
    """rho(eps, X) across architectures for X in D_f, G_f, R_f, per noise level, with bootstrap intervals."""
    input:
        nets=f"{IM}/collected/{{group}}/nets.csv",
    output:
        report(
            f"{TABLES}/correlations_{{group}}.csv",
            caption="../report/image_correlations.rst",
            category="Real images",
            subcategory="Tables",
        ),
    log:
        f"{LOGS}/image_correlations/{{group}}.log",
    conda:
        CONDA_ENV
    params:
        correlations=canonical(IMAGES.get("correlations", {})),
        upstream=lambda w: upstream(image_measured(w.group)),
    script:
        "../scripts/image_correlations.py"


rule imagenet_measure:
    """A torchvision pretrained model (and a seeded random initialisation of it) on a probe set drawn
    from the user's ImageNet validation folder. The folder and weights are params, not inputs."""
    output:
        sensitivity=f"{IM}/imagenet/{{model}}_sensitivity.csv",
        spectra=f"{IM}/imagenet/{{model}}_spectra.csv",
        aggregates=f"{IM}/imagenet/{{model}}_aggregates.csv",
    log:
        f"{LOGS}/imagenet_measure/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/imagenet_measure/{{model}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=120,
    params:
        val_dir=lambda w: IMAGENET["val_dir"],
        weights=lambda w: (
            IMAGENET["weights"]
            if isinstance(IMAGENET["weights"], str)
            else IMAGENET["weights"].get(w.model, "DEFAULT")
        ),
        probe=lambda w: canonical(IMAGENET["probe"]),
        init_seed=lambda w: IMAGENET.get("init_seed", 0),
        shuffles=lambda w: IMAGES["shuffles"],
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
    log:
        f"{LOGS}/imagenet_collect.log",
    conda:
        CONDA_ENV
    params:
        upstream=lambda w: upstream(imagenet_measured()),
    script:
        "../scripts/imagenet_collect.py"


rule table_C1:
    """Table C1 generated from the architecture definitions (width factor 1, 10 classes, 3 channels)."""
    output:
        report(f"{TABLES}/table_C1.csv", caption="../report/table_C1.rst", category="Real images", subcategory="Tables"),
    log:
        f"{LOGS}/table_C1.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/table_c1.py"
