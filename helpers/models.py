"""Model architectures, and saving/loading one trained model with its metadata.

Every model here takes float32 images (batch, 28, 28, 1) in [0, 1] and
outputs *logits* (batch, 10): no softmax layer, so losses use
``from_logits=True`` and attacks see un-squashed scores.

Which model to load or train is decided by :mod:`helpers.zoo`, not here.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import tensorflow as tf

from . import config
from .config import IMAGE_KEY, HParams
from .inputs import NUM_CLASSES


def build_base_model(hparams: HParams | None = None, name: str = "base_cnn") -> tf.keras.Model:
    """The NSL tutorial's CNN with the functional API (93,322 parameters with the default HParams).

    Conv(32, 3x3) -> MaxPool -> Conv(64) -> MaxPool -> Conv(64) -> Flatten
    -> Dense(64) -> Dense(10 logits). The input layer is named ``"image"`` so
    the model accepts the feature dicts NSL passes it.
    """
    hparams = hparams or config.hparams()
    inputs = tf.keras.Input(shape=hparams.input_shape, dtype=tf.float32, name=IMAGE_KEY)
    x = inputs
    for i, filters in enumerate(hparams.conv_filters):
        x = tf.keras.layers.Conv2D(filters, hparams.kernel_size, activation="relu")(x)
        if i < len(hparams.conv_filters) - 1:
            x = tf.keras.layers.MaxPooling2D(hparams.pool_size)(x)
    x = tf.keras.layers.Flatten()(x)
    for units in hparams.num_fc_units:
        x = tf.keras.layers.Dense(units, activation="relu")(x)
    logits = tf.keras.layers.Dense(hparams.num_classes, name="logits")(x)
    return tf.keras.Model(inputs=inputs, outputs=logits, name=name)


def _layers(hparams: HParams) -> list[tf.keras.layers.Layer]:
    layers = []
    for i, filters in enumerate(hparams.conv_filters):
        layers.append(tf.keras.layers.Conv2D(filters, hparams.kernel_size, activation="relu"))
        if i < len(hparams.conv_filters) - 1:
            layers.append(tf.keras.layers.MaxPooling2D(hparams.pool_size))
    layers.append(tf.keras.layers.Flatten())
    layers += [tf.keras.layers.Dense(u, activation="relu") for u in hparams.num_fc_units]
    layers.append(tf.keras.layers.Dense(hparams.num_classes))
    return layers


def build_sequential_model(hparams: HParams | None = None) -> tf.keras.Sequential:
    """The same CNN with the Sequential API (same layers, same parameter count)."""
    hparams = hparams or config.hparams()
    model = tf.keras.Sequential([tf.keras.Input(shape=hparams.input_shape, name=IMAGE_KEY)] + _layers(hparams),
                                name="base_cnn_sequential")
    return model


class SubclassedCNN(tf.keras.Model):
    """The same CNN as a subclassed ``tf.keras.Model``.

    ``call`` accepts an image tensor or a feature dict with an ``"image"`` key,
    so it works both alone and inside NSL's wrapper.
    """

    def __init__(self, hparams: HParams | None = None, **kwargs):
        super().__init__(name=kwargs.pop("name", "base_cnn_subclassed"), **kwargs)
        self.hparams = hparams or config.hparams()
        self.stack = _layers(self.hparams)

    def call(self, inputs, training=False):
        x = inputs[IMAGE_KEY] if isinstance(inputs, dict) else inputs
        for layer in self.stack:
            x = layer(x, training=training)
        return x


def build_subclassed_model(hparams: HParams | None = None) -> SubclassedCNN:
    """The same CNN, subclassed, built on a dummy batch so its weights exist."""
    hparams = hparams or config.hparams()
    model = SubclassedCNN(hparams)
    model(tf.zeros((1,) + tuple(hparams.input_shape)))
    return model


def build_capstone_cnn(width: int = 1, name: str | None = None) -> tf.keras.Model:
    """The small CNN of Wong, Rice & Kolter (2020) for MNIST, optionally ``width`` times wider (lesson 09).

    Conv(16w, 4x4, stride 2, same) -> ReLU -> Conv(32w, 4x4, stride 2, same)
    -> ReLU -> Flatten -> Dense(100w) -> ReLU -> Dense(10 logits).
    166,406 parameters at ``width=1``; about ``width**2`` times more when wider.
    """
    if int(width) != width or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    width = int(width)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(28, 28, 1), dtype=tf.float32, name=IMAGE_KEY)
    x = layers.Conv2D(16 * width, 4, 2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(32 * width, 4, 2, padding="same", activation="relu")(x)
    x = layers.Dense(100 * width, activation="relu")(layers.Flatten()(x))
    logits = layers.Dense(NUM_CLASSES, name="logits")(x)
    return tf.keras.Model(inputs, logits, name=name or f"capstone_cnn_w{width}")


ACTIVATIONS = ("relu", "silu")


def build_trades_cnn(name: str | None = None, activation: str = "relu", dropout: float = 0.0,
                     width: float = 1) -> tf.keras.Model:
    """The "SmallCNN" of TRADES' MNIST experiments (Zhang et al. 2019), a deeper CNN with max pooling (lesson 09).

    Conv(32, 3x3) -> ReLU -> Conv(32, 3x3) -> ReLU -> MaxPool(2) -> Conv(64, 3x3)
    -> ReLU -> Conv(64, 3x3) -> ReLU -> MaxPool(2) -> Flatten (4x4x64) -> Dense(200)
    -> ReLU -> Dense(200) -> ReLU -> Dense(10 logits); "valid" padding throughout.
    Input (batch, 28, 28, 1) in [0, 1]. 312,202 parameters: about twice the
    capstone CNN's, but about 16 times its multiply-adds per image.
    ``activation``: ``"relu"`` (TRADES' choice) or ``"silu"`` (x * sigmoid(x), also called
    swish: the smooth activation of Gowal et al. 2020's leaderboard-topping MNIST model),
    in place of every ReLU; the parameter count does not change.
    ``dropout``: the rate of a Dropout layer between the two Dense(200) layers, where TRADES'
    published network has one at 0.5 (0, the default, leaves it out; active in training mode only).
    ``width``: multiplies every layer's channels and units (1.5: 48, 48, 96, 96 channels and
    Dense(300)); ``32 * width`` must be a whole number. Parameters and multiply-adds grow about as
    ``width**2`` (1.5: 700,282 parameters; measured here, one forward and backward pass of a batch
    of 100 took 1.9 times as long as at width 1).
    """
    if width <= 0 or float(32 * width) != round(32 * width):
        raise ValueError(f"width must be > 0 with 32 * width a whole number of channels, got {width!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout is a rate and must be in [0, 1), got {dropout!r}")
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(28, 28, 1), dtype=tf.float32, name=IMAGE_KEY)
    x = inputs
    for filters in (round(32 * width), round(64 * width)):
        x = layers.Conv2D(filters, 3, activation=activation)(x)
        x = layers.Conv2D(filters, 3, activation=activation)(x)
        x = layers.MaxPool2D()(x)
    x = layers.Flatten()(x)
    units = round(200 * width)
    x = layers.Dense(units, activation=activation)(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    x = layers.Dense(units, activation=activation)(x)
    logits = layers.Dense(NUM_CLASSES, name="logits")(x)
    return tf.keras.Model(inputs, logits, name=name or "trades_small_cnn")


NORMALIZATIONS = ("batch", "group", None)


def _normalization(kind: str | None, momentum: float):
    if kind == "batch":
        return tf.keras.layers.BatchNormalization(momentum=momentum)
    if kind == "group":
        return tf.keras.layers.GroupNormalization(groups=4)
    return None


def build_small_resnet(*, normalization: str | None = "batch", momentum: float = 0.99,
                       widths: tuple[int, ...] = (16, 16, 32, 32), name: str | None = None) -> tf.keras.Model:
    """A small residual network (He et al. 2016) for lesson 08, with BatchNormalization by default.

    Stem: Conv(16, 3x3) -> norm -> ReLU. Then one residual block per entry of
    ``widths`` (conv 3x3 -> norm -> ReLU -> conv 3x3 -> norm, plus the input,
    projected by a 1x1 conv and norm when the width changes, which also halves
    the resolution), ReLU after each sum; global average pooling; Dense(10
    logits). 43,418 parameters with the defaults.

    ``normalization``: ``"batch"`` (BatchNormalization with ``momentum``, the
    Keras default 0.99), ``"group"`` (GroupNormalization with 4 groups: each
    image normalised by itself, identical in training and inference mode) or
    ``None`` (no normalisation; convolutions get biases instead).
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if not widths or min(widths) < 4:
        raise ValueError(f"widths must be a non-empty tuple of channel counts >= 4, got {widths!r}")
    layers = tf.keras.layers
    use_bias = normalization is None

    def norm(x):
        layer = _normalization(normalization, momentum)
        return x if layer is None else layer(x)

    inputs = tf.keras.Input(shape=(28, 28, 1), dtype=tf.float32, name=IMAGE_KEY)
    x = layers.ReLU()(norm(layers.Conv2D(16, 3, padding="same", use_bias=use_bias)(inputs)))
    for width in widths:
        stride = 1 if width == x.shape[-1] else 2
        y = layers.ReLU()(norm(layers.Conv2D(width, 3, stride, padding="same", use_bias=use_bias)(x)))
        y = norm(layers.Conv2D(width, 3, padding="same", use_bias=use_bias)(y))
        shortcut = x if stride == 1 else norm(layers.Conv2D(width, 1, stride, use_bias=use_bias)(x))
        x = layers.ReLU()(layers.Add()([y, shortcut]))
    x = layers.GlobalAveragePooling2D()(x)
    logits = layers.Dense(NUM_CLASSES, name="logits")(x)
    default = {"batch": "resnet_bn", "group": "resnet_gn", None: "resnet_plain"}[normalization]
    return tf.keras.Model(inputs, logits, name=name or default)


def compile_classifier(model: tf.keras.Model, learning_rate: float = 1e-3) -> tf.keras.Model:
    """Adam, cross-entropy on logits, accuracy: how every classifier here is compiled."""
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


# --------------------------------------------------------------------------- saving and loading

class BrokenModelFile(OSError):
    """A saved model or its metadata that cannot be read (cut short while saving, or damaged)."""


def _write_atomically(target: Path, write) -> None:
    """``write(tmp_path)`` to a temporary file beside ``target``, then move it into place in one step.

    A reader sees the old file or the new one, never half of one; a process killed while writing leaves only
    a hidden ``.<name>.<pid>.tmp`` file behind, which the next save in that folder removes.
    """
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_stale_temporaries(folder: Path, stem: str) -> None:
    """Delete the temporary files that killed saves of ``stem`` left in ``folder`` (their process is gone)."""
    for leftover in folder.glob(f".{stem}.*.tmp.*"):
        pid = leftover.name[len(stem) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_metadata(path: str | Path, metadata: dict) -> Path:
    """Write ``metadata`` as ``<path>.json`` atomically; returns the .json path."""
    json_path = Path(path).with_suffix(".json")
    _write_atomically(json_path, lambda tmp: tmp.write_text(json.dumps(metadata, indent=2, default=str)))
    return json_path


def save_model(model: tf.keras.Model, path: str | Path, metadata: dict) -> Path:
    """Save ``model`` as ``<path>.keras`` and ``metadata`` as ``<path>.json``; returns the .keras path.

    Atomic: each file is written to a temporary file in the same folder and moved into place, the old
    metadata removed first and the new written last, so a ``.json`` beside a ``.keras`` marks a complete save
    (a kernel killed halfway leaves no .json, and :func:`load_model` callers such as the zoo treat the entry as
    absent). ``metadata`` should say what the model is: name, mode, data source, hyper-parameters and measured
    accuracies. A saved time is added. Raises ``OSError`` when the folder cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path.parent, path.name)
    keras_path = path.with_suffix(".keras")
    path.with_suffix(".json").unlink(missing_ok=True)           # un-commit the old entry first
    _write_atomically(keras_path, lambda tmp: model.save(tmp))
    write_metadata(path, dict(metadata, saved_at=time.strftime("%Y-%m-%d %H:%M:%S"), keras_file=keras_path.name))
    return keras_path


def read_metadata(path: str | Path) -> dict:
    """The metadata saved beside ``<path>.keras`` (``{}`` when there is none); ``BrokenModelFile`` if unreadable."""
    meta_path = Path(path).with_suffix(".json")
    if not meta_path.is_file():
        return {}
    try:
        metadata = json.loads(meta_path.read_text())
    except (ValueError, OSError) as error:
        raise BrokenModelFile(f"the model metadata {meta_path} cannot be read ({type(error).__name__}: {error}); "
                              f"delete it, or train the model again") from None
    if not isinstance(metadata, dict):
        raise BrokenModelFile(f"the model metadata {meta_path} is not a JSON object; delete it, or train again")
    return metadata


def load_model(path: str | Path) -> tuple[tf.keras.Model, dict]:
    """Load a model saved by :func:`save_model`; returns ``(model, metadata)``.

    Raises ``FileNotFoundError`` when there is no ``<path>.keras`` and :class:`BrokenModelFile` (naming the
    file, and the fix) when it or its metadata cannot be read.
    """
    path = Path(path)
    keras_path = path.with_suffix(".keras")
    if not keras_path.is_file():
        raise FileNotFoundError(f"no saved model at {keras_path}")
    metadata = read_metadata(path)
    try:
        model = tf.keras.models.load_model(keras_path, compile=False)
    except Exception as error:  # h5py, zipfile and Keras each raise their own type for a damaged file
        raise BrokenModelFile(f"the saved model {keras_path} cannot be read ({type(error).__name__}: "
                              f"{str(error)[:200]}); it was probably cut short while saving. Delete it, or train "
                              f"it again (zoo.get(name, retrain=True))") from None
    return model, metadata


# --------------------------------------------------------------------------- shipped models: weights only

def save_weights_only(model: tf.keras.Model, path: str | Path, metadata: dict, *, dtype: str = "float16") -> Path:
    """Ship ``model`` as ``<path>.npz`` (its weights, cast to ``dtype``, no optimiser state) and ``<path>.json``
    (``metadata`` plus the architecture as Keras JSON); returns the .npz path. Atomic like :func:`save_model`.

    ``dtype``: ``"float16"`` (half the size of float32) or ``"float32"``; integer weights are kept as they are.
    """
    if dtype not in ("float16", "float32"):
        raise ValueError(f"dtype must be 'float16' or 'float32', got {dtype!r}")
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = {f"w{i:03d}": (w.astype(dtype) if np.issubdtype(w.dtype, np.floating) else w)
               for i, w in enumerate(model.get_weights())}
    npz_path = path.with_suffix(".npz")
    path.with_suffix(".json").unlink(missing_ok=True)
    _write_atomically(npz_path, lambda tmp: np.savez_compressed(open(tmp, "wb"), **weights))
    write_metadata(path, dict(metadata, weights_file=npz_path.name, weights_dtype=dtype,
                              architecture=json.loads(model.to_json())))
    return npz_path


def load_weights_only(path: str | Path) -> tuple[tf.keras.Model, dict]:
    """Load a model shipped by :func:`save_weights_only`: the architecture from ``<path>.json``, the weights
    from ``<path>.npz`` as float32. Raises :class:`BrokenModelFile` naming the file when either cannot be read."""
    import numpy as np

    path = Path(path)
    metadata = read_metadata(path)
    npz_path = path.with_suffix(".npz")
    try:
        model = tf.keras.models.model_from_json(json.dumps(metadata["architecture"]))
        with np.load(npz_path, allow_pickle=False) as stored:
            weights = [stored[f"w{i:03d}"] for i in range(len(stored.files))]
        model.set_weights([w.astype("float32") if np.issubdtype(w.dtype, np.floating) else w for w in weights])
    except Exception as error:  # a missing key, a damaged zip, a wrong shape: each raises its own type
        raise BrokenModelFile(f"the shipped model {npz_path} cannot be read ({type(error).__name__}: "
                              f"{str(error)[:200]})") from None
    return model, metadata
