# Every seed of an experiment trains in one job, as one stacked model (spatialpool.stacked):
# several times the seed-steps per second of one seed per job at small widths, and one GPU per
# experiment at large ones. Changing the seed list therefore retrains the experiment.
rule train:
    input:
        lambda w: f"{SD}/data/{experiment(w)['task']}.npz",
    output:
        weights=f"{SD}/train/{{experiment}}/weights.pt",
        history=f"{SD}/train/{{experiment}}/history.csv",
        summary=f"{SD}/train/{{experiment}}/summary.csv",
    params:
        task=task_of,
        activation=lambda w: experiment(w)["activation"],
        net=lambda w: canonical(experiment(w)["net"]),
        train=lambda w: canonical(experiment(w)["train"]),
        seeds=lambda w: seeds_of(w.experiment),
    threads: 1
    resources:
        runtime=60,
    conda:
        CONDA_ENV
    log:
        "logs/train/{experiment}.log",
    benchmark:
        "results/benchmarks/train/{experiment}.tsv"
    script:
        "../scripts/train.py"


rule select_checkpoints:
    input:
        rules.train.output.summary,
    output:
        f"{SD}/selection/{{experiment}}.csv",
    params:
        upstream=lambda w: upstream(trained(w.experiment)),
    conda:
        CONDA_ENV
    log:
        "logs/select_checkpoints/{experiment}.log",
    script:
        "../scripts/select_checkpoints.py"
