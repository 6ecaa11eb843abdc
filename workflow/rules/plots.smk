def collected(names):
    return [f"{SD}/collected/{e}.csv" for e in names]


rule fig7:
    input:
        collected=collected(config["figures"]["fig7"]),
        theory=[f"{SD}/theory/{e}.csv" for e in config["figures"]["fig7"]],
    output:
        figure("fig7", "fig7.rst", "Figure 7"),
    params:
        plot=plot_params(),
        fits=canonical({e: config["experiments"][e]["fit"] | {"stride": config["experiments"][e]["net"]["stride"]}
                        for e in config["figures"]["fig7"]}),
        upstream=upstream({e: measured(e) for e in config["figures"]["fig7"]}),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig7.log",
    script:
        "../scripts/plot_fig7.py"


rule fig_windows:
    input:
        [f"{SD}/fits/{e}_windows.csv" for e in config["figures"]["fig7"]],
    output:
        figure("fig_windows", "fig_windows.rst", "Figure 7"),
    params:
        plot=plot_params(),
        fits=canonical({e: config["experiments"][e]["fit"] for e in config["figures"]["fig7"]}),
        upstream=upstream({e: fitted(e) for e in config["figures"]["fig7"]}),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig_windows.log",
    script:
        "../scripts/plot_windows.py"


rule figB1:
    input:
        [f"{SD}/filters/{e}/seed{s}_spectra.csv"
         for e in config["figures"]["appendix_b"].values() for s in seeds_of(e)],
    output:
        figure("figB1", "figB1.rst", "Appendix B"),
    params:
        plot=plot_params(),
        experiments=list(config["figures"]["appendix_b"].values()),
        upstream=upstream({e: trained(e) for e in config["figures"]["appendix_b"].values()}),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figB1.log",
    script:
        "../scripts/plot_figB1.py"


rule figB2:
    input:
        collected=collected(config["figures"]["appendix_b"].values()),
    output:
        figure("figB2", "figB2.rst", "Appendix B"),
    params:
        plot=plot_params(),
        fits=canonical({e: config["experiments"][e]["fit"] for e in config["figures"]["appendix_b"].values()}),
        upstream=upstream({e: measured(e) for e in config["figures"]["appendix_b"].values()}),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figB2.log",
    script:
        "../scripts/plot_figB2.py"


rule fig_appendix_A:
    input:
        table=rules.appendix_a.output.table,
        profiles=rules.appendix_a.output.profiles,
    output:
        figure("fig_appendix_A", "fig_appendix_A.rst", "Appendix A"),
    params:
        plot=plot_params(),
        upstream=upstream(config["appendix_a"]),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig_appendix_A.log",
    script:
        "../scripts/plot_appendix_a.py"


rule fig_receptive_field:
    input:
        collected=collected(EXPERIMENTS),
    output:
        figure("fig_receptive_field", "fig_receptive_field.rst", "Receptive fields"),
    params:
        plot=plot_params(),
        upstream=upstream({e: measured(e) for e in EXPERIMENTS}),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig_receptive_field.log",
    script:
        "../scripts/plot_receptive_field.py"


rule fig_training:
    input:
        expand(f"{SD}/train/{{experiment}}/history.csv", experiment=EXPERIMENTS),
    output:
        figure("fig_training", "fig_training.rst", "Training"),
    params:
        plot=plot_params(),
        upstream=upstream({e: trained(e) for e in EXPERIMENTS}),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig_training.log",
    script:
        "../scripts/plot_training.py"
