# Every seed of an experiment trains in one job, as one stacked model (spatialpool.models.stacked):
# several times the seed-steps per second of one seed per job at small widths, and one GPU per
# experiment at large ones. Changing the seed list therefore retrains the experiment.
rule train:
    input:
        lambda w: f"{SD}/data/{experiment(w)['task']}.npz",
    output:
        weights=f"{SD}/train/{{experiment}}/weights.pt",
        history=f"{SD}/train/{{experiment}}/history.csv",
        summary=f"{SD}/train/{{experiment}}/summary.csv",
    log:
        f"{LOGS}/train/{{experiment}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{experiment}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=60,
    params:
        task=task_of,
        activation=lambda w: experiment(w)["activation"],
        net=lambda w: canonical(experiment(w)["net"]),
        train=lambda w: canonical(experiment(w)["train"]),
        seeds=lambda w: seeds_of(w.experiment),
    script:
        "../scripts/train.py"


rule select_checkpoints:
    input:
        rules.train.output.summary,
    output:
        f"{SD}/selection/{{experiment}}.csv",
    log:
        f"{LOGS}/select_checkpoints/{{experiment}}.log",
    conda:
        CONDA_ENV
    params:
        upstream=lambda w: upstream(trained(w.experiment)),
    script:
        "../scripts/select_checkpoints.py"
