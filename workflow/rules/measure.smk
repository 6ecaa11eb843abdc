# Measurements of the 1D nets: D_k, G_k, R_k per seed and state, the homogeneous-filter theory curves,
# effective receptive fields and filter spectra. One job per training block (common.smk, per_block),
# each measuring the block's configured seeds.


rule sensitivity:
    input:
        weights=f"{SD}/train/{{experiment}}/block{{block}}.pt",
        probe=lambda w: f"{SD}/probes/{experiment(w)['task']}.pt",
    output:
        f"{SD}/sensitivity/{{experiment}}/block{{block}}.csv",
    log:
        f"{LOGS}/sensitivity/{{experiment}}/block{{block}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sensitivity/{{experiment}}/block{{block}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        seeds=lambda w: block_seeds(w.experiment, w.block),
        batch_size=CFG["probe"]["batch_size"],
        upstream=lambda w: upstream(block_measured(w.experiment)),
    script:
        "../scripts/measure_sensitivity.py"


rule theory_curves:
    input:
        probe=lambda w: f"{SD}/probes/{experiment(w)['task']}.pt",
    output:
        f"{SD}/theory/{{experiment}}.csv",
    log:
        f"{LOGS}/theory_curves/{{experiment}}.log",
    conda:
        CONDA_ENV
    params:
        net=lambda w: canonical(experiment(w)["net"]),
        activation=lambda w: experiment(w)["activation"],
        length=lambda w: task_of(w)["length"],
        batch_size=CFG["probe"]["batch_size"],
        upstream=lambda w: upstream(probed(w.experiment)),
    script:
        "../scripts/theory_curves.py"


rule receptive_field:
    input:
        f"{SD}/train/{{experiment}}/block{{block}}.pt",
    output:
        f"{SD}/receptive_field/{{experiment}}/block{{block}}.csv",
    log:
        f"{LOGS}/receptive_field/{{experiment}}/block{{block}}.log",
    conda:
        CONDA_ENV
    params:
        seeds=lambda w: block_seeds(w.experiment, w.block),
        length=lambda w: task_of(w)["length"],
        upstream=lambda w: upstream(block_trained(w.experiment)),
    script:
        "../scripts/receptive_field.py"


rule filters:
    input:
        f"{SD}/train/{{experiment}}/block{{block}}.pt",
    output:
        mean=f"{SD}/filters/{{experiment}}/block{{block}}_mean_filters.csv",
        spectra=f"{SD}/filters/{{experiment}}/block{{block}}_spectra.csv",
    log:
        f"{LOGS}/filters/{{experiment}}/block{{block}}.log",
    conda:
        CONDA_ENV
    params:
        seeds=lambda w: block_seeds(w.experiment, w.block),
        upstream=lambda w: upstream(block_trained(w.experiment)),
    script:
        "../scripts/filters.py"
