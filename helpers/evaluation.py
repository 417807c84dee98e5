"""Robustness evaluation: accuracy under attack, over whole splits, batched, with a progress bar.

Every number this module returns comes with the threat model that produced
it (attack, norm, eps, steps, restarts, number of images); :func:`threat_model`
writes that description, and tables carry it in their columns.
"""
from __future__ import annotations

import functools
import time
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from . import attacks


def predict_labels(model, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted classes (n,) for float32 images (n, 28, 28, 1) in [0, 1]; inference mode."""
    out = [np.argmax(model(x[i:i + batch_size], training=False).numpy(), axis=-1)
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0,), np.int64)


def accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    """Clean accuracy (fraction in 0..1)."""
    return float(np.mean(predict_labels(model, x, batch_size) == np.asarray(y)))


def attack_all(model, x: np.ndarray, y: np.ndarray | None, attack: Callable, *, batch_size: int = 500,
               progress: bool = True, desc: str = "attacking") -> np.ndarray:
    """Run ``attack(model, x_batch, y_batch) -> x_adv_batch`` over all of ``x`` in batches.

    ``attack`` is an attack from :mod:`helpers.attacks` with its settings
    bound, e.g. ``functools.partial(attacks.pgd, eps=0.3, steps=40)``.
    Returns the adversarial images as one float32 array like ``x``.
    """
    x = np.asarray(x, np.float32)
    if y is not None and len(y) != len(x):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    out = np.empty_like(x)
    starts = range(0, len(x), batch_size)
    for i in tqdm(starts, desc=desc, unit="batch", disable=not progress, leave=False):
        yb = None if y is None else np.asarray(y[i:i + batch_size])
        out[i:i + batch_size] = np.asarray(attack(model, x[i:i + batch_size], yb))
    return out


def robust_accuracy(model, x: np.ndarray, y: np.ndarray, attack: Callable, *, batch_size: int = 500,
                    progress: bool = True, return_adversarial: bool = False):
    """Accuracy of ``model`` on ``attack``'s adversarial versions of ``x`` (fraction in 0..1).

    The attack is given the true labels ``y``. With ``return_adversarial=True``
    returns ``(accuracy, x_adv)``.
    """
    x_adv = attack_all(model, x, y, attack, batch_size=batch_size, progress=progress, desc=_attack_name(attack))
    acc = accuracy(model, x_adv, y, batch_size)
    return (acc, x_adv) if return_adversarial else acc


def _attack_name(attack) -> str:
    if isinstance(attack, functools.partial):
        return _attack_name(attack.func)
    return getattr(attack, "__name__", type(attack).__name__)


def threat_model(attack: Callable, n_images: int) -> str:
    """A one-line description of an attack's threat model, e.g. ``"L-inf PGD, eps 0.3, 40 steps, 1 restart, 1,000 images"``."""
    kw = dict(attack.keywords) if isinstance(attack, functools.partial) else {}
    name = _attack_name(attack).upper()
    norm = attacks._norm(kw.get("norm", "inf"))
    parts = [f"{'L-inf' if norm == 'inf' else 'L2'} {name}", f"eps {kw.get('eps', '?')}"]
    if name == "PGD":
        restarts = kw.get("restarts", 1)
        parts += [f"{kw.get('steps', 40)} steps", f"{restarts} restart{'s' if restarts != 1 else ''}"]
    if kw.get("loss", "ce") != "ce":
        parts.append(f"{kw['loss']} loss")
    if kw.get("targeted"):
        parts.append("targeted")
    parts.append(f"{n_images:,} images")
    return ", ".join(parts)


def timed(fn: Callable, *args, **kwargs):
    """``(result, seconds)`` of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def art_classifier(model, input_shape=(28, 28, 1), num_classes: int = 10):
    """The model wrapped as the Adversarial Robustness Toolbox's ``TensorFlowV2Classifier``.

    Cross-entropy on logits, inputs clipped to [0, 1]: the independent
    referee for our own attacks.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ART warns that PyTorch is absent; it is not needed here
        from art.estimators.classification import TensorFlowV2Classifier

    return TensorFlowV2Classifier(model=model, nb_classes=num_classes, input_shape=input_shape,
                                  loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                  clip_values=(0.0, 1.0))


def seed_tutorial_accuracy(source_model, models: dict, x: np.ndarray, y: np.ndarray, hparams,
                           batch_size: int | None = None) -> dict:
    """The seed NSL tutorial's robustness check, exactly: accuracy of each model on perturbed test images.

    The perturbations come from ``source_model`` (the tutorial uses the *base*
    model) through a reference ``nsl.keras.AdversarialRegularization`` and its
    ``perturb_on_batch`` (one L-inf step of ``hparams.adv_step_size``), then
    clipped to [0, 1]. For every model other than ``source_model`` this is a
    **transfer** attack. Returns ``{name: accuracy}``.
    """
    from . import training
    from .config import IMAGE_KEY, LABEL_KEY

    reference = training.nsl_wrap(source_model, hparams)
    batch_size = batch_size or hparams.batch_size
    correct = {name: 0 for name in models}
    for i in range(0, len(x), batch_size):
        batch = {IMAGE_KEY: tf.constant(x[i:i + batch_size]), LABEL_KEY: tf.constant(y[i:i + batch_size])}
        perturbed = reference.perturb_on_batch(batch)
        images = tf.clip_by_value(perturbed[IMAGE_KEY], 0.0, 1.0)
        for name, model in models.items():
            correct[name] += int(np.sum(np.argmax(model(images, training=False).numpy(), -1) == batch[LABEL_KEY].numpy()))
    return {name: c / len(x) for name, c in correct.items()}
