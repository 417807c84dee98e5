"""Neural Structured Learning (NSL): the NSL tutorial's adversarial regularisation, and its robustness check.

Everything that touches ``neural_structured_learning`` lives here:

- :func:`adv_config`: the tutorial's ``AdvRegConfig`` (multiplier 0.2, step 0.2, L-infinity, from ``HParams``);
- :func:`wrap`: ``nsl.keras.AdversarialRegularization`` around a plain model, compiled;
- :func:`train`: fit that wrapper on batches of feature dicts ``{"image", "label"}``;
- :func:`seed_tutorial_perturb` / :func:`seed_tutorial_accuracy`: the tutorial's perturbed test images
  and the accuracy of each model on them (a **transfer** attack for every model but the source).

Images are float32 (batch, 28, 28, 1) in [0, 1]; labels integers (batch,). ``compat`` (imported by
``helpers``) makes NSL 1.4 work with TensorFlow 2.21 and tf-keras.
"""
from __future__ import annotations

import contextlib
import logging

import numpy as np
import tensorflow as tf

from . import evaluation, inputs
from .config import IMAGE_KEY, LABEL_KEY, HParams
from .training import EpochTimer, progress_bar


def adv_config(hparams: HParams, **overrides):
    """The NSL tutorial's NSL configuration: multiplier 0.2, step size 0.2, L-inf (from ``hparams``).

    ``overrides`` go to ``nsl.configs.make_adv_reg_config`` (e.g. ``adv_step_size=0.1``).
    """
    import neural_structured_learning as nsl

    settings = dict(multiplier=hparams.adv_multiplier, adv_step_size=hparams.adv_step_size,
                    adv_grad_norm=hparams.adv_grad_norm)
    settings.update(overrides)
    return nsl.configs.make_adv_reg_config(**settings)


def wrap(base_model: tf.keras.Model, hparams: HParams, *, compile: bool = True, **config_overrides):
    """Wrap ``base_model`` in ``nsl.keras.AdversarialRegularization`` (label key ``"label"``), compiled.

    The wrapper takes feature dicts ``{"image", "label"}``: it needs the
    label to compute the adversarial loss inside its own forward pass.
    Its ``base_model`` attribute is the plain model, which shares the weights.
    """
    import neural_structured_learning as nsl

    adv_model = nsl.keras.AdversarialRegularization(
        base_model, label_keys=[LABEL_KEY], adv_config=adv_config(hparams, **config_overrides))
    if compile:
        adv_model.compile(optimizer=tf.keras.optimizers.Adam(hparams.learning_rate),
                          loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return adv_model


def train(base_model: tf.keras.Model, train_dicts: tf.data.Dataset, hparams: HParams, *,
          verbose: int = 1, epochs: int | None = None):
    """Adversarially regularise ``base_model`` with NSL on batches of feature dicts ``{"image", "label"}``.

    Returns ``(adv_model, history)``; ``adv_model.base_model`` is the trained plain model;
    ``history.history["epoch_seconds"]`` holds each epoch's wall-clock time.
    """
    adv_model = wrap(base_model, hparams)
    history = adv_model.fit(train_dicts, epochs=epochs or hparams.epochs, verbose=0,
                            callbacks=[EpochTimer()] + progress_bar(verbose))
    return adv_model, history


class _LabelLeftAlone(logging.Filter):
    """Drops NSL's ``Cannot perturb non-Tensor input: dict_keys(['label'])``: the tutorial's batches hold the label
    beside the image (the wrapper needs it), and NSL says it leaves the label alone, which is right. Lesson 04,
    which teaches the wrapper, explains the warning where training prints it; these helpers do not repeat it."""

    def filter(self, record) -> bool:
        return "Cannot perturb non-Tensor input" not in record.getMessage()


@contextlib.contextmanager
def _label_warning_silenced():
    logger, quiet = logging.getLogger("absl"), _LabelLeftAlone()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def seed_tutorial_perturb(source_model, x: np.ndarray, y: np.ndarray, hparams: HParams,
                          batch_size: int | None = None) -> np.ndarray:
    """The NSL tutorial's perturbed test images, exactly, as one float32 array like ``x``.

    The perturbations come from ``source_model`` (the tutorial uses the *base*
    model) through a reference ``nsl.keras.AdversarialRegularization`` and its
    ``perturb_on_batch`` (one L-inf step of ``hparams.adv_step_size``, in pixel units), then
    clipped to [0, 1]. Shown to any other model, they are a **transfer** attack.
    """
    x, y = inputs.images_and_labels(x, y, where="nsl.seed_tutorial_perturb")
    reference = wrap(source_model, hparams)
    batch_size = batch_size or hparams.batch_size
    out = np.empty_like(x)
    with _label_warning_silenced():
        for i in range(0, len(x), batch_size):
            batch = {IMAGE_KEY: tf.constant(x[i:i + batch_size]), LABEL_KEY: tf.constant(y[i:i + batch_size])}
            out[i:i + batch_size] = tf.clip_by_value(reference.perturb_on_batch(batch)[IMAGE_KEY], 0.0, 1.0).numpy()
    return out


def seed_tutorial_accuracy(source_model, models: dict, x: np.ndarray, y: np.ndarray, hparams: HParams,
                           batch_size: int | None = None) -> dict:
    """The NSL tutorial's robustness check: accuracy of each model on :func:`seed_tutorial_perturb`'s images.

    For every model other than ``source_model`` this is a **transfer**
    attack. Returns ``{name: accuracy}`` (fractions 0..1).
    """
    batch_size = batch_size or hparams.batch_size
    perturbed = seed_tutorial_perturb(source_model, x, y, hparams, batch_size)
    # Predict in the tutorial's batches too: a different batch size can change the float arithmetic of a
    # convolution, and with it the prediction of an image sitting exactly on a decision boundary.
    return {name: evaluation.accuracy(model, perturbed, y, batch_size) for name, model in models.items()}
