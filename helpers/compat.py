"""The one place that makes TensorFlow 2.21 + tf-keras 2.21 + NSL 1.4.0 work together.

Two things have to happen *before* TensorFlow and Neural Structured Learning
are imported, and ``helpers/__init__.py`` imports this module first so that
``import helpers`` is all a notebook needs:

1. ``TF_USE_LEGACY_KERAS=1``. TensorFlow 2.16+ ships Keras 3 as ``tf.keras``;
   NSL 1.4.0 (2022) is written against Keras 2. With this variable set,
   ``tf.keras`` is the ``tf_keras`` package (Keras 2.21), which NSL expects.
   If TensorFlow was already imported without it, we raise an error that
   says what to do (restart the kernel, import ``helpers`` first) instead of
   letting NSL fail later with an obscure message.

2. A placeholder ``tf.estimator``. NSL 1.4.0 imports ``tf.estimator`` (it
   ships an Estimator wrapper we never use), and TensorFlow removed
   Estimators in 2.16; see upstream issue
   tensorflow/neural-structured-learning#130. We install a tiny module with
   just ``ModeKeys`` (the only name NSL touches at import time). Calling
   anything else on it raises ``AttributeError`` naming this module.

Nothing else in the project touches TensorFlow's environment variables. Its
start-up logs (C++, before its log level applies) are silenced while it is
imported; ``ADVLAB_TF_LOGS=1`` shows them.
"""
from __future__ import annotations

import contextlib
import os
import sys
import types

_LEGACY = "TF_USE_LEGACY_KERAS"

if "tensorflow" in sys.modules and os.environ.get(_LEGACY) != "1":
    raise RuntimeError(
        "TensorFlow was imported before `helpers`, so tf.keras is Keras 3 and "
        "neural-structured-learning cannot work. Restart the kernel and put "
        "`import helpers` before `import tensorflow`."
    )
os.environ[_LEGACY] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide C++ start-up chatter
_SHOW_NATIVE_LOGS = os.environ.get("ADVLAB_TF_LOGS", "").strip().lower() in ("1", "true", "yes", "on")


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send what C++ writes to file descriptor 2 to /dev/null for a moment (``ADVLAB_TF_LOGS=1`` keeps it).

    TensorFlow 2.21 logs through absl before its log level is read, so ``TF_CPP_MIN_LOG_LEVEL`` does not
    hide its start-up lines ("oneDNN custom operations are on", "Could not find cuda drivers", and a red
    "failed call to cuInit" on a machine without a GPU), and Jupyter shows them under every setup cell.
    Python's own errors are exceptions and still show.
    """
    if _SHOW_NATIVE_LOGS:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _native_stderr_silenced():
    import tensorflow as tf  # must follow the environment set-up

    _GPUS = [d.name for d in tf.config.list_physical_devices("GPU")]   # CUDA's probe logs here, once


class _ModeKeys:
    """The three Estimator modes, as strings, exactly as ``tf.estimator.ModeKeys`` had them."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


def _install_estimator_placeholder() -> None:
    """Give ``tf.estimator`` a placeholder module with ``ModeKeys`` if TensorFlow lacks it."""
    try:
        tf.estimator.ModeKeys  # a real Estimator API is present: keep it
        return
    except AttributeError:
        pass
    placeholder = types.ModuleType(
        "tensorflow.estimator",
        "Placeholder installed by helpers.compat: TensorFlow >= 2.16 has no "
        "Estimators, and NSL 1.4.0 only needs ModeKeys at import time.",
    )
    placeholder.ModeKeys = _ModeKeys
    placeholder.__advlab_placeholder__ = True
    tf.estimator = placeholder
    sys.modules.setdefault("tensorflow.estimator", placeholder)


_install_estimator_placeholder()


class _RetracingNoteFilter:
    """Drops two of TensorFlow's performance notes that say nothing a student can act on.

    - "N out of the last M calls ... triggered tf.function retracing": the attacks are compiled once per
      combination of their Python options (norm, loss, targeted) and batch shape, and a lesson that tries
      several of them in a row triggers it.
    - "Callback method `on_train_batch_end` is slow compared to the batch time": weight averaging
      (``training.WeightAverage``, and lesson 09's average by hand) must run after every optimiser step, and on
      the lessons' small networks a step takes milliseconds.

    Every other TensorFlow warning still shows.
    """

    QUIET = ("triggered tf.function retracing", "is slow compared to the batch time")

    def filter(self, record) -> bool:
        message = record.getMessage()
        return not any(note in message for note in self.QUIET)


tf.get_logger().addFilter(_RetracingNoteFilter())


def keras_is_legacy() -> bool:
    """True when ``tf.keras`` is the tf-keras (Keras 2) package, as NSL needs."""
    return tf.keras.__name__.startswith("tf_keras")


def gpu_devices() -> list[str]:
    """Names of the GPUs TensorFlow can use (empty on a CPU-only machine)."""
    return list(_GPUS)


def versions() -> dict[str, str]:
    """Versions of the libraries the lessons depend on (missing ones as 'not installed')."""
    out = {"python": sys.version.split()[0], "tensorflow": tf.__version__}
    for name, module in [("tf-keras", "tf_keras"), ("nsl", "neural_structured_learning"),
                         ("tfds", "tensorflow_datasets"),
                         ("numpy", "numpy")]:
        try:
            out[name] = __import__(module).__version__
        except Exception:  # pragma: no cover - optional at report time
            out[name] = "not installed"
    return out


def device_report() -> str:
    """One line: library versions and the device TensorFlow will use."""
    v = versions()
    gpus = gpu_devices()
    device = f"GPU ({', '.join(gpus)})" if gpus else "CPU (no GPU found)"
    return (f"TensorFlow {v['tensorflow']} · tf-keras {v['tf-keras']} · NSL {v['nsl']} · "
            f"TFDS {v['tfds']} · Python {v['python']} · device: {device}")
