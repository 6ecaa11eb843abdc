# The 1D scale-detection data sets (paper sec. 4) and their probe sets.


rule dataset:
    output:
        f"{SD}/data/{{task}}.npz",
    log:
        f"{LOGS}/dataset/{{task}}.log",
    conda:
        CONDA_ENV
    params:
        task=lambda w: canonical(CFG["tasks"][w.task]),
    script:
        "../scripts/make_dataset.py"


rule probe_set:
    input:
        rules.dataset.output,
    output:
        f"{SD}/probes/{{task}}.pt",
    log:
        f"{LOGS}/probe_set/{{task}}.log",
    conda:
        CONDA_ENV
    params:
        task=lambda w: canonical(CFG["tasks"][w.task]),
        size=CFG["probe"]["size"],
        draws=CFG["probe"]["draws"],
        seed=CFG["probe"]["seed"],
    script:
        "../scripts/make_probe_set.py"
