# Real images, figures 1, 3, 4, C1-C7 and the training curves: one script draws them all, by rule name;
# the ImageNet panels appear with images.imagenet and say "not in this configuration" otherwise.


rule fig1:
    input:
        probe=lambda w: f"{IM}/probes/{IMAGE_GROUPS[IMG_GROUP]['dataset']}.pt",
        nets=collected_file(IMG_GROUP, "nets"),
        correlations=f"{TABLES}/correlations_{IMG_GROUP}.csv",
    output:
        figure("fig1", "fig1.rst", "Real images", "Section 2"),
    log:
        f"{LOGS}/plots/fig1.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(group=IMG_GROUP, learned_fraction=IMAGES.get("correlations", {}).get("learned_fraction")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP], imagenet=False)),
    script:
        "../scripts/plot_image_figure.py"


rule fig3:
    input:
        layers=collected_file(IMG_GROUP, "layers"),
        imagenet=imagenet_file("layers"),
    output:
        figure("fig3", "fig3.rst", "Real images", "Section 2"),
    log:
        f"{LOGS}/plots/fig3.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(group=IMG_GROUP, archs=IMAGE_FIGS.get("fig3")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP], imagenet=True)),
    script:
        "../scripts/plot_image_figure.py"


rule fig4:
    input:
        images=collected_file(IMG_GROUP, "spectra"),
        imagenet=imagenet_file("spectra"),
        scale_detection=collected_file(SD_GROUP, "spectra"),
    output:
        figure("fig4", "fig4.rst", "Real images", "Section 2"),
    log:
        f"{LOGS}/plots/fig4.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(groups=[IMG_GROUP, SD_GROUP], archs=IMAGE_FIGS.get("fig4")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP, SD_GROUP], imagenet=True)),
    script:
        "../scripts/plot_image_figure.py"


rule figC1:
    input:
        nets=collected_file(SD_GROUP, "nets"),
    output:
        figure("figC1", "figC1.rst", "Real images", "Appendix C"),
    log:
        f"{LOGS}/plots/figC1.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(group=SD_GROUP, learned_fraction=IMAGES.get("correlations", {}).get("learned_fraction")),
        upstream=lambda w: upstream(image_lineage([SD_GROUP], imagenet=False)),
    script:
        "../scripts/plot_image_figure.py"


rule figC2:
    input:
        layers=collected_file(SD_GROUP, "layers"),
    output:
        figure("figC2", "figC2.rst", "Real images", "Appendix C"),
    log:
        f"{LOGS}/plots/figC2.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(group=SD_GROUP, rows=IMAGE_FIGS.get("figC2")),
        upstream=lambda w: upstream(image_lineage([SD_GROUP], imagenet=False)),
    script:
        "../scripts/plot_image_figure.py"


rule figC3:
    input:
        nets=collected_file(IMG_GROUP, "nets"),
    output:
        figure("figC3", "figC3.rst", "Real images", "Appendix C"),
    log:
        f"{LOGS}/plots/figC3.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(group=IMG_GROUP, learned_fraction=IMAGES.get("correlations", {}).get("learned_fraction")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP], imagenet=False)),
    script:
        "../scripts/plot_image_figure.py"


rule figC4:
    input:
        layers=collected_file(IMG_GROUP, "layers"),
        imagenet=imagenet_file("layers"),
    output:
        figure("figC4", "figC4.rst", "Real images", "Appendix C"),
    log:
        f"{LOGS}/plots/figC4.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(group=IMG_GROUP, archs=IMAGE_FIGS.get("figC4")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP], imagenet=True)),
    script:
        "../scripts/plot_image_figure.py"


rule figC5:
    input:
        images=collected_file(IMG_GROUP, "aggregates"),
        imagenet=imagenet_file("aggregates"),
        scale_detection=collected_file(SD_GROUP, "aggregates"),
    output:
        figure("figC5", "figC5.rst", "Real images", "Appendix C"),
    log:
        f"{LOGS}/plots/figC5.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(groups=[IMG_GROUP, SD_GROUP]),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP, SD_GROUP], imagenet=True)),
    script:
        "../scripts/plot_image_figure.py"


rule figC6:
    input:
        imagenet=imagenet_file("spectra"),
    output:
        figure("figC6", "figC6.rst", "Real images", "Appendix C"),
    log:
        f"{LOGS}/plots/figC6.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(archs=IMAGE_FIGS.get("figC6")),
        upstream=lambda w: upstream(image_lineage([], imagenet=True)),
    script:
        "../scripts/plot_image_figure.py"


rule figC7:
    input:
        images=collected_file(IMG_GROUP, "spectra"),
        imagenet=imagenet_file("spectra"),
        scale_detection=collected_file(SD_GROUP, "spectra"),
    output:
        figure("figC7", "figC7.rst", "Real images", "Appendix C"),
    log:
        f"{LOGS}/plots/figC7.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(groups=[IMG_GROUP, SD_GROUP], archs=IMAGE_FIGS.get("figC7")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP, SD_GROUP], imagenet=True)),
    script:
        "../scripts/plot_image_figure.py"


rule fig_image_training:
    input:
        [f for g in IMAGE_GROUP_NAMES for f in collected_file(g, "history")],
    output:
        figure("fig_image_training", "fig_image_training.rst", "Real images", "Training"),
    log:
        f"{LOGS}/plots/fig_image_training.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(groups=IMAGE_GROUP_NAMES),  # in the order of the inputs
        upstream=lambda w: upstream(image_lineage(IMAGE_GROUP_NAMES, imagenet=False)),
    script:
        "../scripts/plot_image_figure.py"


rule fig_trajectory:
    input:
        layers=collected_file(TRAJECTORY_GROUPS[0] if TRAJECTORY_GROUPS else "none", "trajectory"),
        summary=f"{TABLES}/trajectory_{TRAJECTORY_GROUPS[0] if TRAJECTORY_GROUPS else 'none'}.csv",
    output:
        figure("fig_trajectory", "fig_trajectory.rst", "Real images", "Section 2"),
    log:
        f"{LOGS}/plots/fig_trajectory.log",
    conda:
        CONDA_ENV
    params:
        image_plot_params(group=TRAJECTORY_GROUPS[0] if TRAJECTORY_GROUPS else None),
        upstream=lambda w: upstream(image_measured(TRAJECTORY_GROUPS[0], trajectory_nets(TRAJECTORY_GROUPS[:1]))),
    script:
        "../scripts/plot_image_figure.py"


# Light rules (tables, figures, the target) run on the submitting machine on a cluster.
localrules:
    image_collect,
    trajectory_collect,
    fig_trajectory,
    image_correlations,
    imagenet_collect,
    table_C1,
    fig1,
    fig3,
    fig4,
    figC1,
    figC2,
    figC3,
    figC4,
    figC5,
    figC6,
    figC7,
    fig_image_training,
