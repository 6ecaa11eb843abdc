"""Checks of the `images:` config section that its JSON schema cannot express.

Run by workflow/rules/images.smk before any DAG is built, after the schema check of common.smk;
every problem names its dotted key, all at once (as spatialpool.config does for the rest).
"""
from __future__ import annotations

from pathlib import Path

from spatialpool.models.registry import image_architectures
from spatialpool.models.registry import spec as registered
from spatialpool.data.kinds import DATASET_KINDS
from .image_workflow import arch_spec, n_test, normalise

N_DIGITS = 1797
IMAGENET_MODELS = ("alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
                   "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "efficientnet_b0")


def image_problems(config: dict) -> list[str]:
    raw = config.get("images")
    if not raw:
        return []
    natural = tuple(n for n, k in DATASET_KINDS.items() if k.natural)
    out = []  # duplicate data set and group names: config.duplicate_names
    for i, g in enumerate(raw["groups"]):
        archs = [a["arch"] for a in g["archs"]]
        for a in sorted({a for a in archs if archs.count(a) > 1}):
            out.append(f"images.groups[{i}].archs: '{a}' is listed {archs.count(a)} times")
    if out:
        return out
    images = normalise(raw)
    datasets, groups = images["datasets"], images["groups"]
    probe = images["probe"]
    unknown = {name: d["kind"] for name, d in datasets.items() if d["kind"] not in DATASET_KINDS}
    for name, k in unknown.items():
        out.append(f"images.datasets.{name}.kind: unknown data set kind '{k}'; allowed: {sorted(DATASET_KINDS)}")
    if unknown:
        return out
    for name, d in datasets.items():
        key = f"images.datasets.{name}"
        if d["kind"] == "digits" and d["n_val"] + d["n_test"] >= N_DIGITS:
            out.append(f"{key}: n_val + n_test = {d['n_val'] + d['n_test']} leaves no training images of {N_DIGITS}")
        if d["kind"] == "scale_detection_2d":
            if d["gap"] > d["xi"]:
                out.append(f"{key}.gap: {d['gap']} is larger than the scale xi = {d['xi']}")
            if d.get("pad_to", 32) < d["side"]:
                out.append(f"{key}.pad_to: {d['pad_to']} is smaller than the image side {d['side']}")
        if d["kind"] == "cifar10" and d.get("n_train") is not None and d["n_train"] > 50000 - d["n_val"]:
            out.append(f"{key}.n_train: {d['n_train']} is more than the {50000 - d['n_val']} training images "
                       f"left after n_val = {d['n_val']}")
        source = config.get("cifar10_source")
        if d["kind"] == "cifar10" and source is not None and not Path(source).exists():
            out.append(f"cifar10_source: {source} does not exist (give the official archive, its extracted "
                       "batches, or an image folder or archive; null downloads the official archive)")
        if probe["size"] > n_test(d) and any(g["dataset"] == name for g in groups.values()):
            out.append(f"images.probe.size: {probe['size']} is larger than the test set of '{name}' ({n_test(d)} images); "
                       "the probe set is drawn from the test set")
    for gname, g in groups.items():
        key = f"images.groups.{gname}"
        if g["dataset"] not in datasets:
            out.append(f"{key}.dataset: unknown data set '{g['dataset']}'; allowed: {sorted(datasets)}")
            continue
        d = datasets[g["dataset"]]
        for arch in g["archs"]:
            if arch not in image_architectures():
                out.append(f"{key}.archs.{arch}: unknown architecture; allowed: {sorted(image_architectures())}")
                continue
            spec = arch_spec(images, gname, arch)
            if not DATASET_KINDS[d["kind"]].natural and any(float(v) != 0 for v in spec["noise"]):
                out.append(f"{key}.archs.{arch}.noise: input noise is defined for natural images ({', '.join(natural)}), "
                           f"not for '{d['kind']}'; use [0]")
            side = DATASET_KINDS[d["kind"]].side(d)
            if side < registered(arch).min_side:
                out.append(f"{key}.archs.{arch}: needs inputs of side >= {registered(arch).min_side}; set "
                           f"images.datasets.{g['dataset']}.pad_to: {registered(arch).min_side}")
            selection = spec["train"].get("selection", "validation")
            n_val = d.get("n_val", 0)
            if selection == "validation" and n_val == 0:
                out.append(f"{key}.archs.{arch}.train.selection: 'validation' needs images.datasets."
                           f"{g['dataset']}.n_val > 0 (or the authors' selection: test)")
    figs = images["figures"]
    detection = tuple(n for n, k in DATASET_KINDS.items() if k.task == "scale_detection")
    for role, kinds in (("images", natural), ("scale_detection", detection)):
        name = figs.get(role)
        if name is None:
            continue  # no group shown in that role: its panels say 'not in this configuration'
        if name not in groups:
            out.append(f"images.figures.{role}: unknown group '{name}'; allowed: {sorted(groups)}")
        elif datasets.get(groups[name]["dataset"], {}).get("kind") not in kinds:
            out.append(f"images.figures.{role}: group '{name}' is not on a {' or '.join(kinds)} data set")
    trained = {a for g in groups.values() for a in g["archs"]}
    models = set(images.get("imagenet", {}).get("models", []))
    for fig in ("fig3", "fig4", "figC4", "figC6", "figC7"):
        if fig == "figC6" and "imagenet" not in images:
            continue  # drawn only with ImageNet
        for i, arch in enumerate(figs.get(fig, [])):
            if arch not in trained | models:
                out.append(f"images.figures.{fig}[{i}]: '{arch}' is neither trained in a group nor an ImageNet model")
    for r, row in enumerate(figs.get("figC2", []) if figs.get("scale_detection") else []):
        for i, arch in enumerate(row):
            if arch not in trained:
                out.append(f"images.figures.figC2[{r}][{i}]: '{arch}' is not trained in any group")
    for i, m in enumerate(images.get("imagenet", {}).get("models", [])):
        if m not in IMAGENET_MODELS:
            out.append(f"images.imagenet.models[{i}]: '{m}' is not a supported torchvision model; "
                       f"allowed: {list(IMAGENET_MODELS)}")
    lo, hi = images["scorecard"]["middle"]
    if not 0 <= lo < hi <= 1:
        out.append(f"images.scorecard.middle: need 0 <= low < high <= 1, got [{lo}, {hi}]")
    return out
