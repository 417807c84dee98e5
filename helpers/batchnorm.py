"""BatchNormalization diagnostics and fixes, for any Keras model (lesson 08).

A ``BatchNormalization`` layer normalises with two different statistics:

* in **training mode** (``model(x, training=True)``) it uses the mean and
  variance of the current batch, and nudges its *moving* statistics towards
  them: ``moving = momentum * moving + (1 - momentum) * batch``;
* in **inference mode** (``training=False``: evaluation, and any attack that
  calls the model as at test time) it uses those moving statistics.

When the data change (fine-tuning a pretrained network on new data), the
moving statistics lag behind for roughly ``1 / (1 - momentum)`` optimiser
steps or more (100 at the default momentum 0.99), and everything computed in
inference mode meanwhile sees badly normalised activations. This module
measures that lag (:func:`drift`) and offers the fixes lesson 08 compares:
:func:`set_momentum`, :func:`reestimate` and :func:`freeze`.

Works for functional, sequential, subclassed and nested models: the
BatchNormalization layers are found among all sub-modules. Images are
whatever the model takes (float32 (n, 28, 28, 1) in [0, 1] in this course).
"""
from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import tensorflow as tf

from . import inputs

BatchNormalization = tf.keras.layers.BatchNormalization


def batchnorm_layers(model: tf.keras.Model) -> list[BatchNormalization]:
    """Every BatchNormalization layer of ``model`` (nested models included), in build order."""
    found = [m for m in model.submodules if isinstance(m, BatchNormalization)]
    if isinstance(model, BatchNormalization):
        found.insert(0, model)
    return found


def _require_batchnorm(model) -> list[BatchNormalization]:
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer")
    return layers


@contextlib.contextmanager
def _recording_inputs(layers):
    """Within the block, each layer's inputs are appended to ``records[i]`` (eager calls only)."""
    records = [[] for _ in layers]
    originals = []
    for i, layer in enumerate(layers):
        original = layer.call
        originals.append(original)

        def call(inputs, *args, _i=i, _original=original, **kwargs):
            records[_i].append(tf.convert_to_tensor(inputs))
            return _original(inputs, *args, **kwargs)

        layer.call = call
    try:
        yield records
    finally:
        for layer in layers:
            del layer.call          # the instance attribute goes; the class's call is back


def _snapshot(layers):
    return [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in layers]


def _restore(layers, snapshot):
    for layer, (mean, var) in zip(layers, snapshot):
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(var)


def batch_statistics(model: tf.keras.Model, images, *, batch_size: int = 250) -> list[tuple[np.ndarray, np.ndarray]]:
    """The population mean and variance of each BatchNormalization layer's inputs over ``images``.

    Computed as training does: a forward pass in **training mode**, batch by
    batch (each layer normalises with its batch's statistics), channel by
    channel; the means and second moments are averaged over the batches.
    The moving statistics are left exactly as they were. Returns one
    ``(mean, variance)`` pair of arrays of shape ``(channels,)`` per layer,
    in the order of :func:`batchnorm_layers`.
    """
    layers = _require_batchnorm(model)
    images = inputs.images(images, where="batchnorm.batch_statistics", unit_range=False)
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (a batch's statistics need two images), got {batch_size}")
    saved = _snapshot(layers)
    sums = [[0.0, 0.0] for _ in layers]
    batches = 0
    try:
        with _recording_inputs(layers) as records:
            for start in range(0, len(images), batch_size):
                model(images[start:start + batch_size], training=True)
                batches += 1
                for i, rec in enumerate(records):
                    if not rec:
                        continue
                    x = tf.cast(rec.pop(), tf.float32)
                    axes = list(range(len(x.shape) - 1))
                    sums[i][0] += tf.reduce_mean(x, axes).numpy()
                    sums[i][1] += tf.reduce_mean(tf.square(x), axes).numpy()
                    rec.clear()
    finally:
        _restore(layers, saved)
    stats = []
    for first, second in sums:
        mean = np.asarray(first) / batches
        stats.append((mean, np.maximum(np.asarray(second) / batches - mean ** 2, 0.0)))
    return stats


def drift(model: tf.keras.Model, images, *, batch_size: int = 250) -> pd.DataFrame:
    """How far each BatchNormalization layer's moving statistics are from the data's: one row per layer.

    Columns: ``layer`` (name), ``depth`` (0 = first BN layer), ``channels``,
    ``mean_shift`` (mean over channels of |moving mean - data mean| / data
    std: 0 is perfect, 1 is a shift of one standard deviation),
    ``variance_ratio`` (geometric mean over channels of moving variance /
    data variance: 1 is perfect; 0.01 means inference mode scales this
    layer's activations up ten-fold), ``worst_variance_ratio`` (the channel
    farthest from 1, either way), and ``momentum``. The data statistics come
    from :func:`batch_statistics` on ``images``.
    """
    layers = _require_batchnorm(model)
    rows = []
    for depth, (layer, (mean, var)) in enumerate(zip(layers, batch_statistics(model, images, batch_size=batch_size))):
        eps = layer.epsilon
        moving_mean, moving_var = layer.moving_mean.numpy(), layer.moving_variance.numpy()
        ratio = (moving_var + eps) / (var + eps)
        log_ratio = np.log(ratio)
        rows.append({
            "layer": layer.name, "depth": depth, "channels": int(mean.shape[0]),
            "mean_shift": float(np.mean(np.abs(moving_mean - mean) / np.sqrt(var + eps))),
            "variance_ratio": float(np.exp(np.mean(log_ratio))),
            "worst_variance_ratio": float(ratio[np.argmax(np.abs(log_ratio))]),
            "momentum": float(layer.momentum),
        })
    return pd.DataFrame(rows)


def reestimate(model: tf.keras.Model, images, *, batch_size: int = 250) -> pd.DataFrame:
    """Set every BatchNormalization layer's moving statistics to the data's (from :func:`batch_statistics`).

    The weights are untouched; afterwards inference mode normalises ``images``
    (and data like them) as training mode does. Returns :func:`drift` after
    the update (mean_shift near 0, variance_ratio near 1).
    """
    layers = _require_batchnorm(model)
    for layer, (mean, var) in zip(layers, batch_statistics(model, images, batch_size=batch_size)):
        layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype.as_numpy_dtype))
        layer.moving_variance.assign(var.astype(layer.moving_variance.dtype.as_numpy_dtype))
    return drift(model, images, batch_size=batch_size)


def set_momentum(model: tf.keras.Model, momentum: float) -> int:
    """Set the momentum of every BatchNormalization layer through the Keras API; returns how many layers.

    ``momentum`` in [0, 1): lower values let the moving statistics catch up
    faster (about ``1 / (1 - momentum)`` steps) but make them noisier. Call it
    before training starts: a ``tf.function`` already traced keeps the old
    value. (The seed's answer edited the model's JSON config instead.)
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    layers = _require_batchnorm(model)
    for layer in layers:
        layer.momentum = float(momentum)
    return len(layers)


def freeze(model: tf.keras.Model) -> int:
    """Freeze every BatchNormalization layer (``trainable = False``); returns how many layers.

    In tf.keras 2.x a frozen BatchNormalization layer runs in **inference
    mode** even when the model is called with ``training=True``: it keeps its
    moving statistics and its scale and offset fixed. So training and
    attacks see the same normalisation, but it is only right if the moving
    statistics fit the new data: call :func:`reestimate` first. Re-compile a
    compiled model afterwards.
    """
    layers = _require_batchnorm(model)
    for layer in layers:
        layer.trainable = False
    return len(layers)


def predict_in_training_mode(model: tf.keras.Model, images, *, batch_size: int = 250) -> np.ndarray:
    """Logits of ``model`` called in training mode (batch statistics), moving statistics left untouched.

    Calling a model with ``training=True`` normally also updates its moving
    statistics; this restores them, so measuring does not change the model.
    Returns float32 logits (n, classes).
    """
    layers = batchnorm_layers(model)
    images = inputs.images(images, where="batchnorm.predict_in_training_mode", unit_range=False)
    saved = _snapshot(layers)
    try:
        return np.concatenate([model(images[i:i + batch_size], training=True).numpy()
                               for i in range(0, len(images), batch_size)])
    finally:
        _restore(layers, saved)


def watch(model: tf.keras.Model, images, labels) -> dict:
    """One row of lesson 08's monitor: what a fine-tuning run is watched with, every few steps.

    ``images`` float32 (n, 28, 28, 1) in [0, 1], ``labels`` int (n,). Returns ``inference_accuracy`` and
    ``training_mode_accuracy`` (fractions in [0, 1], the same images in the two modes), for a model with
    BatchNormalization its first layer's ``variance_ratio`` and ``mean_shift`` (:func:`drift`), and
    ``finite_weights`` (False once any weight is NaN or infinite). The model's statistics are left unchanged.
    """
    images = inputs.images(images, where="batchnorm.watch")
    labels = inputs.labels(labels, len(images), where="batchnorm.watch")
    logits = np.concatenate([model(images[i:i + 250], training=False).numpy() for i in range(0, len(images), 250)])
    row = {"inference_accuracy": float(np.mean(np.argmax(logits, -1) == labels)),
           "training_mode_accuracy": float(np.mean(np.argmax(predict_in_training_mode(model, images), -1) == labels))}
    if batchnorm_layers(model):
        first = drift(model, images).iloc[0]
        row["variance_ratio"], row["mean_shift"] = float(first.variance_ratio), float(first.mean_shift)
    row["finite_weights"] = all(bool(np.isfinite(v.numpy()).all()) for v in model.weights)
    return row
