"""Plots for the lessons. Each function draws the arrays or tables it is given and returns the figure.

Nothing here trains, attacks or loads data. Images are float32 in [0, 1] or
uint8 in 0..255, shape (n, 28, 28) or (n, 28, 28, 1).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _as_2d(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    return image[..., 0] if image.ndim == 3 else image


def image_grid(images, titles=None, ncols: int = 8, size: float = 1.4, cmap: str = "gray",
               suptitle: str | None = None, title_colors=None):
    """A grid of digits, one optional title (and title colour) each."""
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
    vmax = 255 if images.dtype == np.uint8 else 1.0
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(_as_2d(images[i]), cmap=cmap, vmin=0, vmax=vmax)
        if titles is not None:
            color = title_colors[i] if title_colors is not None else "black"
            ax.set_title(str(titles[i]), fontsize=9, color=color)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def label_histogram(labels_by_split: dict, num_classes: int = 10):
    """Bars of how many examples each digit has, one colour per split (``{"train": labels, ...}``)."""
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / max(1, len(labels_by_split))
    for k, (split, labels) in enumerate(labels_by_split.items()):
        counts = np.bincount(np.asarray(labels), minlength=num_classes)
        ax.bar(np.arange(num_classes) + k * width, counts, width, label=f"{split} ({len(labels):,})")
    ax.set_xticks(np.arange(num_classes) + width * (len(labels_by_split) - 1) / 2, range(num_classes))
    ax.set_xlabel("digit")
    ax.set_ylabel("examples")
    ax.legend()
    fig.tight_layout()
    return fig


def learning_curves(history: dict, metrics=("loss", "accuracy")):
    """Training (and validation, when present) curves per epoch from a Keras ``History.history`` dict."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        if metric not in history:
            raise KeyError(f"history has no {metric!r}; it has {', '.join(history)}")
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], "o-", label="train")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(matrix: np.ndarray, title: str = "confusion matrix"):
    """A confusion matrix (rows: true digit, columns: predicted digit), counts written in the cells."""
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    shown = matrix.astype(float).copy()
    np.fill_diagonal(shown, np.nan)  # the diagonal would drown the errors: colour errors only
    ax.imshow(shown, cmap="Reds")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j]:
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7,
                        color="black" if i != j else "gray")
    ax.set_xticks(range(matrix.shape[1]))
    ax.set_yticks(range(matrix.shape[0]))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
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
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.5, 4))
    styles = ["-", "--", ":", "-."]
    attacks_seen = list(dict.fromkeys(table["attack"]))
    colors = dict(zip(dict.fromkeys(table["model"]), plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3))
    for (model, attack), rows in table.groupby(["model", "attack"], sort=False):
        rows = rows.sort_values("eps")
        ax.plot(rows["eps"], 100 * rows["accuracy"], marker="o", color=colors[model],
                linestyle=styles[attacks_seen.index(attack) % len(styles)], label=f"{model} · {attack}")
    ax.set_xlabel("epsilon (L-inf, pixel range [0, 1])")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def signed_heatmaps(arrays, titles, size: float = 2.4, suptitle: str | None = None):
    """Side-by-side maps of signed arrays (gradients, perturbations): red positive, blue negative, white zero."""
    fig, axes = plt.subplots(1, len(arrays), figsize=(size * len(arrays), size * 1.1), squeeze=False)
    for ax, array, title in zip(axes.flat, arrays, titles):
        array = _as_2d(np.asarray(array, dtype=float))
        limit = float(np.max(np.abs(array))) or 1.0
        im = ax.imshow(array, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
