rule train:
    input:
        lambda w: f"{SD}/data/{experiment(w)['task']}.npz",
    output:
        weights=f"{SD}/train/{{experiment}}/seed{{seed}}/weights.pt",
        history=f"{SD}/train/{{experiment}}/seed{{seed}}/history.csv",
        summary=f"{SD}/train/{{experiment}}/seed{{seed}}/summary.json",
    params:
        task=task_of,
        activation=lambda w: experiment(w)["activation"],
        net=lambda w: canonical(experiment(w)["net"]),
        train=lambda w: canonical(experiment(w)["train"]),
        seed=lambda w: int(w.seed),
    threads: 1
    resources:
        runtime=60,
    conda:
        CONDA_ENV
    log:
        "logs/train/{experiment}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{experiment}/seed{seed}.tsv"
    script:
        "../scripts/train.py"


rule select_checkpoints:
    input:
        per_seed(f"{SD}/train/{{experiment}}/seed{{seed}}/summary.json"),
    output:
        f"{SD}/selection/{{experiment}}.csv",
    conda:
        CONDA_ENV
    log:
        "logs/select_checkpoints/{experiment}.log",
    script:
        "../scripts/select_checkpoints.py"
