# Every per-experiment input path names its experiment (collected/<e>.csv, train/<e>/history.csv,
# filters/<e>/seed<s>_spectra.csv, ...), and every list is in the order of EXPERIMENTS.
rule scorecard:
    input:
        fits=f"{TABLES}/fits.csv",
        collected=collected(EXPERIMENTS),
        selection=expand(f"{SD}/selection/{{experiment}}.csv", experiment=EXPERIMENTS),
        theory=expand(f"{SD}/theory/{{experiment}}.csv", experiment=EXPERIMENTS),
        windows=expand(f"{SD}/fits/{{experiment}}_windows.csv", experiment=EXPERIMENTS),
        per_seed=expand(f"{SD}/fits/{{experiment}}_per_seed.csv", experiment=EXPERIMENTS),
        history=expand(f"{SD}/train/{{experiment}}/history.csv", experiment=EXPERIMENTS),
        spectra=[f"{SD}/filters/{e}/seed{s}_spectra.csv" for e in EXPERIMENTS for s in seeds_of(e)],
        appendix_a=rules.appendix_a.output.table,
        images=[f"{TABLES}/scorecard_images.csv"] if IMAGES else [],  # sec. 2 and app. C rows
    output:
        csv=report(f"{TABLES}/scorecard.csv", caption="../report/scorecard.rst", category="Scorecard"),
    params:
        experiments=canonical(config["experiments"]),
        appendix_b=canonical(config["figures"]["appendix_b"]),
        tolerances=canonical(config["scorecard"]),
        confidence=config["fits"]["confidence"],
        upstream=lambda w: upstream(scorecard_lineage()),
    conda:
        CONDA_ENV
    log:
        "logs/scorecard.log",
    script:
        "../scripts/scorecard.py"


rule referee_summary:
    """Per paper section: what reproduced, what did not, what could not be judged."""
    input:
        f"{TABLES}/scorecard.csv",
    output:
        csv=f"{TABLES}/referee_summary.csv",
        html=report(f"{TABLES}/referee_summary.html", caption="../report/referee_summary.rst",
                    category="1. Referee's summary"),
    params:
        upstream=lambda w: upstream(scorecard_lineage()),
    conda:
        CONDA_ENV
    log:
        "logs/referee_summary.log",
    script:
        "../scripts/referee_summary.py"
