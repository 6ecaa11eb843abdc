# The scorecard: one card per part of the paper (PARTS), merged for the default target. Every input path
# names its experiment or group; the script takes each name from its file, never from a list's order.


rule scorecard_part:
    """The claims of one part of the paper, each judged on the trained nets and on its control."""
    input:
        unpack(lambda w: scorecard_inputs(w.part)),
    output:
        report(f"{TABLES}/scorecard_{{part}}.csv", caption="../report/scorecard_part.rst", category="Scorecard"),
    log:
        f"{LOGS}/scorecard/{{part}}.log",
    conda:
        CONDA_ENV
    params:
        part=lambda w: w.part,
        experiments=lambda w: canonical({e: CFG["experiments"][e] for e in part_experiments(w.part)}),
        appendix_b=canonical(CFG["figures"]["appendix_b"]),
        tolerances=canonical(CFG["scorecard"]),
        confidence=CFG["fits"]["confidence"],
        kinds=lambda w: canonical({g: IMAGE_DATASETS[IMAGE_GROUPS[g]["dataset"]]["kind"] for g in part_groups(w.part)}),
        image_tolerances=canonical(IMAGES.get("scorecard", {})),
        upstream=lambda w: upstream(part_lineage(w.part)),
    script:
        "../scripts/scorecard.py"


rule scorecard:
    """The parts' cards in one table, in the paper's order (config key `parts`)."""
    input:
        expand(f"{TABLES}/scorecard_{{part}}.csv", part=WANTED_PARTS) + swish_card(),
    output:
        csv=report(f"{TABLES}/scorecard.csv", caption="../report/scorecard.rst", category="Scorecard"),
    log:
        f"{LOGS}/scorecard.log",
    conda:
        CONDA_ENV
    params:
        upstream=lambda w: upstream(
            {part: part_lineage(part) for part in WANTED_PARTS} | ({"swish": swish_lineage()} if swish_card() else {})
        ),
    script:
        "../scripts/concat_tables.py"


rule referee_summary:
    """Per paper section: what reproduced, what did not, what could not be judged."""
    input:
        f"{TABLES}/scorecard.csv",
    output:
        csv=f"{TABLES}/referee_summary.csv",
        html=report(
            f"{TABLES}/referee_summary.html", caption="../report/referee_summary.rst", category="1. Referee's summary"
        ),
    log:
        f"{LOGS}/referee_summary.log",
    conda:
        CONDA_ENV
    params:
        upstream=lambda w: upstream(
            {part: part_lineage(part) for part in WANTED_PARTS} | ({"swish": swish_lineage()} if swish_card() else {})
        ),
    script:
        "../scripts/referee_summary.py"
