"""Pure plotting: arrays or a History in, a figure out.

Each function builds a figure the first time and, given that figure back (`fig=`), updates its artists
in place (set_data, set_offsets) instead of rebuilding it, which keeps sliders fast.
Figures are plain matplotlib Figures, not pyplot ones, so a background thread can draw them safely.
"""
import io
import math

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure as MplFigure
from PIL import Image

TERM_COLOURS = {"recon": "C0", "l1": "C1", "kl_sparsity": "C1", "contractive": "C2", "kl": "C3", "total": "k"}


class Figure(MplFigure):
    """A matplotlib Figure that Jupyter shows as a PNG when a cell ends with it, with or without pyplot."""

    def _repr_png_(self):
        return to_png(self)


def _new(fig, width, height):
    if fig is None:
        # fixed margins instead of a layout engine: redraws for sliders take half the time
        fig = Figure(figsize=(width, height), dpi=80)
        fig.subplots_adjust(left=0.2, right=0.96, bottom=0.18, top=0.9)
        fig.ae = {}  # the artists to update on the next call
    return fig


def image_rows(rows, row_titles=(), col_titles=(), cmap="gray", vmin=0.0, vmax=1.0, fig=None, cell=1.0):
    """A grid of images: rows is a list of arrays (n, H, W), one per row; titles label rows and columns."""
    rows = [np.asarray(r) for r in rows]
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    if fig is not None and fig.ae.get("grid") != (n_rows, n_cols):
        fig.clf()
        fig.ae = {}
    fig = _new(fig, cell * n_cols + 0.6, cell * n_rows + 0.3)
    if "ims" not in fig.ae:
        axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False))
        fig.ae.update(grid=(n_rows, n_cols), axes=axes, ims={})
        for (i, j), ax in np.ndenumerate(axes):
            ax.set_xticks([]), ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
    axes, ims = fig.ae["axes"], fig.ae["ims"]
    for i, row in enumerate(rows):
        for j in range(n_cols):
            if j >= len(row):
                axes[i, j].set_visible(False)
                continue
            if (i, j) in ims:
                ims[i, j].set_data(row[j])
                ims[i, j].set_clim(vmin, vmax)
            else:
                ims[i, j] = axes[i, j].imshow(row[j], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        if i < len(row_titles):
            axes[i, 0].set_ylabel(row_titles[i], fontsize=9)
    for j, title in enumerate(col_titles):
        axes[0, j].set_title(title, fontsize=8)
    return fig


def curves(series, xlabel="", ylabel="", title="", logx=False, logy=False, markers=False, fig=None, size=(4.2, 2.8)):
    """Line plot of series {label: (x, y)}; new labels add lines, known ones update in place."""
    fig = _new(fig, *size)
    if "ax" not in fig.ae:
        fig.ae.update(ax=fig.add_subplot(), lines={})
    ax, lines = fig.ae["ax"], fig.ae["lines"]
    for label, (x, y) in series.items():
        if label in lines:
            lines[label].set_data(x, y)
        else:
            style = dict(marker="o", markersize=4) if markers else {}
            if label.endswith("(test)"):
                style["linestyle"] = "--"
            colour = TERM_COLOURS.get(label.split(" ")[0])
            (lines[label],) = ax.plot(x, y, label=label, color=colour, **style)
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    ax.relim()
    ax.autoscale_view()
    if lines:
        ax.legend(fontsize=8)
    return fig


def loss_curves(history, split="steps", fig=None, terms=None):
    """Every loss term of a History: per training step (split='steps') or per epoch ('train' and 'test')."""
    names = [t for t in (terms or history.terms) if t != "total" or len(history.terms) > 2]
    series = {}
    if split == "steps":
        for t in names:
            y = history.steps[t]
            series[t] = (np.arange(1, len(y) + 1), y)
        xlabel = "training step"
    else:
        for t in names:
            for s in ("train", "test"):
                y = getattr(history, s)[t]
                if y:
                    series[f"{t} ({s})"] = (np.arange(1, len(y) + 1), y)
        xlabel = "epoch"
    positive = all(min(y, default=1) > 0 for _, y in series.values())
    return curves(series, xlabel=xlabel, ylabel="loss", title="loss terms", logy=positive, fig=fig)


def histogram(values, bins=40, xlabel="activation", title="", fig=None, size=(4.2, 2.8), logy=True):
    """Histogram of values, drawn as one step artist that updates in place."""
    values = np.asarray(values).ravel()
    counts, edges = np.histogram(values, bins=bins)
    fig = _new(fig, *size)
    if "stairs" not in fig.ae:
        ax = fig.add_subplot()
        fig.ae.update(ax=ax, stairs=ax.stairs(counts, edges, fill=True, alpha=0.7))
    ax = fig.ae["ax"]
    fig.ae["stairs"].set_data(counts, edges)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0.8 if logy else 0, max(1, counts.max()) * 1.5)
    ax.set_yscale("log" if logy else "linear")
    ax.set(xlabel=xlabel, ylabel="count", title=title)
    ax.title.set_fontsize(10)
    return fig


def scatter(points, labels=None, xlabel="", ylabel="", title="", highlight=(), fig=None, size=(4.2, 3.6)):
    """2-D scatter coloured by label; `highlight` indices are ringed (e.g. two chosen examples)."""
    points = np.asarray(points)
    fig = _new(fig, *size)
    if "points" not in fig.ae:
        ax = fig.add_subplot()
        sc = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=8, alpha=0.8)
        ring = ax.scatter([], [], s=90, facecolors="none", edgecolors="k", linewidths=1.5)
        if labels is not None and len(np.unique(labels)) <= 10:
            fig.colorbar(sc, ax=ax, label="label", ticks=np.unique(labels))
        fig.ae.update(ax=ax, points=sc, ring=ring)
    ax = fig.ae["ax"]
    fig.ae["points"].set_offsets(points)
    fig.ae["ring"].set_offsets(points[list(highlight)] if len(highlight) else np.empty((0, 2)))
    pad = 0.05 * (np.ptp(points, axis=0) + 1e-9)
    ax.set_xlim(points[:, 0].min() - pad[0], points[:, 0].max() + pad[0])
    ax.set_ylim(points[:, 1].min() - pad[1], points[:, 1].max() + pad[1])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    return fig


def latent_scatter_plotly(points, labels, hover, xlabel="h1", ylabel="h2", widget=True):
    """Interactive latent scatter (plotly): colour by label, hover names the example."""
    import plotly.graph_objects as go
    fig_type = go.FigureWidget if widget else go.Figure
    fig = fig_type(go.Scattergl(x=points[:, 0], y=points[:, 1], mode="markers", text=hover, hoverinfo="text",
                                marker=dict(color=labels, colorscale="Turbo", size=6, showscale=True,
                                            colorbar=dict(title="label"))))
    fig.update_layout(width=460, height=380, margin=dict(l=40, r=10, t=30, b=40), xaxis_title=xlabel, yaxis_title=ylabel,
                      title=dict(text="latent space (hover: which example; click: pick it)", font=dict(size=13)))
    return fig


def bars(names, values, ylabel="", title="", fig=None, size=(4.2, 2.8), reference=None):
    """Bar chart of named values; `reference` draws a dashed horizontal line (e.g. the noisy input's PSNR)."""
    fig = _new(fig, *size)
    fig.clf()
    ax = fig.add_subplot()
    ax.bar(names, values, color=[f"C{i}" for i in range(len(names))])
    if reference is not None:
        ax.axhline(reference, color="k", linestyle="--", linewidth=1)
    ax.set(ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        ax.set_ylim(min(0, min(finite)) * 1.1, max(finite) * 1.15 if max(finite) > 0 else 0)
    return fig


def image_grid(rows, cmap="gray", vmin=0.0, vmax=1.0, cell=72, gap=3):
    """Rows of images (each an array (n, H, W)) tiled into one RGB array, each image about `cell` pixels tall.

    This is what sliders show: tiling with numpy and encoding with Pillow takes a few milliseconds,
    where drawing the same grid as matplotlib axes takes a hundred.
    """
    rows = [np.asarray(r, dtype=np.float32) for r in rows]
    h, w = rows[0].shape[1:3]
    scale = max(1, round(cell / h))
    n_cols = max(len(r) for r in rows)
    canvas = np.ones((len(rows) * (h * scale + gap) - gap, n_cols * (w * scale + gap) - gap, 3), dtype=np.uint8) * 255
    colour = colormaps[cmap]
    for i, row in enumerate(rows):
        norm = np.clip((row - vmin) / ((vmax - vmin) or 1.0), 0, 1)
        rgb = (colour(norm)[..., :3] * 255).astype(np.uint8)  # (n, H, W, 3)
        rgb = rgb.repeat(scale, axis=1).repeat(scale, axis=2)
        for j, img in enumerate(rgb):
            top, left = i * (h * scale + gap), j * (w * scale + gap)
            canvas[top:top + h * scale, left:left + w * scale] = img
    return canvas


def png(array):
    """An RGB uint8 array as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def to_png(fig):
    """Render a figure to PNG bytes (for an ipywidgets.Image)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
