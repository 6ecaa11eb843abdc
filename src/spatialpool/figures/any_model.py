"""The figure of `spatialpool measure`: D_k, G_k, R_k against relative depth k/K, one curve per
model (the 'layer' points: activations, blocks and the output; k = 0 is the input, R_0 = 1),
as the paper's figure 3 draws them."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from spatialpool.figures.images import MEASURES, _palette  # noqa: E402
from spatialpool.figures.scale_detection import save  # noqa: E402


def model_blocks(layers: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per measured model, in table order. A model's rows are one block that starts
    with its `input` row (measure_model), so two models of the same name (a table not made by
    measure_models, which gives every model a distinct name) are still two curves: the second is
    labelled "name #2"."""
    if "name" not in layers or not (layers.name == "input").any():
        return [(m, layers[layers.model == m]) for m in dict.fromkeys(layers.model)]
    block = (layers.name == "input").cumsum()
    out, seen = [], {}
    for _, rows in layers.groupby(block, sort=True):
        for model in dict.fromkeys(rows.model):  # one model per block; a hand-made table may mix them
            seen[model] = seen.get(model, 0) + 1
            out.append((model if seen[model] == 1 else f"{model} #{seen[model]}", rows[rows.model == model]))
    return out


def figure_models(layers: pd.DataFrame, stem: str, formats=("png",), dpi: int = 150, title: str = "") -> None:
    """layers: measure_models' layer table (columns model, name, is_layer, rel_depth, D, G, R); one
    curve per model (model_blocks); writes stem.{fmt}."""
    blocks = model_blocks(layers)
    colours = _palette([label for label, _ in blocks])
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, (measure, label) in zip(axes, MEASURES.items()):
        for model, rows in blocks:
            t = rows[rows.is_layer.astype(bool)].sort_values("rel_depth")
            ax.plot(t.rel_depth, t[measure], "o-", color=colours[model], markersize=3, lw=1.2, label=model)
        ax.set(yscale="log", xlabel="relative depth $k/K$", ylabel=label)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=8)
    save(fig, stem, formats, dpi)
