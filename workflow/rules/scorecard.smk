rule scorecard:
    input:
        fits=f"{TABLES}/fits.csv",
        collected=collected(EXPERIMENTS),
        selection=expand(f"{SD}/selection/{{experiment}}.csv", experiment=EXPERIMENTS),
        theory=expand(f"{SD}/theory/{{experiment}}.csv", experiment=EXPERIMENTS),
        spectra=[f"{SD}/filters/{e}/seed{s}_spectra.csv" for e in EXPERIMENTS for s in seeds_of(e)],
        appendix_a=rules.appendix_a.output.table,
        images=[f"{TABLES}/scorecard_images.csv"] if IMAGES else [],  # sec. 2 and app. C rows
    output:
        csv=report(f"{TABLES}/scorecard.csv", caption="../report/scorecard.rst", category="Scorecard"),
    params:
        experiments=canonical(config["experiments"]),
        appendix_b=canonical(config["figures"]["appendix_b"]),
        tolerances=canonical(config["scorecard"]),
    conda:
        CONDA_ENV
    log:
        "logs/scorecard.log",
    script:
        "../scripts/scorecard.py"
