# Beyond the paper: its conjecture on activations between tanh and ReLU (swish with a sweep of beta;
# README, "Swish: between linear and ReLU"). Theory first: the exact homogeneous-filter network;
# then trained nets (swish.trained: the experiment retrained with swish at several betas, by the
# train rule), measured over the same noise magnitudes beside the experiment's own ReLU nets.


rule swish_theory:
    """G_k against A_k of the homogeneous-filter network for linear, swish (every beta) and ReLU
    activations, at every noise magnitude; exponents and crossover magnitudes m*(beta)."""
    input:
        probe=lambda w: f"{SD}/probes/{CFG['experiments'][SWISH['experiment']]['task']}.pt",
    output:
        sweep=f"{RESULTS}/swish/theory_sweep.csv",
        exponents=report(f"{TABLES}/swish_theory.csv", caption="../report/swish_theory.rst", category="Swish"),
        crossovers=f"{TABLES}/swish_crossovers.csv",
    log:
        f"{LOGS}/swish_theory.log",
    benchmark:
        f"{RESULTS}/benchmarks/swish_theory.tsv"
    conda:
        CONDA_ENV
    params:
        net=lambda w: canonical(CFG["experiments"][SWISH["experiment"]]["net"]),
        length=lambda w: CFG["tasks"][CFG["experiments"][SWISH["experiment"]]["task"]]["length"],
        window=lambda w: CFG["experiments"][SWISH["experiment"]]["fit"]["G"],
        betas=lambda w: SWISH["betas"],
        magnitudes=lambda w: SWISH["magnitudes"],
        batch_size=CFG["probe"]["batch_size"],
        upstream=lambda w: upstream(probed(SWISH["experiment"])),
    script:
        "../scripts/swish_theory.py"


rule swish_sweep:
    """The trained nets of one training block: each one's G_k at every noise magnitude, and its
    filters' homogeneity."""
    input:
        weights=f"{SD}/train/{{experiment}}/block{{block}}.pt",
        probe=lambda w: f"{SD}/probes/{experiment(w)['task']}.pt",
    output:
        sweep=f"{RESULTS}/swish/trained/{{experiment}}/block{{block}}.csv",
        filters=f"{RESULTS}/swish/trained/{{experiment}}/block{{block}}_filters.csv",
    log:
        f"{LOGS}/swish_sweep/{{experiment}}/block{{block}}.log",
    conda:
        CONDA_ENV
    threads: 1
    params:
        seeds=lambda w: block_seeds(w.experiment, w.block),
        magnitudes=lambda w: SWISH["magnitudes"],
        net=lambda w: canonical(experiment(w)["net"]),
        length=lambda w: task_of(w)["length"],
        batch_size=CFG["probe"]["batch_size"],
        upstream=lambda w: upstream(block_measured(w.experiment)),
    script:
        "../scripts/swish_sweep.py"


rule swish_trained:
    """The trained nets' exponents, crossovers, test accuracy and scorecard card."""
    input:
        sweeps=swish_sweeps(),
        filters=swish_sweeps("_filters"),
        selection=expand(f"{SD}/selection/{{experiment}}.csv", experiment=SWISH_NETS),
        theory=rules.swish_theory.output.exponents,
        theory_crossovers=rules.swish_theory.output.crossovers,
    output:
        exponents=f"{TABLES}/swish_trained_exponents.csv",
        summary=report(f"{TABLES}/swish_trained_summary.csv", caption="../report/swish_trained.rst", category="Swish"),
        crossovers=f"{TABLES}/swish_trained_crossovers.csv",
        accuracy=report(
            f"{TABLES}/swish_trained_accuracy.csv", caption="../report/swish_accuracy.rst", category="Swish"
        ),
        card=f"{TABLES}/scorecard_swish.csv",
    log:
        f"{LOGS}/swish_trained.log",
    conda:
        CONDA_ENV
    params:
        experiments=lambda w: {e: CFG["experiments"][e]["activation"] for e in SWISH_NETS},
        window=lambda w: CFG["experiments"][SWISH["experiment"]]["fit"]["G"],
        tolerances=canonical(CFG["scorecard"]),
        confidence=CFG["fits"]["confidence"],
        upstream=lambda w: upstream(swish_lineage()),
    script:
        "../scripts/swish_trained.py"


rule fig_swish:
    input:
        exponents=rules.swish_theory.output.exponents,
        crossovers=rules.swish_theory.output.crossovers,
        trained=lambda w: rules.swish_trained.output.summary if SWISH_TRAINED else [],
        trained_crossovers=lambda w: rules.swish_trained.output.crossovers if SWISH_TRAINED else [],
        accuracy=lambda w: rules.swish_trained.output.accuracy if SWISH_TRAINED else [],
    output:
        figure("fig_swish", "fig_swish.rst", "Swish"),
    log:
        f"{LOGS}/plots/fig_swish.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        formats=FORMATS,
        upstream=lambda w: upstream(swish_lineage()),
    script:
        "../scripts/plot_swish.py"


rule swish:
    """The swish experiment: theory on the homogeneous-filter network, and the trained nets."""
    input:
        rules.swish_theory.output,
        rules.fig_swish.output,
        lambda w: rules.swish_trained.output if SWISH_TRAINED else [],
