# Beyond the paper: its conjecture on activations between tanh and ReLU (swish with a sweep of beta;
# README, "Swish: between linear and ReLU"). Theory first: the exact homogeneous-filter network.


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


rule fig_swish:
    input:
        exponents=rules.swish_theory.output.exponents,
        crossovers=rules.swish_theory.output.crossovers,
    output:
        figure("fig_swish", "fig_swish.rst", "Swish"),
    log:
        f"{LOGS}/plots/fig_swish.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        formats=FORMATS,
        upstream=lambda w: upstream(dict(probed=probed(SWISH["experiment"]), swish=SWISH)),
    script:
        "../scripts/plot_swish.py"


rule swish:
    """The swish experiment (theory on the homogeneous-filter network)."""
    input:
        rules.swish_theory.output,
        rules.fig_swish.output,
