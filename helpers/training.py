"""Training: standard training (this file's first part); adversarial training follows.

All trainers take batched ``tf.data`` pipelines of ``(image, label)`` with
float32 images (batch, 28, 28, 1) in [0, 1], show a progress bar (tqdm),
and return the Keras ``History``.
"""
from __future__ import annotations

import time

import tensorflow as tf
from tqdm.keras import TqdmCallback

from . import models
from .config import HParams


def progress_bar(verbose: int = 1) -> list:
    """Keras callbacks that draw a tqdm progress bar (epochs, and batches when ``verbose >= 2``).

    ``verbose=0`` draws nothing.
    """
    if verbose <= 0:
        return []
    return [TqdmCallback(verbose=1 if verbose >= 2 else 0, leave=True)]


class EpochTimer(tf.keras.callbacks.Callback):
    """Records each epoch's wall-clock seconds into ``logs["epoch_seconds"]`` (and so the History)."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def train_classifier(model: tf.keras.Model, train: tf.data.Dataset, hparams: HParams, *,
                     validation: tf.data.Dataset | None = None, verbose: int = 1,
                     epochs: int | None = None) -> tf.keras.callbacks.History:
    """Standard training: compile ``model`` (Adam, cross-entropy on logits) and fit it.

    ``history.history["epoch_seconds"]`` holds each epoch's wall-clock time.
    """
    models.compile_classifier(model, hparams.learning_rate)
    return model.fit(train, epochs=epochs or hparams.epochs, validation_data=validation, verbose=0,
                     callbacks=[EpochTimer()] + progress_bar(verbose))
