import sys
from pathlib import Path

from spatialpool.figures import images as ip
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

i, p, fig = snakemake.input, snakemake.params[0], snakemake.rule
ip.setup(p["plot"]["context"])
stem = str(Path(snakemake.output[0]).with_suffix(""))
formats, dpi = [Path(f).suffix[1:] for f in snakemake.output], p["plot"]["dpi"]


def read(files):
    """A collected table, or None where the configuration has none (ImageNet)."""
    files = [files] if isinstance(files, str) else list(files)
    return read_table(files[0]) if files else None


if fig == "fig1":
    from spatialpool.perturbations.probes import load_probe  # imports torch: only the figure that shows the probe

    probe, nets = load_probe(i.probe), read(i.nets)
    ip.figure_1(probe, nets, read(i.correlations), stem, formats, dpi, title=ip.titled(p["group"], nets),
                learned_fraction=p.get("learned_fraction"))
elif fig in ("fig3", "figC4"):
    layers = read(i.layers)
    panels = {ip.titled(p["group"], layers): layers, "ImageNet": read(i.imagenet)}
    ip.figure_depth(panels, p["archs"], stem, formats, dpi)
elif fig in ("fig4", "figC7"):
    images, sd = read(i.images), read(i.scale_detection)
    rows = {ip.titled(p["groups"][0] or "images", images): images, "ImageNet": read(i.imagenet),
            ip.titled(p["groups"][1] or "scale detection", sd): sd}
    ip.figure_spectra(rows, p["archs"], stem, formats, dpi)
elif fig == "figC6":
    ip.figure_spectra({"ImageNet": read(i.imagenet)}, p["archs"], stem, formats, dpi, max_layers=16)
elif fig == "figC1":
    nets = read(i.nets)
    ip.figure_c1(nets, stem, formats, dpi, title=ip.titled(p["group"], nets), learned_fraction=p.get("learned_fraction"))
elif fig == "figC2":
    layers = read(i.layers)
    ip.figure_c2(layers, p["rows"], stem, formats, dpi, title=ip.titled(p["group"], layers))
elif fig == "figC3":
    nets = read(i.nets)
    ip.figure_c3(nets, stem, formats, dpi, title=ip.titled(p["group"], nets), learned_fraction=p.get("learned_fraction"))
elif fig == "figC5":
    images, sd = read(i.images), read(i.scale_detection)
    panels = {ip.titled(p["groups"][0] or "images", images): images, "ImageNet": read(i.imagenet),
              ip.titled(p["groups"][1] or "scale detection", sd): sd}
    ip.figure_c5(panels, stem, formats, dpi)
elif fig == "fig_trajectory":
    layers = read(i.layers)
    ip.figure_trajectory(layers, read(i.summary), stem, formats, dpi, title=ip.titled(p["group"], layers))
elif fig == "fig_image_training":
    ip.figure_training({g: read_table(f) for g, f in zip(p["groups"], i)}, stem, formats, dpi)
else:
    raise ValueError(f"no figure for rule {fig}")
print(f"{fig} written to {stem}.{{{','.join(formats)}}}")
