"""Checks of the `images:` config section that its JSON schema cannot express.

Run by workflow/rules/images.smk before any DAG is built, after the schema check of common.smk;
every problem names its dotted key, all at once (as spatialpool.config does for the rest).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from spatialpool.models.registry import image_architectures
from spatialpool.models.registry import spec as registered
from spatialpool.data.kinds import DATASET_KINDS
from .image_workflow import arch_spec, n_test, normalise

N_DIGITS = 1797
IMAGENET_MODELS = ("alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
                   "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "efficientnet_b0")


def scale_detection_2d_class_counts(side: int, xi: float, gap: float) -> tuple[int, int]:
    """(+1 pairs, -1 pairs) of the 2D scale-detection task on a side x side grid: unordered pairs of
    distinct pixels at Euclidean distance d < xi - gap/2 (+1) or d >= xi + gap/2 (-1), counted by
    displacement (data/images.all_pairs_2d lists the same pairs; tests/test_config.py checks it).
    Numpy only: the config check runs before torch is imported."""
    dr, dc = np.meshgrid(np.arange(-side + 1, side), np.arange(-side + 1, side), indexing="ij")
    pairs = (side - np.abs(dr)) * (side - np.abs(dc))  # ordered pairs with this displacement
    d = np.sqrt(dr ** 2 + dc ** 2)
    nonzero = (dr != 0) | (dc != 0)
    pos = int(pairs[nonzero & (d < xi - gap / 2)].sum()) // 2
    neg = int(pairs[nonzero & (d >= xi + gap / 2)].sum()) // 2
    return pos, neg


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
            if d["gap"] <= d["xi"]:
                pos, neg = scale_detection_2d_class_counts(d["side"], d["xi"], d["gap"])
                total = d["n_train"] + d.get("n_val", 0) + d["n_test"]
                if min(pos, neg) == 0:
                    out.append(f"{key}: one class is empty ({pos} positive, {neg} negative pairs of pixels "
                               f"on a {d['side']} x {d['side']} grid with xi {d['xi']:g}, gap {d['gap']:g})")
                elif total // 2 > pos or total - total // 2 > neg:
                    out.append(f"{key}: n_train + n_val + n_test = {total} needs {total // 2} / {total - total // 2} "
                               f"pairs per class; the task has {pos} / {neg}")
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
            raw_noise = list(g["archs"][arch].get("noise", g.get("noise", [0])))
            if len(set(spec["noise"])) < len(raw_noise):
                out.append(f"{key}.archs.{arch}.noise: {raw_noise} name the same net twice in paths "
                           f"({spec['noise']}: %g labels); give distinct levels")
            if not DATASET_KINDS[d["kind"]].natural and any(float(v) != 0 for v in spec["noise"]):
                out.append(f"{key}.archs.{arch}.noise: input noise is defined for natural images ({', '.join(natural)}), "
                           f"not for '{d['kind']}'; use [0]")
            side = DATASET_KINDS[d["kind"]].side(d)
            if side < registered(arch).min_side:
                out.append(f"{key}.archs.{arch}: needs inputs of side >= {registered(arch).min_side}; set "
                           f"images.datasets.{g['dataset']}.pad_to: {registered(arch).min_side}")
            akey = f"{key}.archs.{arch}.train"
            loss = spec["train"].get("loss")
            if loss == "hinge" and DATASET_KINDS[d["kind"]].natural:
                out.append(f"{akey}.loss: hinge needs +-1 labels (scale detection); '{g['dataset']}' is a "
                           "classification data set: use cross_entropy")
            elif loss == "cross_entropy" and not DATASET_KINDS[d["kind"]].natural:
                out.append(f"{akey}.loss: cross_entropy needs class indices; '{g['dataset']}' is scale "
                           "detection with +-1 labels: use hinge")
            epochs = spec["train"].get("epochs", 250)
            late = sorted(e for e in spec["train"].get("trajectory_epochs", []) if e > epochs)
            if late:
                out.append(f"{akey}.trajectory_epochs: {late} come after the last epoch ({epochs})")
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
        elif groups[name]["dataset"] not in datasets:
            continue  # the unknown data set is reported above
        elif datasets[groups[name]["dataset"]]["kind"] not in kinds:
            out.append(f"images.figures.{role}: group '{name}' is not on a {' or '.join(kinds)} data set")
    trained = {a for g in groups.values() for a in g["archs"]}
    imagenet = images.get("imagenet") or {}
    models = set(imagenet.get("models", []))
    # figures 3 and C4 draw the nets of the group shown as the paper's CIFAR-10 (figures.images)
    shown = groups.get(figs.get("images") or "", {}).get("archs", {})
    for fig in ("fig3", "figC4"):
        for i, arch in enumerate(figs.get(fig, [])):
            if arch in trained and arch not in shown and arch not in models:
                out.append(f"images.figures.{fig}[{i}]: '{arch}' is not trained in group '{figs.get('images')}', "
                           f"the group figure {fig[3:]} draws (images.figures.images)")
    weights = imagenet.get("weights")
    if isinstance(weights, dict):
        for name in sorted(set(weights) - models):
            out.append(f"images.imagenet.weights.{name}: not one of images.imagenet.models {sorted(models)}")
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
    for i, m in enumerate(imagenet.get("models", [])):
        if m not in IMAGENET_MODELS:
            out.append(f"images.imagenet.models[{i}]: '{m}' is not a supported torchvision model; "
                       f"allowed: {list(IMAGENET_MODELS)}")
    lo, hi = images["scorecard"]["middle"]
    if not 0 <= lo < hi <= 1:
        out.append(f"images.scorecard.middle: need 0 <= low < high <= 1, got [{lo}, {hi}]")
    return out
