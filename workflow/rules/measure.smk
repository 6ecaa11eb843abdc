# Measurements of the 1D nets: D_k, G_k, R_k per seed and state, the homogeneous-filter theory curves,
# effective receptive fields and filter spectra.


rule sensitivity:
    input:
        weights=lambda w: block_file(w.experiment, w.seed),
        probe=lambda w: f"{SD}/probes/{experiment(w)['task']}.pt",
    output:
        f"{SD}/sensitivity/{{experiment}}/seed{{seed}}.csv",
    log:
        f"{LOGS}/sensitivity/{{experiment}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sensitivity/{{experiment}}/seed{{seed}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        batch_size=CFG["probe"]["batch_size"],
        upstream=lambda w: upstream(seed_measured(w.experiment)),
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
        lambda w: block_file(w.experiment, w.seed),
    output:
        f"{SD}/receptive_field/{{experiment}}/seed{{seed}}.csv",
    log:
        f"{LOGS}/receptive_field/{{experiment}}/seed{{seed}}.log",
    conda:
        CONDA_ENV
    params:
        length=lambda w: task_of(w)["length"],
        upstream=lambda w: upstream(seed_trained(w.experiment)),
    script:
        "../scripts/receptive_field.py"


rule filters:
    input:
        lambda w: block_file(w.experiment, w.seed),
    output:
        mean=f"{SD}/filters/{{experiment}}/seed{{seed}}_mean_filters.csv",
        spectra=f"{SD}/filters/{{experiment}}/seed{{seed}}_spectra.csv",
    log:
        f"{LOGS}/filters/{{experiment}}/seed{{seed}}.log",
    conda:
        CONDA_ENV
    params:
        upstream=lambda w: upstream(seed_trained(w.experiment)),
    script:
        "../scripts/filters.py"
