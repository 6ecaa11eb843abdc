# The seeds of an experiment train in blocks, each block one job and one stacked model
# (spatialpool.models.stacked): several times the seed-steps per second of one seed per job at small
# widths, and one GPU per block at large ones. Blocks are in common.smk (seed_blocks): adding seeds
# trains only the new ones. Every seed's result is its own record in its block's checkpoint.
rule train:
    input:
        lambda w: f"{SD}/data/{experiment(w)['task']}.npz",
    output:
        weights=f"{SD}/train/{{experiment}}/block{{block}}.pt",
        history=f"{SD}/train/{{experiment}}/block{{block}}_history.csv",
        summary=f"{SD}/train/{{experiment}}/block{{block}}_summary.csv",
    log:
        f"{LOGS}/train/{{experiment}}/block{{block}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{experiment}}/block{{block}}.tsv"
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
        seeds=lambda w: [int(s) for s in w.block.split("-")],
    script:
        "../scripts/train.py"


rule collect_training:
    input:
        summaries=per_block(f"{SD}/train/{{experiment}}/block{{block}}_summary.csv"),
        histories=per_block(f"{SD}/train/{{experiment}}/block{{block}}_history.csv"),
    output:
        summary=f"{SD}/train/{{experiment}}/summary.csv",
        history=f"{SD}/train/{{experiment}}/history.csv",
    log:
        f"{LOGS}/collect_training/{{experiment}}.log",
    conda:
        CONDA_ENV
    params:
        seeds=lambda w: seeds_of(w.experiment),
        upstream=lambda w: upstream(trained(w.experiment)),
    script:
        "../scripts/collect_training.py"


rule select_checkpoints:
    input:
        rules.collect_training.output.summary,
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
