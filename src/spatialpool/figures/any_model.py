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


def figure_models(layers: pd.DataFrame, stem: str, formats=("png",), dpi: int = 150, title: str = "") -> None:
    """layers: measure_models' layer table (columns model, is_layer, rel_depth, D, G, R); writes stem.{fmt}."""
    models = list(dict.fromkeys(layers.model))
    colours = _palette(models)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, (measure, label) in zip(axes, MEASURES.items()):
        for model in models:
            t = layers[(layers.model == model) & layers.is_layer.astype(bool)].sort_values("rel_depth")
            ax.plot(t.rel_depth, t[measure], "o-", color=colours[model], markersize=3, lw=1.2, label=model)
        ax.set(yscale="log", xlabel="relative depth $k/K$", ylabel=label)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=8)
    save(fig, stem, formats, dpi)
