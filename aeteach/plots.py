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


DPI = 100  # at 80 dpi a 9 pt label is 10 pixels tall: too small on a projector
MARGINS = dict(left=0.21, right=0.96, bottom=0.17, top=0.9)  # in figure fractions, for one axes with labels


def _new(fig, width, height, margins=MARGINS):
    if fig is None:
        # fixed margins instead of a layout engine: redraws for sliders take half the time
        fig = Figure(figsize=(width, height), dpi=DPI)
        fig.subplots_adjust(**margins)
        fig.ae = {}  # the artists to update on the next call
    return fig


def _image_margins(width, height, row_titles, col_titles, bottom_in=0.0, right_in=0.0):
    """Margins in inches turned into figure fractions, so a grid of images has no empty band beside it."""
    left_in = 0.3 if row_titles else 0.05
    top_in = 0.25 if col_titles else 0.05
    return dict(left=left_in / width, right=1 - (0.05 + right_in) / width, bottom=(0.05 + bottom_in) / height,
                top=1 - top_in / height, wspace=0.06, hspace=0.06)


def image_rows(rows, row_titles=(), col_titles=(), cmap="gray", vmin=0.0, vmax=1.0, fig=None, cell=1.0,
               colorbar=None, legend=()):
    """A grid of images: rows is a list of arrays (n, H, W), one per row; titles label rows and columns.

    colorbar: a colour bar beside the grid (default: when vmin < 0, i.e. signed values such as weights).
    legend: [(colour, meaning), ...] drawn as patches under the grid (e.g. what a mask's colours mean).
    """
    rows = [np.asarray(r) for r in rows]
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    colorbar = vmin < 0 if colorbar is None else colorbar
    legend = list(legend)
    if fig is not None and fig.ae.get("grid") != (n_rows, n_cols):
        fig.clf()
        fig.ae = {}
    bottom_in, right_in = (0.35 if legend else 0.0), (0.7 if colorbar else 0.0)
    width = cell * n_cols + (0.3 if row_titles else 0.05) + 0.05 + right_in
    height = cell * n_rows + (0.25 if col_titles else 0.05) + 0.05 + bottom_in
    fig = _new(fig, width, height, _image_margins(width, height, row_titles, col_titles, bottom_in, right_in))
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
        axes[0, j].set_title(title, fontsize=9)
    if colorbar and "colorbar" not in fig.ae and ims:
        cax = fig.add_axes([1 - (right_in - 0.1) / width, 0.1, 0.12 / width, 0.8])
        fig.ae["colorbar"] = fig.colorbar(next(iter(ims.values())), cax=cax)
        fig.ae["colorbar"].ax.tick_params(labelsize=8)
    if legend and "legend" not in fig.ae:
        from matplotlib.patches import Patch
        handles = [Patch(facecolor=colour, edgecolor="k", label=text) for colour, text in legend]
        fig.ae["legend"] = fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
                                      frameon=False, borderaxespad=0.1)
    return fig


def curves(series, xlabel="", ylabel="", title="", logx=False, logy=False, markers=False, fig=None, size=(4.2, 2.8),
           styles=None, point_labels=None):
    """Line plot of series {label: (x, y)}; new labels add lines, known ones update in place.

    styles: {label: matplotlib line keywords} (e.g. a dashed line with markers for a curve that another hides);
    point_labels: {label: [text per point]} written beside each point (e.g. the lambda of each model).
    """
    fig = _new(fig, *size)
    if "ax" not in fig.ae:
        fig.ae.update(ax=fig.add_subplot(), lines={}, notes={})
    ax, lines, notes = fig.ae["ax"], fig.ae["lines"], fig.ae["notes"]
    for label, (x, y) in series.items():
        if label in lines:
            lines[label].set_data(x, y)
        else:
            style = dict(marker="o", markersize=4) if markers else {}
            if label.endswith("(test)"):
                style["linestyle"] = "--"
            style.setdefault("color", TERM_COLOURS.get(label.split(" ")[0]))
            style.update((styles or {}).get(label, {}))
            (lines[label],) = ax.plot(x, y, label=label, **style)
        texts = (point_labels or {}).get(label)
        if texts is not None:
            for note in notes.pop(label, []):
                note.remove()
            notes[label] = [ax.annotate(str(t), (xi, yi), xytext=(3, 3), textcoords="offset points", fontsize=8,
                                        color=lines[label].get_color(), annotation_clip=False)
                            for t, xi, yi in zip(texts, x, y)]
            ax.margins(x=0.12)  # room for the label of the last point
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    ax.relim()
    ax.autoscale_view()
    if lines:
        ax.legend(fontsize=9)
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
        classes = np.unique(labels) if labels is not None else ()
        categorical = 0 < len(classes) <= 10 and np.issubdtype(np.asarray(labels).dtype, np.integer)
        # classes are categories, not a scale: one tab10 colour each (colour i for label i) and a legend
        colour = dict(c=np.asarray(labels) % 10, cmap="tab10", vmin=-0.5, vmax=9.5) if categorical else dict(c=labels)
        sc = ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.8, **colour)
        ring = ax.scatter([], [], s=90, facecolors="none", edgecolors="k", linewidths=1.5)
        if categorical:
            from matplotlib.lines import Line2D
            handles = [Line2D([], [], marker="o", linestyle="", color=colormaps["tab10"](int(c) % 10), label=str(c))
                       for c in classes]
            ax.legend(handles=handles, title="label", fontsize=8, title_fontsize=8, loc="center left",
                      bbox_to_anchor=(1.0, 0.5), frameon=False, handletextpad=0.1, borderaxespad=0.2)
            fig.subplots_adjust(right=0.82)
        elif labels is not None:
            fig.colorbar(sc, ax=ax, label="label")
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
    # bars are redrawn whole (no slider moves them), so a layout engine can fit the rotated labels: fixed
    # margins clipped them
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    ax.bar(range(len(names)), values, color=[f"C{i}" for i in range(len(names))])
    ax.set_xticks(range(len(names)), [str(n) for n in names], rotation=35, ha="right", rotation_mode="anchor",
                  fontsize=9)
    if reference is not None:
        ax.axhline(reference, color="k", linestyle="--", linewidth=1)
    ax.set(ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
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


def manifold_2d(data, panels, fig=None, size=(8.4, 4.0)):
    """2-D toy autoencoders side by side: the data (grey dots), each model's learned manifold (orange dots) and arrows.

    data: points (N, 2). panels: one dict per axes with `title`, `manifold` (M, 2): where the model sends a grid,
    and optionally `arrows` = (at (G, 2), vectors (G, 2)), drawn at their true length (a denoising field), and
    `segments` = (at (P, 2), unit directions (P, 2)), drawn as short lines through each point.
    Given its figure back, it moves the dots, arrows and segments in place.
    """
    from matplotlib.collections import LineCollection
    fig = _new(fig, *size, margins=dict(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.15))
    if "panels" not in fig.ae:
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        fig.ae["panels"] = []
        for ax in axes:
            ax.scatter(*np.asarray(data).T, s=3, c="0.6", label="data")
            ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
            ax.tick_params(labelsize=8)
            fig.ae["panels"].append(dict(ax=ax, manifold=ax.scatter([], [], s=3, c="C1", label="g(f(grid))")))
    for p, spec in zip(fig.ae["panels"], panels):
        ax = p["ax"]
        ax.set_title(spec.get("title", ""), fontsize=10)
        p["manifold"].set_offsets(np.asarray(spec["manifold"]))
        if spec.get("arrows") is not None:
            at, v = (np.asarray(a) for a in spec["arrows"])
            if "arrows" not in p:
                p["arrows"] = ax.quiver(at[:, 0], at[:, 1], v[:, 0], v[:, 1], color="C0", angles="xy", scale_units="xy",
                                        scale=1, width=0.004, label="g(f(x)) - x")
            p["arrows"].set_offsets(at)
            p["arrows"].set_UVC(v[:, 0], v[:, 1])
        if spec.get("segments") is not None:
            at, d = (np.asarray(a) for a in spec["segments"])
            lines = np.stack([at - 0.03 * d, at + 0.03 * d], 1)  # (P, 2 ends, 2)
            if "segments" not in p:
                p["segments"] = ax.add_collection(LineCollection([], colors="C3", linewidths=2, label="most sensitive direction"))
            p["segments"].set_segments(lines)
        if "legend" not in p:
            p["legend"] = ax.legend(fontsize=7, loc="lower right", markerscale=2, framealpha=0.8)
    return fig
