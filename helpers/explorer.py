"""An interactive attack explorer for class: pick a digit, an attack and an epsilon; see what every model says.

::

    ui = explorer.AttackExplorer({"base": base, "PGD-trained": robust}, x_test[:100], y_test[:100])
    ui.controls(index=0, attack="FGSM", eps=0.1)    # the cell's last line: controls, a readout and one figure

In JupyterLab the sliders and the menu sit above one figure, which they redraw; a line of text under them
says what the figure shows. Where widgets cannot run (the website, a slideshow, a notebook reopened without
its kernel, CI), the same output shows the figure of the starting values as a plain image. ``ui.draw(...)``
returns that figure alone, for a test or a script.

The figure shows the clean digit and the attacked one (grey), the perturbation (red-blue, 0 in white, on a
fixed scale of +-eps_max so sizes compare as the slider moves) and, per model, the probability it gives its
predicted class, clean and attacked, with the class it says and the probability of the true class written
beside each bar. Attacks run on one image at a time: a fraction of a second each on a CPU.
"""
from __future__ import annotations

import base64
import functools
import io
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from . import attacks, inputs, plotting

if TYPE_CHECKING:                  # ipywidgets is imported when the controls are built, not before
    import ipywidgets as widgets

DEFAULT_ATTACKS = {
    "FGSM": attacks.fgsm,
    "PGD-20": functools.partial(attacks.pgd, steps=20, seed=0),
}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


class AttackExplorer:
    """One digit, one attack, one epsilon; every model's prediction and confidence.

    ``models``: name -> Keras model (logits); ``x``: float32 images (n, 28, 28, 1) in [0, 1]; ``y``: integer
    labels (n,); ``attack_set``: name -> ``attack(model, x, y, eps=...)`` (default FGSM and PGD-20, L-inf);
    the perturbation is crafted on ``source`` (a name of ``models``, default the first) and shown to every
    model, so for the others it is a transfer attack. ``eps_max``: the slider's end (pixel units).
    """

    def __init__(self, models: dict, x, y, *, attack_set: dict | None = None, source: str | None = None,
                 eps_max: float = 0.4):
        if not models:
            raise ValueError("explorer: give at least one model, as {name: model}")
        self.x = inputs.images(x, where="explorer.AttackExplorer")
        self.y = inputs.labels(y, len(self.x), where="explorer.AttackExplorer")
        self.models = dict(models)
        for name, model in self.models.items():
            inputs.logits_model(model, where=f"explorer.AttackExplorer ({name})")
        self.attack_set = dict(attack_set or DEFAULT_ATTACKS)
        self.source = source or next(iter(self.models))
        if self.source not in self.models:
            raise ValueError(f"explorer: source {self.source!r} is not one of the models {', '.join(self.models)}")
        if not 0 < eps_max <= 1:
            raise ValueError(f"explorer: eps_max must be in (0, 1], got {eps_max}")
        self.eps_max = float(eps_max)
        self.figure = None

    def _check(self, index: int, attack: str, eps: float) -> None:
        if not 0 <= index < len(self.x):
            raise ValueError(f"explorer: index must be in 0..{len(self.x) - 1}, got {index}")
        if attack not in self.attack_set:
            raise ValueError(f"explorer: unknown attack {attack!r}; use one of {', '.join(self.attack_set)}")
        if not 0 <= eps <= 1:
            raise ValueError(f"explorer: eps must be in [0, 1] (pixel units), got {eps}")

    def attacked(self, index: int, attack: str, eps: float) -> np.ndarray:
        """The adversarial version (1, 28, 28, 1) of image ``index``, crafted on the source model."""
        self._check(index, attack, eps)
        x = self.x[index:index + 1]
        if eps == 0:
            return x.copy()
        return np.asarray(self.attack_set[attack](self.models[self.source], x, self.y[index:index + 1], eps=eps))

    def predictions(self, images: np.ndarray) -> dict:
        """Model name -> class probabilities (10,) for one image (1, 28, 28, 1)."""
        return {name: tf.nn.softmax(model(images, training=False)[0]).numpy() for name, model in self.models.items()}

    def _state(self, index: int, attack: str | None, eps: float) -> dict:
        attack = attack or next(iter(self.attack_set))
        x_adv = self.attacked(index, attack, eps)
        return {"index": index, "attack": attack, "eps": eps, "label": int(self.y[index]),
                "x": self.x[index:index + 1], "x_adv": x_adv,
                "clean": self.predictions(self.x[index:index + 1]), "adv": self.predictions(x_adv)}

    @staticmethod
    def _says(probabilities: np.ndarray, label: int) -> str:
        """``says 7 (99%)`` when right; ``says 3 (62%; true 7: 20%)`` when wrong."""
        said = int(np.argmax(probabilities))
        if said == label:
            return f"says {said} ({probabilities[said]:.0%})"
        return f"says {said} ({probabilities[said]:.0%}; true {label}: {probabilities[label]:.0%})"

    def title(self, index: int = 0, attack: str | None = None, eps: float = 0.2) -> str:
        """The figure's title for these values."""
        attack = attack or next(iter(self.attack_set))
        return f"test image {index}: {attack} at L-inf eps {eps:.2f}, crafted on {self.source}"

    def _readout(self, state: dict) -> str:
        per_model = "; ".join(f"{name}: clean {self._says(state['clean'][name], state['label'])}, "
                              f"attacked {self._says(state['adv'][name], state['label'])}"
                              for name in self.models)
        return (f"{self.title(state['index'], state['attack'], state['eps'])} (true class {state['label']}). "
                f"{per_model}.")

    def describe(self, index: int = 0, attack: str | None = None, eps: float = 0.2) -> str:
        """One sentence saying what the figure for these values shows: the digit, the attack, each model's answer."""
        return self._readout(self._state(index, attack, eps))

    def _draw(self, state: dict) -> Figure:
        index, attack, eps, label = state["index"], state["attack"], state["eps"], state["label"]
        x, x_adv, clean, adv = state["x"], state["x_adv"], state["clean"], state["adv"]
        fig = Figure(figsize=(13, 4), layout="constrained")       # not pyplot: Jupyter never shows it by itself
        grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 1.2, 2.6])
        for k, (image, title) in enumerate([(x, f"clean, true class {label}"), (x_adv, f"{attack}, eps {eps:.2f}")]):
            ax = fig.add_subplot(grid[0, k])
            ax.imshow(image[0, ..., 0], cmap=plotting.IMAGE_CMAP, vmin=0, vmax=1)
            ax.set_title(title, fontsize=12)
            ax.axis("off")
        ax = fig.add_subplot(grid[0, 2])
        im = ax.imshow((x_adv - x)[0, ..., 0], cmap=plotting.SIGNED_CMAP, vmin=-self.eps_max, vmax=self.eps_max)
        ax.set_title("perturbation", fontsize=12)
        ax.axis("off")
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax = fig.add_subplot(grid[0, 3])
        names = list(self.models)
        rows = np.arange(len(names))
        for offset, (probabilities, when) in enumerate([(clean, "clean"), (adv, "attacked")]):
            said = [int(np.argmax(probabilities[n])) for n in names]
            confidence = [probabilities[n][s] for n, s in zip(names, said)]
            bars = ax.barh(rows - 0.2 + 0.4 * offset, confidence, height=0.38, label=when,
                           **plotting.PAIR_STYLE[when])
            for bar, name, s, p in zip(bars, names, said, confidence):
                true = "" if s == label else f", true {label}: {probabilities[name][label]:.0%}"
                note = f"says {s} ({p:.0%}){true}"
                ax.text(p + 0.02, bar.get_y() + bar.get_height() / 2, note, va="center", fontsize=11)
        ax.set_yticks(rows, [f"{n}{' (source)' if n == self.source else ''}" for n in names])
        ax.invert_yaxis()
        ax.set_xlim(0, 1.75)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_xlabel("probability of the predicted class")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=10, frameon=False)
        fig.suptitle(self.title(index, attack, eps))
        fig.set_facecolor("white")
        return fig

    def draw(self, index: int = 0, attack: str | None = None, eps: float = 0.2) -> Figure:
        """Draw digit ``index`` under ``attack`` at ``eps`` and return the figure (its title says what it shows).

        The figure is a plain matplotlib ``Figure``, not a pyplot one: a cell that only assigns it shows nothing,
        and one that ends with it shows it once.
        """
        self.figure = self._draw(self._state(index, attack, eps))
        return self.figure

    def controls(self, index: int = 0, attack: str | None = None, eps: float = 0.2) -> "widgets.VBox":
        """Sliders for the digit and epsilon and a menu for the attack, above one figure they redraw.

        They start at ``index``, ``attack`` (default the first) and ``eps``. Returns the widget; make it a cell's
        last line. Where widgets cannot run it shows the starting figure as an image, with its description.
        """
        start_attack = attack or next(iter(self.attack_set))
        if start_attack not in self.attack_set:
            raise ValueError(f"explorer: attack must be one of {', '.join(self.attack_set)}, got {attack!r}")
        if not 0 <= index < len(self.x) or not 0 <= eps <= self.eps_max:
            raise ValueError(f"explorer: index must be in 0..{len(self.x) - 1} and eps in [0, {self.eps_max}], "
                             f"got {index} and {eps}")
        return view_class()(self, index, start_attack, eps)


@functools.lru_cache(maxsize=None)
def view_class():
    """The widget class of :meth:`AttackExplorer.controls` (built on first use: importing the explorer never
    imports ipywidgets)."""
    import ipywidgets as widgets

    class ExplorerView(widgets.VBox):
        """The explorer's controls, a one-line readout and one figure (an image inside an ``Output``)."""

        def __init__(self, explorer: AttackExplorer, index: int, attack: str, eps: float):
            self.explorer = explorer
            self.index = widgets.IntSlider(value=index, min=0, max=len(explorer.x) - 1, description="test image",
                                           continuous_update=False)
            self.attack = widgets.Dropdown(options=list(explorer.attack_set), value=attack, description="attack")
            self.eps = widgets.FloatSlider(value=eps, min=0.0, max=explorer.eps_max, step=0.02, description="epsilon",
                                           continuous_update=False, readout_format=".2f")
            self.readout = widgets.HTML()
            self.readout.add_class("advlab-explorer-readout")
            self.out = widgets.Output()
            self.out.add_class("advlab-explorer-figure")
            self.png, self.text = b"", ""
            super().__init__([widgets.HBox([self.index, self.attack, self.eps]), self.readout, self.out])
            self.add_class("advlab-explorer")
            for widget in (self.index, self.attack, self.eps):
                widget.observe(self.redraw, names="value")
            self.redraw()

        def redraw(self, *_):
            """Draw the figure for the controls' values: the old one is replaced, never kept beside it.

            The figure goes straight into the ``Output`` widget's state, not through the kernel's display messages,
            so nothing but the widget ever shows it (no copy in the cell's own outputs).
            """
            state = self.explorer._state(self.index.value, self.attack.value, self.eps.value)
            fig = self.explorer._draw(state)
            self.explorer.figure = fig
            self.png, self.text = _png(fig), self.explorer._readout(state)
            self.readout.value = f"<span title='what the figure shows'>{self.text}</span>"
            self.out.outputs = ({"output_type": "display_data", "metadata": {},
                                 "data": {"image/png": base64.b64encode(self.png).decode(),
                                          "text/plain": self.text}},)

        def _repr_mimebundle_(self, **kwargs):
            """The widget, and for whatever cannot show widgets, the current figure and what it shows."""
            bundle = super()._repr_mimebundle_(**kwargs)
            data = bundle[0] if isinstance(bundle, tuple) else bundle
            data = dict(data or {})
            data["image/png"] = base64.b64encode(self.png).decode()
            data["text/plain"] = f"attack explorer: {self.text}"
            return data

    return ExplorerView
