rule dataset:
    output:
        f"{SD}/data/{{task}}.npz",
    params:
        task=lambda w: canonical(config["tasks"][w.task]),
    conda:
        CONDA_ENV
    log:
        "logs/dataset/{task}.log",
    script:
        "../scripts/make_dataset.py"


rule probe_set:
    input:
        rules.dataset.output,
    output:
        f"{SD}/probes/{{task}}.npz",
    params:
        task=lambda w: canonical(config["tasks"][w.task]),
        size=config["probe"]["size"],
        draws=config["probe"]["draws"],
        seed=config["probe"]["seed"],
    conda:
        CONDA_ENV
    log:
        "logs/probe_set/{task}.log",
    script:
        "../scripts/make_probe_set.py"
