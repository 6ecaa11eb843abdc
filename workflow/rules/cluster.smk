# Cluster execution (profiles/slurm; README, "Running on a cluster"): these rules are light (tables, figures, the
# scorecard, the target) and run on the submitting machine instead of waiting in the SLURM queue.
# (The image half's light rules are local in its own rule files.) Local runs are unaffected.
# Resources, groups and retries of the submitted rules are in the profile.


localrules:
    all,
    section2,
    section3,
    section4,
    appendix_a,
    appendix_b,
    appendix_c,
    collect_training,
    select_checkpoints,
    collect_experiment,
    fit_exponents,
    fits_table,
    mean_filter_tables,
    scorecard_part,
    scorecard,
    referee_summary,
    fig7,
    fig_windows,
    figB1,
    figB2,
    fig_appendix_A,
    fig_receptive_field,
    fig_training,
    model_measurements,
    swish,
    swish_theory,
    fig_swish,
