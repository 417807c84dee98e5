"""An interactive attack explorer for class: pick a digit, an attack and an epsilon; see what every model says.

::

    ui = explorer.AttackExplorer({"base": base, "PGD-trained": robust}, x_test[:100], y_test[:100])
    ui.draw()        # one figure with the default values: works headless (CI, the website)
    ui.controls()    # sliders and a menu that redraw it live in JupyterLab

The figure shows the clean digit and the attacked one (grey), the perturbation (red-blue, 0 in white, on a
fixed scale of +-eps_max so sizes compare as the slider moves) and, per model, the probability it gives its
predicted class and the true class, clean and attacked. Attacks run on one image at a time: a fraction of a
second each on a CPU.
"""
from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from . import attacks, inputs, plotting

DEFAULT_ATTACKS = {
    "FGSM": attacks.fgsm,
    "PGD-20": functools.partial(attacks.pgd, steps=20, seed=0),
}


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

    def attacked(self, index: int, attack: str, eps: float) -> np.ndarray:
        """The adversarial version (1, 28, 28, 1) of image ``index``, crafted on the source model."""
        if not 0 <= index < len(self.x):
            raise ValueError(f"explorer: index must be in 0..{len(self.x) - 1}, got {index}")
        if attack not in self.attack_set:
            raise ValueError(f"explorer: unknown attack {attack!r}; use one of {', '.join(self.attack_set)}")
        x = self.x[index:index + 1]
        if eps == 0:
            return x.copy()
        return np.asarray(self.attack_set[attack](self.models[self.source], x, self.y[index:index + 1], eps=eps))

    def predictions(self, images: np.ndarray) -> dict:
        """Model name -> class probabilities (10,) for one image (1, 28, 28, 1)."""
        return {name: tf.nn.softmax(model(images, training=False)[0]).numpy() for name, model in self.models.items()}

    def draw(self, index: int = 0, attack: str | None = None, eps: float = 0.2):
        """Draw digit ``index`` under ``attack`` at ``eps`` and return the figure (its title says what it shows)."""
        attack = attack or next(iter(self.attack_set))
        x = self.x[index:index + 1]
        x_adv = self.attacked(index, attack, eps)
        clean, adv = self.predictions(x), self.predictions(x_adv)
        label = int(self.y[index])
        fig = plt.figure(figsize=(13, 4), layout="constrained")
        grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 1.2, 2.4])
        for k, (image, title) in enumerate([(x, f"clean, true label {label}"), (x_adv, f"{attack}, eps {eps:.2f}")]):
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
        for offset, (probabilities, when, color) in enumerate([(clean, "clean", "0.6"), (adv, "attacked", "crimson")]):
            said = [int(np.argmax(probabilities[n])) for n in names]
            confidence = [probabilities[n][s] for n, s in zip(names, said)]
            bars = ax.barh(rows + 0.2 - 0.4 * offset, confidence, height=0.38, color=color, label=when)
            for bar, s, p in zip(bars, said, confidence):
                ax.text(p + 0.02, bar.get_y() + bar.get_height() / 2,
                        f"says {s} ({p:.0%}){'' if s == label else ', wrong'}", va="center", fontsize=11)
        ax.set_yticks(rows, [f"{n}{' (source)' if n == self.source else ''}" for n in names])
        ax.invert_yaxis()
        ax.set_xlim(0, 1.6)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_xlabel("probability of the predicted class")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=10, frameon=False)   # above the bars, clear of their labels
        fig.suptitle(f"digit {index}: {attack} at L-inf eps {eps:.2f}, crafted on {self.source}")
        self.figure = fig
        return fig

    def controls(self, index: int = 0, attack: str | None = None, eps: float = 0.2):
        """Sliders for the digit and epsilon and a menu for the attack, redrawing the figure live.

        They start at ``index``, ``attack`` (default the first) and ``eps``, the values of a :meth:`draw` above
        them. Returns the ipywidgets box (display it as a cell's last line). Headless (CI, the website) it shows
        its first drawing.
        """
        start_attack = attack or next(iter(self.attack_set))
        if start_attack not in self.attack_set:
            raise ValueError(f"explorer: attack must be one of {', '.join(self.attack_set)}, got {attack!r}")
        if not 0 <= index < len(self.x) or not 0 <= eps <= self.eps_max:
            raise ValueError(f"explorer: index must be in 0..{len(self.x) - 1} and eps in [0, {self.eps_max}], "
                             f"got {index} and {eps}")
        import ipywidgets as widgets
        from IPython.display import display

        index = widgets.IntSlider(value=index, min=0, max=len(self.x) - 1, description="digit",
                                  continuous_update=False)
        attack = widgets.Dropdown(options=list(self.attack_set), value=start_attack, description="attack")
        eps = widgets.FloatSlider(value=eps, min=0.0, max=self.eps_max, step=0.02, description="epsilon",
                                  continuous_update=False, readout_format=".2f")
        out = widgets.Output()

        def redraw(*_):
            with out:
                out.clear_output(wait=True)
                fig = self.draw(index.value, attack.value, eps.value)
                display(fig)
                plt.close(fig)

        for widget in (index, attack, eps):
            widget.observe(redraw, names="value")
        redraw()
        return widgets.VBox([widgets.HBox([index, attack, eps]), out])
