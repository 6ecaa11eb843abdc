rule sensitivity:
    input:
        weights=f"{SD}/train/{{experiment}}/weights.pt",
        probe=lambda w: f"{SD}/probes/{experiment(w)['task']}.npz",
    output:
        f"{SD}/sensitivity/{{experiment}}/seed{{seed}}.csv",
    params:
        batch_size=config["probe"]["batch_size"],
        upstream=lambda w: upstream(measured(w.experiment)),
    threads: 1
    conda:
        CONDA_ENV
    log:
        "logs/sensitivity/{experiment}/seed{seed}.log",
    benchmark:
        "results/benchmarks/sensitivity/{experiment}/seed{seed}.tsv"
    script:
        "../scripts/measure_sensitivity.py"


rule theory_curves:
    input:
        probe=lambda w: f"{SD}/probes/{experiment(w)['task']}.npz",
    output:
        f"{SD}/theory/{{experiment}}.csv",
    params:
        net=lambda w: canonical(experiment(w)["net"]),
        activation=lambda w: experiment(w)["activation"],
        length=lambda w: task_of(w)["length"],
        batch_size=config["probe"]["batch_size"],
        upstream=lambda w: upstream(probed(w.experiment)),
    conda:
        CONDA_ENV
    log:
        "logs/theory_curves/{experiment}.log",
    script:
        "../scripts/theory_curves.py"


rule receptive_field:
    input:
        f"{SD}/train/{{experiment}}/weights.pt",
    output:
        f"{SD}/receptive_field/{{experiment}}/seed{{seed}}.csv",
    params:
        length=lambda w: task_of(w)["length"],
        upstream=lambda w: upstream(trained(w.experiment)),
    conda:
        CONDA_ENV
    log:
        "logs/receptive_field/{experiment}/seed{seed}.log",
    script:
        "../scripts/receptive_field.py"


rule filters:
    input:
        f"{SD}/train/{{experiment}}/weights.pt",
    output:
        mean=f"{SD}/filters/{{experiment}}/seed{{seed}}_mean_filters.csv",
        spectra=f"{SD}/filters/{{experiment}}/seed{{seed}}_spectra.csv",
    params:
        upstream=lambda w: upstream(trained(w.experiment)),
    conda:
        CONDA_ENV
    log:
        "logs/filters/{experiment}/seed{seed}.log",
    script:
        "../scripts/filters.py"
