# Figures of the real-image half: 1, 3, 4, C1-C7 and the training curves. One script draws them
# all (scripts/plot_image_figure.py, by rule name); the ImageNet panels appear when the config has
# images.imagenet, and say "not in this configuration" otherwise.

IMAGE_FIGS = IMAGES.get("figures", {})
IMG_GROUP = IMAGE_FIGS.get("images")
SD_GROUP = IMAGE_FIGS.get("scale_detection")
IMAGE_PLOT_RULES = ["fig1", "fig3", "fig4", "figC1", "figC2", "figC3", "figC4", "figC5", "figC7",
                    "fig_image_training"] + (["figC6"] if IMAGENET else [])


def collected_file(group, kind):
    return f"{IM}/collected/{group}/{kind}.csv"


def imagenet_file(kind):
    return [f"{IM}/collected/imagenet/{kind}.csv"] if IMAGENET else []


def image_plot_params(**extra):
    return canonical(dict(plot=plot_params(), **extra))


rule fig1:
    input:
        probe=lambda w: f"{IM}/probes/{IMAGE_GROUPS[IMG_GROUP]['dataset']}.pt",
        nets=collected_file(IMG_GROUP, "nets"),
        correlations=f"{TABLES}/correlations_{IMG_GROUP}.csv",
    output:
        figure("fig1", "fig1.rst", "Real images", "Section 2"),
    params:
        image_plot_params(group=IMG_GROUP, learned_fraction=IMAGES.get("correlations", {}).get("learned_fraction")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP], imagenet=False)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig1.log",
    script:
        "../scripts/plot_image_figure.py"


rule fig3:
    input:
        layers=collected_file(IMG_GROUP, "layers"),
        imagenet=imagenet_file("layers"),
    output:
        figure("fig3", "fig3.rst", "Real images", "Section 2"),
    params:
        image_plot_params(group=IMG_GROUP, archs=IMAGE_FIGS.get("fig3")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP], imagenet=True)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig3.log",
    script:
        "../scripts/plot_image_figure.py"


rule fig4:
    input:
        images=collected_file(IMG_GROUP, "spectra"),
        imagenet=imagenet_file("spectra"),
        scale_detection=collected_file(SD_GROUP, "spectra"),
    output:
        figure("fig4", "fig4.rst", "Real images", "Section 2"),
    params:
        image_plot_params(groups=[IMG_GROUP, SD_GROUP], archs=IMAGE_FIGS.get("fig4")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP, SD_GROUP], imagenet=True)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig4.log",
    script:
        "../scripts/plot_image_figure.py"


rule figC1:
    input:
        nets=collected_file(SD_GROUP, "nets"),
    output:
        figure("figC1", "figC1.rst", "Real images", "Appendix C"),
    params:
        image_plot_params(group=SD_GROUP, learned_fraction=IMAGES.get("correlations", {}).get("learned_fraction")),
        upstream=lambda w: upstream(image_lineage([SD_GROUP], imagenet=False)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figC1.log",
    script:
        "../scripts/plot_image_figure.py"


rule figC2:
    input:
        layers=collected_file(SD_GROUP, "layers"),
    output:
        figure("figC2", "figC2.rst", "Real images", "Appendix C"),
    params:
        image_plot_params(group=SD_GROUP, rows=IMAGE_FIGS.get("figC2")),
        upstream=lambda w: upstream(image_lineage([SD_GROUP], imagenet=False)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figC2.log",
    script:
        "../scripts/plot_image_figure.py"


rule figC3:
    input:
        nets=collected_file(IMG_GROUP, "nets"),
    output:
        figure("figC3", "figC3.rst", "Real images", "Appendix C"),
    params:
        image_plot_params(group=IMG_GROUP, learned_fraction=IMAGES.get("correlations", {}).get("learned_fraction")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP], imagenet=False)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figC3.log",
    script:
        "../scripts/plot_image_figure.py"


rule figC4:
    input:
        layers=collected_file(IMG_GROUP, "layers"),
        imagenet=imagenet_file("layers"),
    output:
        figure("figC4", "figC4.rst", "Real images", "Appendix C"),
    params:
        image_plot_params(group=IMG_GROUP, archs=IMAGE_FIGS.get("figC4")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP], imagenet=True)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figC4.log",
    script:
        "../scripts/plot_image_figure.py"


rule figC5:
    input:
        images=collected_file(IMG_GROUP, "aggregates"),
        imagenet=imagenet_file("aggregates"),
        scale_detection=collected_file(SD_GROUP, "aggregates"),
    output:
        figure("figC5", "figC5.rst", "Real images", "Appendix C"),
    params:
        image_plot_params(groups=[IMG_GROUP, SD_GROUP]),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP, SD_GROUP], imagenet=True)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figC5.log",
    script:
        "../scripts/plot_image_figure.py"


rule figC6:
    input:
        imagenet=imagenet_file("spectra"),
    output:
        figure("figC6", "figC6.rst", "Real images", "Appendix C"),
    params:
        image_plot_params(archs=IMAGE_FIGS.get("figC6")),
        upstream=lambda w: upstream(image_lineage([], imagenet=True)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figC6.log",
    script:
        "../scripts/plot_image_figure.py"


rule figC7:
    input:
        images=collected_file(IMG_GROUP, "spectra"),
        imagenet=imagenet_file("spectra"),
        scale_detection=collected_file(SD_GROUP, "spectra"),
    output:
        figure("figC7", "figC7.rst", "Real images", "Appendix C"),
    params:
        image_plot_params(groups=[IMG_GROUP, SD_GROUP], archs=IMAGE_FIGS.get("figC7")),
        upstream=lambda w: upstream(image_lineage([IMG_GROUP, SD_GROUP], imagenet=True)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/figC7.log",
    script:
        "../scripts/plot_image_figure.py"


rule fig_image_training:
    input:
        [collected_file(g, "history") for g in IMAGE_GROUP_NAMES],
    output:
        figure("fig_image_training", "fig_image_training.rst", "Real images", "Training"),
    params:
        image_plot_params(groups=IMAGE_GROUP_NAMES),  # in the order of the inputs
        upstream=lambda w: upstream(image_lineage(IMAGE_GROUP_NAMES, imagenet=False)),
    conda:
        CONDA_ENV
    log:
        "logs/plots/fig_image_training.log",
    script:
        "../scripts/plot_image_figure.py"


def image_outputs():
    """Targets of the real-image half, intermediates included (empty without an `images:` section)."""
    if not IMAGES:
        return []
    out = [f"{TABLES}/table_C1.csv", f"{TABLES}/scorecard_images.csv"] + image_intermediates()
    out += [f"{TABLES}/correlations_{g}.csv" for g in IMAGE_GROUP_NAMES]
    for fig in IMAGE_PLOT_RULES:
        out += expand(f"{FIGURES}/{fig}.{{fmt}}", fmt=FORMATS)
    return out


rule images:
    """Only the real-image half: snakemake images"""
    input:
        image_outputs(),


# Light rules (tables, figures, the target) run on the submitting machine on a cluster.
localrules: images, image_collect, image_correlations, imagenet_collect, table_C1, image_scorecard, fig1, fig3, fig4, figC1, figC2, figC3, figC4, figC5, figC6, figC7, fig_image_training
