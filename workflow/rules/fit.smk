rule collect_experiment:
    """One tidy table per experiment: every seed's sensitivities with A_k, selection, homogeneity."""
    input:
        sensitivity=per_seed(f"{SD}/sensitivity/{{experiment}}/seed{{seed}}.csv"),
        receptive_field=per_seed(f"{SD}/receptive_field/{{experiment}}/seed{{seed}}.csv"),
        mean_filters=per_seed(f"{SD}/filters/{{experiment}}/seed{{seed}}_mean_filters.csv"),
        selection=f"{SD}/selection/{{experiment}}.csv",
        theory=f"{SD}/theory/{{experiment}}.csv",
    output:
        f"{SD}/collected/{{experiment}}.csv",
    params:
        upstream=lambda w: upstream(measured(w.experiment)),
    conda:
        CONDA_ENV
    log:
        "logs/collect_experiment/{experiment}.log",
    script:
        "../scripts/collect_experiment.py"


rule fit_exponents:
    input:
        collected=f"{SD}/collected/{{experiment}}.csv",
        theory=f"{SD}/theory/{{experiment}}.csv",
    output:
        summary=f"{SD}/fits/{{experiment}}.csv",
        per_seed=f"{SD}/fits/{{experiment}}_per_seed.csv",
        windows=f"{SD}/fits/{{experiment}}_windows.csv",
    params:
        fit=lambda w: canonical(experiment(w)["fit"]),
        fits=canonical(config["fits"]),
        stride=lambda w: experiment(w)["net"]["stride"],
        tolerances=canonical(config["scorecard"]),
        upstream=lambda w: upstream(measured(w.experiment)),
    conda:
        CONDA_ENV
    log:
        "logs/fit_exponents/{experiment}.log",
    script:
        "../scripts/fit_exponents.py"


rule fits_table:
    input:
        expand(f"{SD}/fits/{{experiment}}.csv", experiment=EXPERIMENTS),
    output:
        report(f"{TABLES}/fits.csv", caption="../report/fits.rst", category="Tables"),
    params:
        upstream=upstream({e: fitted(e) for e in EXPERIMENTS}),
    conda:
        CONDA_ENV
    log:
        "logs/fits_table.log",
    script:
        "../scripts/concat_tables.py"


rule mean_filter_tables:
    input:
        [f"{SD}/filters/{e}/seed{s}_mean_filters.csv" for e in config["figures"]["fig7"] for s in seeds_of(e)],
    output:
        report(f"{TABLES}/table_C2_C3.csv", caption="../report/table_C2_C3.rst", category="Tables"),
    params:
        upstream=upstream({e: trained(e) for e in config["figures"]["fig7"]}),
    conda:
        CONDA_ENV
    log:
        "logs/mean_filter_tables.log",
    script:
        "../scripts/mean_filter_tables.py"
