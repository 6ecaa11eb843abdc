"""Figures of the real-image half (paper figs 1, 3, 4, C1-C7) from the collected tables.

Curves are geometric means over seeds (and channel permutations); thin lines are single nets
where that helps. Every function takes tidy tables (image_measure's columns) and writes
stem.{fmt} for every format.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from spatialpool.analysis.correlations import learned, log_correlation  # noqa: E402
from spatialpool.figures.scale_detection import save, setup  # noqa: E402,F401

MEASURES = {"D": "$D_k$", "G": "$G_k$", "R": "$R_k$"}
OUTPUT_MEASURES = {"D_f": "$D_f$", "G_f": "$G_f$", "R_f": "$R_f$"}
STATE_STYLE = {"best": ("-", "trained (best epoch)"), "shuffled": ("--", "shuffled channels"), "init": (":", "initialisation")}


def _palette(names):
    colours = sns.color_palette("tab10", max(10, len(names)))
    return {n: colours[i % len(colours)] for i, n in enumerate(names)}


def _geo(values) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.log(v).mean())) if len(v) else np.nan


def _empty(ax, text="not in this configuration"):
    # axis off rather than removing ticks: the axis may share its ticks with the other panels
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=8, color="0.4")


def layer_curves(ax, layers: pd.DataFrame, archs, measure="R", states=("best", "shuffled"), noise=0.0,
                 colours=None):
    """measure against relative depth k/K, one colour per architecture, one style per state."""
    colours = colours or _palette(archs)
    t = layers[layers.is_layer & (layers.noise.astype(float) == float(noise))]
    drawn = False
    for arch in archs:
        for state in states:
            d = t[(t.arch == arch) & (t.state == state)]
            if d.empty:
                continue
            r0 = d[d.kind == "input"][measure].mean() if measure == "R" else 1.0
            curve = d.groupby("rel_depth")[measure].apply(_geo) / r0
            ls, label = STATE_STYLE[state]
            ax.plot(curve.index, curve.values, ls, color=colours[arch], marker="o", markersize=2.5,
                    lw=1.4 if state == "best" else 1.1, label=f"{arch}, {label}")
            drawn = True
    if not drawn:
        _empty(ax)
        return
    ax.set(yscale="log", xlabel="relative depth $k/K$", ylabel=MEASURES[measure] + (" / $R_0$" if measure == "R" else ""))
    ax.legend(fontsize=6)


def titled(group: str, table: pd.DataFrame | None) -> str:
    """A panel's title: the group's name and the data it was measured on, as the table's `data`
    column records it (e.g. "cifar10 - CIFAR-10 (JPEG copy)": results from a JPEG copy must say so)."""
    if table is None or "data" not in table or table.empty:
        return group
    labels = list(dict.fromkeys(table["data"].astype(str)))
    return f"{group} - {', '.join(labels)}" if labels != [group] else group


def figure_depth(panels: dict[str, pd.DataFrame | None], archs, stem, formats, dpi):
    """Figs 3 and C4: R_k against k/K per data set (panel); solid trained, dashed shuffled, dotted init."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
    colours = _palette(archs)  # one colour per architecture across panels
    for ax, (title, layers) in zip(axes[0], panels.items()):
        if layers is None:
            _empty(ax, f"{title}: not in this configuration")
        else:
            layer_curves(ax, layers, [a for a in archs if a in set(layers.arch)], "R",
                         states=("best", "shuffled", "init"), colours=colours)
        ax.set_title(title)
    save(fig, stem, formats, dpi)


def figure_c2(layers: pd.DataFrame, rows, stem, formats, dpi, title=""):
    """Fig. C2: D_k, G_k, R_k against k/K (columns) for rows of architectures; dash-dot shuffled."""
    fig, axes = plt.subplots(len(rows), 3, figsize=(12, 3.6 * len(rows)), squeeze=False)
    colours = _palette(list(dict.fromkeys(a for row in rows for a in row)))
    for row_axes, archs in zip(axes, rows):
        archs = [a for a in archs if a in set(layers.arch)]
        for ax, m in zip(row_axes, ("D", "G", "R")):
            layer_curves(ax, layers, archs, m, states=("best", "shuffled"), colours=colours)
            ax.set_title(f"{title}: {', '.join(archs)}" if archs else title)
    save(fig, stem, formats, dpi)


def spectra_grid(fig_axes_row, spectra: pd.DataFrame | None, archs, title, colours, max_layers=12):
    """One row of figs 4, C6, C7: the B.1 share per eigenvector (the share of a degenerate eigenvalue
    divided by its multiplicity; 1/F^2 everywhere for i.i.d. filters) for each conv layer."""
    if spectra is None or spectra.empty or not set(archs) & set(spectra.arch):
        _empty(fig_axes_row[0], f"{title}: not in this configuration")
        for ax in fig_axes_row[1:]:
            ax.axis("off")
        return
    s = spectra[spectra.arch.isin(archs)]
    s = s[s.noise.astype(float) == 0.0] if "noise" in s else s
    depth = min(max_layers, int(s.k.max()), len(fig_axes_row))
    for k, ax in zip(range(1, len(fig_axes_row) + 1), fig_axes_row):
        if k > depth:
            ax.axis("off")
            continue
        d = s[s.k == k]
        for arch in archs:
            for state, ls in (("init", ":"), ("best", "-")):
                c = d[(d.arch == arch) & (d.state == state)].groupby("mode").per_mode.mean()
                if len(c):
                    ax.plot(c.index, c.values, ls, color=colours[arch], marker="o", markersize=2.5,
                            label=f"{arch}, {state}" if k == 1 else None)
        ax.set(title=f"{title}\nk = {k}" if k == 1 else f"k = {k}", xlabel="eigenvalue (low to high)", ylim=(0, None))
        if k == 1:
            ax.set_ylabel(r"$\tilde\gamma_{k,l}$ per eigenvector")
            ax.legend(fontsize=6)


def figure_spectra(rows: dict[str, pd.DataFrame | None], archs, stem, formats, dpi, max_layers=10):
    """Figs 4, C6, C7: rows are data sets, columns conv layers; dotted init, solid trained."""
    present = [s for s in rows.values() if s is not None and not s.empty and set(archs) & set(s.arch)]
    ncols = max([min(max_layers, int(s[s.arch.isin(archs)].k.max())) for s in present] or [1])
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.9 * ncols + 1, 2.6 * len(rows)), squeeze=False,
                             sharey=True)
    colours = _palette(archs)
    for row_axes, (title, spectra) in zip(axes, rows.items()):
        spectra_grid(row_axes, spectra, archs, title, colours, max_layers)
    save(fig, stem, formats, dpi)


def figure_c5(panels: dict[str, pd.DataFrame | None], stem, formats, dpi):
    """Fig. C5: aggregate frequency per conv layer against relative depth; dotted init, solid trained."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6), squeeze=False, sharey=True)
    for ax, (title, agg) in zip(axes[0], panels.items()):
        if agg is None or agg.empty:
            _empty(ax, f"{title}: not in this configuration")
            ax.set_title(title)
            continue
        agg = agg[agg.noise.astype(float) == 0.0] if "noise" in agg else agg
        archs = list(dict.fromkeys(agg.arch))
        colours = _palette(archs)
        for arch in archs:
            for state, ls in (("init", ":"), ("best", "-")):
                c = agg[(agg.arch == arch) & (agg.state == state)].groupby("rel_depth").aggregate_frequency.mean()
                ax.plot(c.index, c.values, ls, color=colours[arch], marker="o", markersize=2.5,
                        label=arch if state == "best" else None)
        ax.axhline(1, color="0.6", lw=0.8)
        ax.set(title=title, xlabel="relative depth of the conv layer", ylabel="aggregate frequency (C5)")
        ax.legend(fontsize=6)
    save(fig, stem, formats, dpi)


def _scatter(ax, nets: pd.DataFrame, x: str, colours, error="best_test_error", label=True,
             learned_fraction: float | None = None):
    """Test error against x per net (small) and per architecture (large); rho over the architectures
    that learned, as correlations.correlation_table computes it for the scorecard. An architecture
    that did not learn (correlations.learned) is drawn hollow and labelled '(not learned)'."""
    per_arch = nets.groupby("arch", sort=False).agg(err=(error, "mean"), val=(x, "mean"))
    classes = nets.groupby("arch", sort=False).num_classes.first() if "num_classes" in nets else 2
    per_arch["learned"] = learned(per_arch.err, classes, learned_fraction) | ~np.isfinite(per_arch.err)
    for arch, g in nets.groupby("arch", sort=False):
        ax.scatter(g[x], g[error], s=8, alpha=0.35, color=colours[arch])
    for arch, r in per_arch.iterrows():
        ax.scatter(r.val, r.err, s=30, color=colours[arch] if r.learned else "none",
                   edgecolor="k" if r.learned else colours[arch], lw=0.4 if r.learned else 1.2,
                   label=arch if r.learned else f"{arch} (not learned)")
        if label:
            ax.annotate(arch, (r.val, r.err), fontsize=6, color="0.35", xytext=(3, 3), textcoords="offset points")
    ok = per_arch[per_arch.learned & (per_arch.err > 0) & (per_arch.val > 0)]
    rho = log_correlation(ok.err, ok.val) if len(ok) > 1 else np.nan
    ax.set(xscale="log", yscale="log", xlabel=OUTPUT_MEASURES.get(x, x), ylabel="test error $\\epsilon$")
    for axis in (ax.xaxis, ax.yaxis):  # minor labels of a narrow log range overlap
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_title(f"$\\rho$ = {rho:.2f}", fontsize=8)


def figure_c1(nets: pd.DataFrame, stem, formats, dpi, title="", learned_fraction=None):
    """Fig. C1: test error against D_f, G_f, R_f across architectures (noise 0)."""
    nets = nets[nets.noise.astype(float) == 0.0]
    colours = _palette(list(dict.fromkeys(nets.arch)))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, m in zip(axes, OUTPUT_MEASURES):
        _scatter(ax, nets, m, colours, learned_fraction=learned_fraction)
    axes[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    save(fig, stem, formats, dpi)


def figure_c3(nets: pd.DataFrame, stem, formats, dpi, title="", learned_fraction=None):
    """Fig. C3: rows noise levels, columns D_f, G_f, R_f; points are architectures."""
    levels = sorted(nets.noise.astype(float).unique())
    colours = _palette(list(dict.fromkeys(nets.arch)))
    fig, axes = plt.subplots(len(levels), 3, figsize=(12, 3.4 * len(levels)), squeeze=False)
    for row, level in zip(axes, levels):
        d = nets[nets.noise.astype(float) == level]
        for ax, m in zip(row, OUTPUT_MEASURES):
            _scatter(ax, d, m, colours, learned_fraction=learned_fraction)
            ax.set_title(f"{title} noise std {level:g}: " + ax.get_title(), fontsize=8)
    axes[0, 0].legend(fontsize=6)
    save(fig, stem, formats, dpi)


def correlation_bars(ax, corr: pd.DataFrame):
    levels = sorted(corr.noise.unique())
    width = 0.26
    colours = {"D_f": "tab:blue", "G_f": "tab:orange", "R_f": "tab:green"}
    for i, m in enumerate(OUTPUT_MEASURES):
        d = corr[corr.measure == m].set_index("noise").reindex(levels)
        x = np.arange(len(levels)) + (i - 1) * width
        err = np.vstack([(d.rho - d.ci_low).clip(lower=0), (d.ci_high - d.rho).clip(lower=0)])
        ax.bar(x, d.rho, width, color=colours[m], label=OUTPUT_MEASURES[m],
               yerr=np.where(np.isfinite(err), err, 0), capsize=2, error_kw=dict(lw=0.8))
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(levels)), [f"{v:g}" for v in levels])
    ax.set(xlabel="input noise std", ylabel=r"$\rho(\epsilon, X)$", ylim=(-1.05, 1.05))
    ax.legend(fontsize=7)


def figure_1(probe: dict, nets: pd.DataFrame, corr: pd.DataFrame, stem, formats, dpi, title="",
             learned_fraction=None):
    """Fig. 1: left an image, its deformation and the matched noise; centre error vs R_f; right rho bars."""
    fig = plt.figure(figsize=(12, 3.8))
    grid = fig.add_gridspec(2, 4, width_ratios=[1, 1, 2.4, 2.4])
    x = probe["x"][:1]
    # the first probe image's first draw, as the probe set stored it (never drawn again here)
    stored = probe["example"] if probe["perturbation"] == "diffeo" else probe["perturbed"]
    deformed, noisy = stored["D"][0, 0], stored["G"][0, 0]
    images = [(x[0], "image $x$"), (deformed, r"$\tau x$"), (noisy, r"$x + \eta$"), (deformed - x[0], r"$\tau x - x$")]
    for i, (img, label) in enumerate(images):
        ax = fig.add_subplot(grid[i // 2, i % 2])
        a = img.double().mean(0).numpy()
        ax.imshow(a, cmap="gray" if i < 3 else "RdBu_r", interpolation="nearest")
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[:, 2])
    clean = nets[nets.noise.astype(float) == 0.0]
    _scatter(ax, clean, "R_f", _palette(list(dict.fromkeys(clean.arch))), learned_fraction=learned_fraction)
    ax.set_title(f"{title}: " + ax.get_title(), fontsize=8)
    ax = fig.add_subplot(grid[:, 3])
    correlation_bars(ax, corr)
    save(fig, stem, formats, dpi)


def figure_training(histories: dict[str, pd.DataFrame], stem, formats, dpi):
    """Validation and test error against epoch, one panel per group, one colour per architecture."""
    fig, axes = plt.subplots(2, len(histories), figsize=(4.6 * len(histories), 6.4), squeeze=False)
    for col, (group, h) in enumerate(histories.items()):
        colours = _palette(list(dict.fromkeys(h.arch)))
        for row, y in enumerate(("val_error", "test_error")):
            ax = axes[row, col]
            for (arch, noise, seed), g in h.groupby(["arch", "noise", "seed"], sort=False):
                ax.plot(g.epoch, g[y], color=colours[arch], lw=1, alpha=0.8 if float(noise) == 0 else 0.4,
                        ls="-" if float(noise) == 0 else "--",
                        label=arch if (seed == h[h.arch == arch].seed.iloc[0] and float(noise) == 0) else None)
            ax.set(title=group if row == 0 else "", xlabel="epoch", ylabel=y.replace("_", " "), ylim=(0, None))
            if row == 0:
                ax.legend(fontsize=6)
    save(fig, stem, formats, dpi)


def figure_trajectory(layers: pd.DataFrame, summary: pd.DataFrame, stem, formats, dpi, title=""):
    """The training trajectory: top, test error and the output's R_f, D_f, G_f against epoch (seed
    means, one colour per architecture; epoch 0 is init, drawn at the left edge of a symlog axis);
    bottom, R_k against relative depth for each architecture, one curve per recorded epoch
    (light: early, dark: late; seed means)."""
    summary = summary[summary.noise.astype(float) == 0.0]
    layers = layers[(layers.noise.astype(float) == 0.0) & layers.is_layer.astype(bool)]
    archs = list(dict.fromkeys(summary.arch))
    colours = _palette(archs)
    ncols = max(4, len(archs))
    fig, axes = plt.subplots(2, ncols, figsize=(3.4 * ncols, 6.6), squeeze=False)
    for ax, (column, label, log) in zip(axes[0], [("test_error", "test error $\\epsilon$", False),
                                                  ("R_f", "$R_f$", True), ("D_f", "$D_f$", True),
                                                  ("G_f", "$G_f$", True)]):
        for arch in archs:
            t = summary[summary.arch == arch]
            ax.plot(t.epoch, t[column], "o-", color=colours[arch], markersize=3, label=arch)
        ax.set(xscale="symlog", xlabel="epoch (0: init)", ylabel=label, yscale="log" if log else "linear")
        epochs = sorted(summary.epoch.unique())
        ax.set_xticks(epochs, [str(int(e)) for e in epochs])  # the recorded epochs, not symlog's decades
        ax.legend(fontsize=6)
    for ax in axes[0][4:]:
        ax.axis("off")
    axes[0][0].set_title(title, fontsize=8, loc="left")
    for ax, arch in zip(axes[1], archs):
        t = layers[layers.arch == arch]
        epochs = sorted(t.epoch.unique())
        shades = plt.cm.viridis(np.linspace(0.85, 0.05, len(epochs)))
        for epoch, shade in zip(epochs, shades):
            c = t[t.epoch == epoch].groupby("rel_depth").R.mean()
            ax.plot(c.index, c.values, "o-", color=shade, markersize=2.5, lw=1.1, label=f"epoch {epoch}")
        ax.set(yscale="log", xlabel="relative depth $k/K$", ylabel="$R_k$", title=arch)
        ax.legend(fontsize=6)
    for ax in axes[1][len(archs):]:
        ax.axis("off")
    save(fig, stem, formats, dpi)
