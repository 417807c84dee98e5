"""The one check of the images, labels and models that every public entry takes.

Attacks, evaluation, plotting and the training helpers call these functions
first, so a wrong input stops with a message that says what was wrong and how
to fix it, instead of a wrong number, a NumPy broadcast, or a TensorFlow abort.

- :func:`images`: float32 (float64 is cast) in [0, 1], shape
  ``(batch, height, width, channels)``, finite, non-empty.
- :func:`labels`: integer class indices, shape ``(batch,)``.
- :func:`images_and_labels`: both, one label per image.
- :func:`logits_model`: warns once per model that ends in a softmax
  (attacks and the training losses need logits).
- :func:`epsilon`: an attack radius, >= 0, and at most 1 in L-inf (8 for
  8/255 is refused with the fix).

Each takes ``where``, the name of the calling function, for the message.
"""
from __future__ import annotations

import warnings

import numpy as np

NUM_CLASSES = 10


def _as_numpy(x) -> np.ndarray:
    return x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else np.asarray(x)


def images(x, *, where: str, unit_range: bool = True) -> np.ndarray:
    """``x`` as float32 ``(n, h, w, c)`` after checking it; raises ``ValueError`` saying what is wrong.

    Accepts NumPy arrays and tensors; float64 in [0, 1] is cast to float32.
    ``unit_range=False`` skips the [0, 1] check (perturbations, gradients, or
    lesson 08's low-contrast domain).
    """
    try:
        x_np = _as_numpy(x)
    except Exception as error:  # e.g. a ragged list
        raise ValueError(f"{where}: images must be an array of shape (batch, 28, 28, 1), got {type(x).__name__} "
                         f"({error})") from None
    if x_np.dtype.kind in "iub":
        raise ValueError(f"{where}: images are {x_np.dtype}, raw pixels (0..255?); the lessons use float32 in "
                         "[0, 1]: did you forget to normalise? divide by 255 (data.load_normalized does it)")
    if x_np.dtype.kind != "f":
        raise ValueError(f"{where}: images must be float32 in [0, 1], got dtype {x_np.dtype}")
    if x_np.ndim == 3 and x_np.shape[-1] != 1:
        raise ValueError(f"{where}: images have shape {x_np.shape}, without a channel axis; add one with "
                         "x[..., None] to get (batch, 28, 28, 1)")
    if x_np.ndim == 3 and x_np.shape[-1] == 1 and x_np.shape[0] == x_np.shape[1]:
        raise ValueError(f"{where}: got one image of shape {x_np.shape}; pass a batch of one: x[None]")
    if x_np.ndim == 2 and x_np.shape[0] == x_np.shape[1]:
        raise ValueError(f"{where}: got one image of shape {x_np.shape}; pass a batch of shape (1, 28, 28, 1): "
                         "x[None, ..., None]")
    if x_np.ndim != 4:
        raise ValueError(f"{where}: images must have shape (batch, height, width, channels), e.g. "
                         f"(n, 28, 28, 1); got {x_np.shape}")
    if len(x_np) == 0:
        raise ValueError(f"{where}: the batch of images is empty (shape {x_np.shape})")
    finite = np.isfinite(x_np)
    if not finite.all():
        raise ValueError(f"{where}: {int((~finite).sum()):,} pixel value(s) are NaN or infinite; every pixel must "
                         "be a finite number")
    if unit_range:
        lo, hi = float(x_np.min()), float(x_np.max())
        if lo < 0.0 or hi > 1.0:
            hint = "did you forget to normalise? divide by 255" if hi > 1.5 else "clip them: np.clip(x, 0, 1)"
            raise ValueError(f"{where}: images must be in [0, 1], found values in [{lo:.3g}, {hi:.3g}]: {hint}")
    return x_np.astype(np.float32, copy=False)


def labels(y, n: int, *, where: str, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``y`` as int64 ``(n,)`` after checking it: integer class indices in 0..num_classes-1, one per image."""
    y_np = _as_numpy(y)
    if y_np.ndim == 2 and y_np.shape == (n, num_classes):
        raise ValueError(f"{where}: labels look one-hot, shape {y_np.shape}; pass class indices: "
                         "y.argmax(axis=1)")
    if y_np.ndim != 1:
        raise ValueError(f"{where}: labels must have shape ({n},), one class index per image; got {y_np.shape}")
    if len(y_np) != n:
        raise ValueError(f"{where}: {n} images but {len(y_np)} labels")
    if y_np.dtype.kind not in "iu":
        raise ValueError(f"{where}: labels must be integer class indices, got {y_np.dtype}"
                         + ("; convert with y.astype(int)" if y_np.dtype.kind == "f" else ""))
    if n and (y_np.min() < 0 or y_np.max() >= num_classes):
        raise ValueError(f"{where}: labels must be in 0..{num_classes - 1}, found {y_np.min()}..{y_np.max()}")
    return y_np.astype(np.int64, copy=False)


def images_and_labels(x, y, *, where: str, y_optional: bool = False,
                      unit_range: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """``(images(x), labels(y))`` checked together, the labels one per image; ``y`` may be None if ``y_optional``."""
    x_np = images(x, where=where, unit_range=unit_range)
    if y is None and y_optional:
        return x_np, None
    return x_np, labels(y, len(x_np), where=where)


def epsilon(eps, *, where: str, norm: str = "inf", positive: bool = False) -> float:
    """An attack's radius checked once: a finite number >= 0 (> 0 if ``positive``), in the units of images in
    [0, 1]. An L-inf radius (``norm`` "inf") above 1 is more than the whole pixel range: typing 8 for 8/255 is the
    classic slip, and the message names that fix. An L2 radius may exceed 1 (the L2 norm of a 28x28 image does)."""
    try:
        value = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: eps must be a number (in units of images in [0, 1]), got {eps!r}") from None
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{where}: eps must be {bound} and finite (in units of images in [0, 1]), got {eps}")
    if norm == "inf" and value > 1:
        raise ValueError(f"{where}: an L-inf eps of {value:g} is more than the whole pixel range of images in "
                         f"[0, 1], so the attack could replace the image. For a radius given in 0..255 pixel "
                         f"steps, divide by 255: eps={value:g}/255 ({value / 255:.4f})")
    return value


_WARNED: set[int] = set()


def ends_in_softmax(model) -> bool:
    """True when ``model`` is a Keras model whose last layer applies a softmax (it outputs probabilities)."""
    layers = getattr(model, "layers", None)
    if not layers:
        return False
    last = layers[-1]
    activation = getattr(last, "activation", None)
    return type(last).__name__ == "Softmax" or getattr(activation, "__name__", "") == "softmax"


def logits_model(model, *, where: str) -> None:
    """Raise ``ValueError`` for a model that is not callable; warn (once per model) when it ends in a softmax."""
    if not callable(model):
        raise ValueError(f"{where}: model must be a Keras model or a callable that returns logits, "
                         f"got {type(model).__name__}")
    if ends_in_softmax(model) and id(model) not in _WARNED:
        _WARNED.add(id(model))
        warnings.warn(f"{where}: the model {getattr(model, 'name', '')!r} ends in a softmax, but attacks and "
                      "losses here expect logits: its gradients vanish where the softmax saturates (lesson 07). "
                      "Build it without the final activation (models.build_base_model does so).", stacklevel=3)
