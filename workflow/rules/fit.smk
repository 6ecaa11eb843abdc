# Collected tables, power-law fits with their window scan, and tables C2, C3.


rule collect_experiment:
    """One tidy table per experiment: every seed's sensitivities with A_k, selection, homogeneity."""
    input:
        sensitivity=per_block(f"{SD}/sensitivity/{{experiment}}/block{{block}}.csv"),
        receptive_field=per_block(f"{SD}/receptive_field/{{experiment}}/block{{block}}.csv"),
        mean_filters=per_block(f"{SD}/filters/{{experiment}}/block{{block}}_mean_filters.csv"),
        selection=f"{SD}/selection/{{experiment}}.csv",
        theory=f"{SD}/theory/{{experiment}}.csv",
    output:
        f"{SD}/collected/{{experiment}}.csv",
    log:
        f"{LOGS}/collect_experiment/{{experiment}}.log",
    conda:
        CONDA_ENV
    params:
        upstream=lambda w: upstream(measured(w.experiment)),
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
    log:
        f"{LOGS}/fit_exponents/{{experiment}}.log",
    conda:
        CONDA_ENV
    params:
        fit=lambda w: canonical(experiment(w)["fit"]),
        fits=canonical(CFG["fits"]),
        stride=lambda w: experiment(w)["net"]["stride"],
        tolerances=canonical(CFG["scorecard"]),
        upstream=lambda w: upstream(measured(w.experiment)),
    script:
        "../scripts/fit_exponents.py"


rule fits_table:
    input:
        expand(f"{SD}/fits/{{experiment}}.csv", experiment=EXPERIMENTS),
    output:
        report(f"{TABLES}/fits.csv", caption="../report/fits.rst", category="Tables"),
    log:
        f"{LOGS}/fits_table.log",
    conda:
        CONDA_ENV
    params:
        upstream=upstream({e: fitted(e) for e in EXPERIMENTS}),
    script:
        "../scripts/concat_tables.py"


rule mean_filter_tables:
    input:
        per_block(f"{SD}/filters/{{experiment}}/block{{block}}_mean_filters.csv", FIG7),
    output:
        report(f"{TABLES}/table_C2_C3.csv", caption="../report/table_C2_C3.rst", category="Tables"),
    log:
        f"{LOGS}/mean_filter_tables.log",
    conda:
        CONDA_ENV
    params:
        upstream=upstream({e: trained(e) for e in FIG7}),
    script:
        "../scripts/mean_filter_tables.py"
