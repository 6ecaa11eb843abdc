# Figures of the 1D simple CNNs (section 4, appendices A and B).


rule fig7:
    input:
        collected=collected(FIG7),
        theory=[f"{SD}/theory/{e}.csv" for e in FIG7],
    output:
        figure("fig7", "fig7.rst", "Figure 7"),
    log:
        f"{LOGS}/plots/fig7.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        fits=canonical(
            {e: CFG["experiments"][e]["fit"] | {"stride": CFG["experiments"][e]["net"]["stride"]} for e in FIG7}
        ),
        upstream=upstream({e: measured(e) for e in FIG7}),
    script:
        "../scripts/plot_fig7.py"


rule fig_windows:
    input:
        [f"{SD}/fits/{e}_windows.csv" for e in FIG7],
    output:
        figure("fig_windows", "fig_windows.rst", "Figure 7"),
    log:
        f"{LOGS}/plots/fig_windows.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        fits=canonical({e: CFG["experiments"][e]["fit"] for e in FIG7}),
        upstream=upstream({e: fitted(e) for e in FIG7}),
    script:
        "../scripts/plot_windows.py"


rule figB1:
    input:
        lambda w: per_block(f"{SD}/filters/{{experiment}}/block{{block}}_spectra.csv", B_PAIR),
    output:
        figure("figB1", "figB1.rst", "Appendix B"),
    log:
        f"{LOGS}/plots/figB1.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        experiments=B_PAIR,
        upstream=lambda w: upstream({e: trained(e) for e in B_PAIR}),
    script:
        "../scripts/plot_figB1.py"


rule figB2:
    input:
        collected=lambda w: collected(B_PAIR),
    output:
        figure("figB2", "figB2.rst", "Appendix B"),
    log:
        f"{LOGS}/plots/figB2.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        fits=lambda w: canonical({e: CFG["experiments"][e]["fit"] for e in B_PAIR}),
        upstream=lambda w: upstream({e: measured(e) for e in B_PAIR}),
    script:
        "../scripts/plot_figB2.py"


rule fig_appendix_A:
    input:
        table=rules.diffusion.output.table,
        profiles=rules.diffusion.output.profiles,
    output:
        figure("fig_appendix_A", "fig_appendix_A.rst", "Appendix A"),
    log:
        f"{LOGS}/plots/fig_appendix_A.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        upstream=upstream(CFG["appendix_a"]),
    script:
        "../scripts/plot_appendix_a.py"


rule fig_receptive_field:
    input:
        collected=collected(EXPERIMENTS),
    output:
        figure("fig_receptive_field", "fig_receptive_field.rst", "Receptive fields"),
    log:
        f"{LOGS}/plots/fig_receptive_field.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        upstream=upstream({e: measured(e) for e in EXPERIMENTS}),
    script:
        "../scripts/plot_receptive_field.py"


rule fig_training:
    input:
        expand(f"{SD}/train/{{experiment}}/history.csv", experiment=EXPERIMENTS),
    output:
        figure("fig_training", "fig_training.rst", "Training"),
    log:
        f"{LOGS}/plots/fig_training.log",
    conda:
        CONDA_ENV
    params:
        plot=plot_params(),
        upstream=upstream({e: trained(e) for e in EXPERIMENTS}),
    script:
        "../scripts/plot_training.py"
