"""Plots for the lessons. Each function draws the arrays or tables it is given and returns the figure.

Nothing here trains, attacks or loads data. Images are float32 in [0, 1] or
uint8 in 0..255, shape (n, 28, 28) or (n, 28, 28, 1).

One style for the collection (:data:`STYLE`, applied by :func:`use_style`,
which ``helpers.setup()`` calls): text large enough for a projector at the
back of a room, digits in grey (:data:`IMAGE_CMAP`), the symmetric red-blue
map (:data:`SIGNED_CMAP`) only for signed quantities (perturbations,
gradients) with 0 in white, and legends placed outside the axes below them,
so they never squeeze a panel.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import inputs


IMAGE_CMAP = "gray"          # digits: black background, white strokes, as MNIST stores them
SIGNED_CMAP = "RdBu_r"       # signed quantities only: red positive, blue negative, white zero
# Categories (models, splits, runs): the Okabe-Ito palette, told apart by colour-blind readers too; each also gets
# a marker (lines) or a hatch (bars), so no meaning rests on colour alone.
CATEGORY_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", ":", "-."]
HATCHES = ["", "//", "..", "xx", "\\\\", "--"]
# A clean image and its attacked version, side by side: told apart by colour (blue, vermillion from the Okabe-Ito
# palette, safe for colour-blind readers) and by a hatch, never by colour alone.
PAIR_STYLE = {"clean": {"color": "#0072B2"}, "attacked": {"color": "#D55E00", "hatch": "//", "edgecolor": "white"}}
STYLE = {
    "figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
    "font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 11, "ytick.labelsize": 11,
    "legend.fontsize": 11, "figure.titlesize": 14, "axes.titlelocation": "center",
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    "image.cmap": IMAGE_CMAP, "lines.linewidth": 2.0, "lines.markersize": 5,
    # one palette for every figure (CATEGORY_COLORS), and an opaque white ground that survives a dark theme
    "axes.prop_cycle": plt.cycler(color=CATEGORY_COLORS), "figure.facecolor": "white", "savefig.facecolor": "white",
    "axes.facecolor": "white",
}


def use_style() -> None:
    """Apply :data:`STYLE` to every figure drawn from now on in this kernel."""
    plt.rcParams.update(STYLE)


def _legend_below(fig, axes, handles=None, labels=None, ncol: int | None = None) -> None:
    """One legend for the figure, outside and below its panels (constrained layout keeps the panels whole)."""
    if handles is None:
        handles, labels = [], []
        for ax in np.ravel(axes):
            for h, label in zip(*ax.get_legend_handles_labels()):
                if label not in labels:
                    handles.append(h)
                    labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol or min(len(labels), 3), frameon=False)


def _checked_images(images, where: str) -> np.ndarray:
    """Images to draw: uint8 in 0..255 or float in [0, 1], shape (n, h, w) or (n, h, w, 1), checked."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        if images.ndim not in (3, 4) or len(images) == 0:
            raise ValueError(f"{where}: images must be a non-empty batch (n, 28, 28[, 1]), got {images.shape}")
        return images
    if images.ndim == 3 and images.shape[-1] != 1:
        images = images[..., None]
    return inputs.images(images, where=where)


def _as_2d(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    return image[..., 0] if image.ndim == 3 else image


def image_grid(images, titles=None, ncols: int = 8, size: float = 1.6, cmap: str = IMAGE_CMAP,
               suptitle: str | None = None, title_colors=None):
    """A grid of digits, one optional title (and title colour) each."""
    images = _checked_images(images, "plotting.image_grid")
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    lines = max((str(t).count("\n") + 1 for t in titles), default=0) if titles is not None else 0
    # each row: the digit, and room for its title's lines (10 pt is about 0.19 inch a line), so none overlaps
    height = nrows * (size + 0.19 * lines) + (0.4 if suptitle else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, height), squeeze=False)
    vmax = 255 if images.dtype == np.uint8 else 1.0
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(_as_2d(images[i]), cmap=cmap, vmin=0, vmax=vmax)
        if titles is not None:
            color = title_colors[i] if title_colors is not None else "black"
            ax.set_title(str(titles[i]), fontsize=10, color=color)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def label_histogram(labels_by_split: dict, num_classes: int = inputs.NUM_CLASSES):
    """Bars of how many examples each digit has, one colour per split (``{"train": labels, ...}``)."""
    fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    width = 0.8 / max(1, len(labels_by_split))
    for k, (split, labels) in enumerate(labels_by_split.items()):
        counts = np.bincount(np.asarray(labels), minlength=num_classes)
        ax.bar(np.arange(num_classes) + k * width, counts, width, label=f"{split} ({len(labels):,})",
               color=CATEGORY_COLORS[k % len(CATEGORY_COLORS)], hatch=HATCHES[k % len(HATCHES)], edgecolor="white")
    ax.set_xticks(np.arange(num_classes) + width * (len(labels_by_split) - 1) / 2, range(num_classes))
    ax.set_xlabel("digit")
    ax.set_ylabel("examples")
    _legend_below(fig, ax)
    return fig


def learning_curves(history: dict, metrics=("loss", "accuracy")):
    """Training (and validation, when present) curves per epoch from a Keras ``History.history`` dict."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False, layout="constrained")
    for ax, metric in zip(axes.flat, metrics):
        if metric not in history:
            raise KeyError(f"history has no {metric!r}; it has {', '.join(history)}")
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], "o-", color=CATEGORY_COLORS[0], label="train")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "s--", color=CATEGORY_COLORS[1], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
    _legend_below(fig, axes)
    return fig


def confusion_matrix(matrix: np.ndarray, title: str = "confusion matrix"):
    """A confusion matrix (rows: true digit, columns: predicted digit), counts written in the cells.

    Only the errors are coloured (the diagonal would drown them); each count is written in black on a light cell
    and in white on a dark one, so every number stays readable.
    """
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    shown = matrix.astype(float).copy()
    np.fill_diagonal(shown, np.nan)  # the diagonal would drown the errors: colour errors only
    top = np.nanmax(shown) if np.isfinite(shown).any() and np.nanmax(shown) > 0 else 1.0
    image = ax.imshow(shown, cmap="Reds", vmin=0, vmax=top)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j]:
                dark = i != j and shown[i, j] > 0.55 * top
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=8,
                        color="white" if dark else ("0.35" if i == j else "black"))
    ax.set_xticks(range(matrix.shape[1]))
    ax.set_yticks(range(matrix.shape[0]))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    ax.grid(False)
    fig.colorbar(image, ax=ax, shrink=0.8, label="errors")
    fig.tight_layout()
    return fig


def accuracy_vs_epsilon(table, title: str = "accuracy under attack", ax=None):
    """Accuracy (y, %) against eps (x), one line per (model, attack) of a tidy table.

    ``table``: a pandas DataFrame (or list of dicts) with columns ``model``,
    ``attack``, ``eps`` and ``accuracy`` (fraction 0..1). Put the threat
    model (norm, steps, restarts, images) in ``title``.
    """
    import pandas as pd

    table = pd.DataFrame(table)
    missing = {"model", "attack", "eps", "accuracy"} - set(table.columns)
    if missing:
        raise KeyError(f"the table lacks columns {sorted(missing)}")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 5), layout="constrained")
    attacks_seen = list(dict.fromkeys(table["attack"]))
    models_seen = list(dict.fromkeys(table["model"]))
    for (model, attack), rows in table.groupby(["model", "attack"], sort=False):
        rows = rows.sort_values("eps")
        m, a = models_seen.index(model), attacks_seen.index(attack)
        # a model: a colour and a marker; an attack: a line style (one model: the attacks get the colours)
        k = a if len(models_seen) == 1 else m
        ax.plot(rows["eps"], 100 * rows["accuracy"], color=CATEGORY_COLORS[k % len(CATEGORY_COLORS)],
                marker=MARKERS[k % len(MARKERS)], linestyle=LINESTYLES[a % len(LINESTYLES)],
                label=f"{model} · {attack}")
    ax.set_xlabel("epsilon (L-inf, pixel range [0, 1])")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(title)
    if fig.get_layout_engine() is not None and len(fig.axes) == 1:
        _legend_below(fig, ax)
    else:
        ax.legend(fontsize=9)
    return fig


def signed_heatmaps(arrays, titles, size: float = 2.6, suptitle: str | None = None, *, ncols: int = 4,
                    shared_scale: bool = True):
    """Maps of signed arrays (gradients, perturbations): red positive, blue negative, white zero.

    ``shared_scale=True`` (default) draws every panel on one symmetric scale with one colour bar, so colours
    compare across panels; ``False`` gives each panel its own scale and bar. At most ``ncols`` panels a row.
    Digits themselves belong in :func:`image_grid` (grey), not here.
    """
    arrays = [_as_2d(np.asarray(a, dtype=float)) for a in arrays]
    if not arrays or len(arrays) != len(titles):
        raise ValueError(f"need one title per array and at least one array, got {len(arrays)} and {len(titles)}")
    for title, array in zip(titles, arrays):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"plotting.signed_heatmaps: {title!r} holds NaN or infinite values")
    ncols = min(ncols, len(arrays))
    nrows = -(-len(arrays) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + (0.8 if shared_scale else 0), size * nrows * 1.1),
                             squeeze=False, layout="constrained")
    shared = max(float(np.max(np.abs(a))) for a in arrays) or 1.0
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(arrays):
            continue
        limit = shared if shared_scale else (float(np.max(np.abs(arrays[i]))) or 1.0)
        im = ax.imshow(arrays[i], cmap=SIGNED_CMAP, vmin=-limit, vmax=limit)
        ax.set_title(titles[i], fontsize=11)
        if not shared_scale:
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if shared_scale:
        fig.colorbar(im, ax=axes, shrink=0.8, label="value (0 in white)")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def prediction_grid(images, labels, predictions: dict, ncols: int = 8, size: float = 1.5, suptitle: str | None = None):
    """The NSL tutorial's grid: each image titled with its true label and every model's prediction.

    ``predictions`` maps a model name to predicted classes (n,). A title is
    red when any model is wrong. Returns the figure.
    """
    images = _checked_images(images, "plotting.prediction_grid")
    labels = inputs.labels(labels, len(images), where="plotting.prediction_grid")
    for name, predicted in predictions.items():
        if len(predicted) != len(labels):
            raise ValueError(f"{name!r} has {len(predicted)} predictions for {len(labels)} images")
    titles, colors = [], []
    for i, label in enumerate(labels):
        titles.append(f"true {label}\n" + "\n".join(f"{name} {int(p[i])}" for name, p in predictions.items()))
        colors.append("crimson" if any(int(p[i]) != label for p in predictions.values()) else "black")
    fig = image_grid(images, titles, ncols=ncols, size=size, title_colors=colors)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def confidence_bars(probabilities: dict, true_label: int, title: str | None = None):
    """Class probabilities as bars, one panel per entry (e.g. ``{"base, clean": p, "base, attacked": q}``).

    ``probabilities``: name -> array of 10 probabilities (0..1). The true class is drawn in blue, the predicted
    class (when wrong) in hatched vermillion, and each is named in the panel's title: not by colour alone.
    """
    n = len(probabilities)
    ncols = min(n, 3)                                   # at most three a row: readable on a projector
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows), sharey=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (name, p) in zip(axes.flat, probabilities.items()):
        p = np.asarray(p, float)
        if p.ndim != 1 or not np.isclose(p.sum(), 1.0, atol=1e-3):
            raise ValueError(f"{name!r}: expected one probability vector that sums to 1, got shape {p.shape}")
        said = int(np.argmax(p))
        bars = ax.bar(range(len(p)), p, color="0.8")
        bars[true_label].set_color(PAIR_STYLE["clean"]["color"])
        if said != true_label:
            bars[said].set(color=PAIR_STYLE["attacked"]["color"], hatch="//", edgecolor="white")
        ax.set_xticks(range(len(p)))
        ax.set_ylim(0, 1.05)
        verdict = "right" if said == true_label else f"wrong; true {true_label}: {p[true_label]:.0%}"
        ax.set_title(f"{name}\nsays {said} ({p.max():.0%}), {verdict}", fontsize=10)
        ax.set_xlabel("class")
    for row in axes:
        row[0].set_ylabel("probability")
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def loss_along_directions(steps, curves: dict, title: str | None = None):
    """Mean loss (y) against the distance moved (x), one panel per model, one line per direction.

    ``curves``: model name -> {direction name -> losses (len(steps),)}.
    """
    n = len(curves)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 4), sharey=True, squeeze=False, layout="constrained")
    for ax, (model, by_direction) in zip(axes.flat, curves.items()):
        for direction, losses in by_direction.items():
            if len(losses) != len(steps):
                raise ValueError(f"{model}/{direction}: {len(losses)} losses for {len(steps)} steps")
            ax.plot(steps, losses, marker="o", markersize=3, label=direction)
        ax.set_title(model)
        ax.set_xlabel("distance moved (L-inf)")
    axes.flat[0].set_ylabel("mean cross-entropy")
    _legend_below(fig, axes)
    if title:
        fig.suptitle(title)
    return fig


def step_curves(runs: dict, panels: dict, *, x: str = "step", title: str | None = None, log_panels=()):
    """Measurements against training steps: one panel per measured column, one line per run.

    ``runs``: run name -> DataFrame with column ``x`` and the columns named in
    ``panels`` (column -> panel title); a run lacking a column is left out of
    that panel. Columns in ``log_panels`` get a logarithmic y axis.
    """
    if not runs or not panels:
        raise ValueError("need at least one run and one panel")
    n = len(panels)
    # at least 8.5 inches wide: one panel with a legend of long run names below it would otherwise be a sliver
    fig, axes = plt.subplots(1, n, figsize=(max(4.6 * n, 8.5), 4.2), squeeze=False, layout="constrained")
    for ax, (column, panel_title) in zip(axes.flat, panels.items()):
        for name, table in runs.items():
            if column in table and x in table:
                k = list(runs).index(name)
                ax.plot(table[x], table[column], color=CATEGORY_COLORS[k % len(CATEGORY_COLORS)],
                        marker=MARKERS[k % len(MARKERS)], markersize=3.5, linestyle=LINESTYLES[k % len(LINESTYLES)],
                        label=name)
        ax.set_title(panel_title)
        ax.set_xlabel(x)
        if column in log_panels:
            ax.set_yscale("log")
    _legend_below(fig, axes)
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig, name: str, folder=None):
    """Save ``fig`` as ``<folder>/<name>.png`` (default folder: ``<artifacts>/figures``); return the path."""
    from pathlib import Path

    from . import config

    folder = Path(folder) if folder is not None else config.artifacts_dir() / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    fig.savefig(target, dpi=120, bbox_inches="tight")
    return target


class Table:
    """A table for a lesson to show: a pandas DataFrame formatted for a room and for a screen reader.

    Numbers read as numbers (``0.1``, not ``0.100000``; ``93.4%`` for the columns named in ``percent``), booleans
    as ✓ and ✗, long text wrapped in its cell instead of cut off, a caption when given. Jupyter shows it as HTML
    (its ``text/plain`` is the same table as text, not an object's address). ``df`` keeps the data.
    """

    def __init__(self, df, *, percent=(), caption: str | None = None, index: bool = True):
        import pandas as pd

        self.df = pd.DataFrame(df)
        if percent is True:                                           # every numeric column
            percent = [c for c in self.df.columns if pd.api.types.is_float_dtype(self.df[c])]
        self.percent, self.caption, self.index = tuple(percent), caption, index
        unknown = [c for c in self.percent if c not in self.df.columns]
        if unknown:
            raise KeyError(f"plotting.table: no column {unknown} to show as a percentage; columns: {list(self.df)}")

    def _cell(self, column, value) -> str:
        import numbers

        if isinstance(value, (bool, np.bool_)):
            return "✓" if value else "✗"
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if column in self.percent and isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            return f"{100 * float(value):.1f}%"
        if isinstance(value, numbers.Integral):
            return f"{int(value):,}"
        if isinstance(value, numbers.Real):
            return f"{float(value):.4g}"
        return str(value)

    def formatted(self):
        """The table as strings, as it is shown (its index and column labels too: ``0.1``, not ``0.100000``)."""
        shown = self.df.copy().astype(object)
        for column in shown.columns:
            shown[column] = [self._cell(column, v) for v in self.df[column]]
        label = lambda v: f"{v:g}" if isinstance(v, float) else v  # noqa: E731
        shown.index = shown.index.map(lambda v: tuple(map(label, v)) if isinstance(v, tuple) else label(v))
        shown.columns = shown.columns.map(lambda v: tuple(map(label, v)) if isinstance(v, tuple) else label(v))
        return shown

    def _repr_html_(self) -> str:
        styler = self.formatted().style.set_table_styles([
            {"selector": "td", "props": "white-space: normal; text-align: left; max-width: 36em; vertical-align: top"},
            {"selector": "th", "props": "text-align: left"},
        ])
        if not self.index:
            styler = styler.hide(axis="index")
        if self.caption:
            styler = styler.set_caption(self.caption)
        return styler.to_html()

    def __repr__(self) -> str:
        text = self.formatted().to_string(index=self.index)
        return f"{self.caption}\n{text}" if self.caption else text


def table(df, *, percent=(), caption: str | None = None, index: bool = True) -> Table:
    """``df`` formatted for a lesson (see :class:`Table`); make it a cell's last line to show it.

    ``percent``: the columns holding fractions to show as percentages, or ``True`` for every float column.
    """
    return Table(df, percent=percent, caption=caption, index=index)


def grouped_bars(table, *, title: str, ylabel: str = "accuracy (%)", percent: bool = True):
    """Bars grouped by row (e.g. a model), one bar per column (e.g. an attack), each labelled with its value.

    ``table``: a DataFrame of values (fractions 0..1 when ``percent``, drawn as %). Columns are told apart by
    colour and by a hatch, and the legend sits below the axes. Returns the figure.
    """
    import pandas as pd

    table = pd.DataFrame(table) * (100 if percent else 1)
    fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
    width = 0.8 / max(1, table.shape[1])
    rows = np.arange(len(table))
    for k, column in enumerate(table.columns):
        bars = ax.bar(rows - 0.4 + width * (k + 0.5), table[column], width, label=str(column),
                      color=CATEGORY_COLORS[k % len(CATEGORY_COLORS)], hatch=HATCHES[k % len(HATCHES)],
                      edgecolor="white")
        ax.bar_label(bars, fmt="%.0f", fontsize=10)
    ax.set_xticks(rows, [str(i) for i in table.index])
    ax.set_ylabel(ylabel)
    if percent:
        ax.set_ylim(0, 110)
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    _legend_below(fig, ax, ncol=min(table.shape[1], 3))
    return fig


def logit_paths(t, logits, true_class: int, *, title: str | None = None, xlabel: str = "t"):
    """Every class's logit along a path of images (``logits``: (len(t), classes)), the true class and the class
    the path ends on drawn thick and named at the end of their lines, the others in grey."""
    logits = np.asarray(logits)
    t = np.asarray(t)
    if logits.ndim != 2 or len(logits) != len(t):
        raise ValueError(f"plotting.logit_paths: need logits of shape (len(t), classes), got {logits.shape} for "
                         f"{len(t)} points")
    end = int(logits[-1].argmax())
    fig, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
    for k in range(logits.shape[1]):
        named = k in (true_class, end)
        ax.plot(t, logits[:, k], lw=2.8 if named else 1,
                color=CATEGORY_COLORS[0 if k == true_class else 1] if named else "0.75",
                linestyle="-" if k == true_class or not named else "--")
        if named:
            ax.annotate(f"class {k}{' (true)' if k == true_class else ''}", (t[-1], logits[-1, k]), xytext=(6, 0),
                        textcoords="offset points", va="center", fontsize=11)
    ax.set_xlim(t[0], t[-1] + 0.27 * (t[-1] - t[0]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("logit")
    if title:
        ax.set_title(title)
    return fig
