"""Hyper-parameters, quick/full mode, seeds, paths and the quick-mode thresholds.

Environment variables (all documented in README.md):

``ADVLAB_QUICK``      ``1`` for quick mode (CI, class, tests): the committed
                      MNIST sample, fewer epochs, fewer attacked images.
                      Anything else (or unset) is full mode.
``ADVLAB_DATA_DIR``   a folder holding ``mnist.npz`` or the four IDX files;
                      when set, it is the data source (explicit wins).
``ADVLAB_ARTIFACTS``  where trained models and benchmark outputs go; default
                      ``artifacts/`` at the repository root. Several folders
                      separated by ``:`` (``;`` on Windows): models are read
                      from the first that has them, written to the first
                      writable one (a class's shared, read-only models first).
``ADVLAB_SEED``       the global random seed (default 0).
"""
from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path

import numpy as np

from . import inputs

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGE_KEY = "image"
LABEL_KEY = "label"
# Seconds between two redraws of a tqdm progress bar. In a notebook each redraw is a
# widget message; a long cell that sends thousands of them overflows the Jupyter
# client's message queue, and nbval (CI) then loses the cell's "idle" message.
PROGRESS_INTERVAL_S = 1.0


def _env_flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name}={os.environ[name]!r}: use 1 (on) or 0 (off)")


def quick_mode() -> bool:
    """True when ``ADVLAB_QUICK`` is set to 1 (read on every call, so tests can change it)."""
    return _env_flag("ADVLAB_QUICK")


def mode() -> str:
    """``"quick"`` or ``"full"``."""
    return "quick" if quick_mode() else "full"


def artifacts_dirs() -> list[Path]:
    """Every artifacts folder, in order: ``ADVLAB_ARTIFACTS`` split at ``os.pathsep`` (``:`` on Linux and macOS,
    ``;`` on Windows), or ``<repo>/artifacts``. Nothing is created.

    A class sets, for example, ``ADVLAB_ARTIFACTS=/srv/course/models:~/advlab-artifacts``: models are read
    from the first folder that has them (the instructor's, read-only) and written to the first writable one.
    """
    raw = os.environ.get("ADVLAB_ARTIFACTS") or ""
    folders = [Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip()]
    return folders or [REPO_ROOT / "artifacts"]


def writable(folder: Path) -> bool:
    """True when ``folder`` exists or can be created, and a file can be written in it (checked by writing one)."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".advlab-probe-"):
            return True
    except OSError:
        return False


def artifacts_dir() -> Path:
    """The first writable artifacts folder of :func:`artifacts_dirs`, created if needed.

    Raises ``PermissionError`` with the fix when none of them can be written.
    """
    folders = artifacts_dirs()
    for folder in folders:
        if writable(folder):
            return folder
    raise PermissionError(f"none of the artifacts folders can be written: {', '.join(map(str, folders))}. "
                          f"Add a folder of your own at the end of ADVLAB_ARTIFACTS, e.g. "
                          f"ADVLAB_ARTIFACTS={os.pathsep.join(map(str, folders))}{os.pathsep}~/advlab-artifacts")


def seed() -> int:
    """The global seed (``ADVLAB_SEED``, default 0)."""
    return int(os.environ.get("ADVLAB_SEED", "0"))


def set_seeds(value: int | None = None) -> int:
    """Seed Python, NumPy and TensorFlow; returns the seed used."""
    import tensorflow as tf

    value = seed() if value is None else value
    random.seed(value)
    np.random.seed(value)
    tf.random.set_seed(value)
    return value


@dataclasses.dataclass(frozen=True)
class HParams:
    """The seed NSL tutorial's hyper-parameters (full mode), one field each.

    Images are 28x28x1 in [0, 1]; ``adv_step_size`` is the NSL perturbation
    size in those units (0.2 = a fifth of the pixel range, L-infinity).
    ``train_size``/``test_size`` cap the number of examples (None = all).
    """

    input_shape: tuple[int, int, int] = (28, 28, 1)
    num_classes: int = inputs.NUM_CLASSES
    conv_filters: tuple[int, ...] = (32, 64, 64)
    kernel_size: tuple[int, int] = (3, 3)
    pool_size: tuple[int, int] = (2, 2)
    num_fc_units: tuple[int, ...] = (64,)
    batch_size: int = 32
    epochs: int = 5
    adv_multiplier: float = 0.2
    adv_step_size: float = 0.2
    adv_grad_norm: str = "infinity"
    learning_rate: float = 1e-3
    shuffle_buffer: int = 10_000
    train_size: int | None = None
    test_size: int | None = None

    def __post_init__(self):
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError(f"batch_size and epochs must be >= 1, got {self.batch_size} and {self.epochs}")
        if self.adv_grad_norm not in ("infinity", "l2", "l1"):
            raise ValueError(f"adv_grad_norm must be 'infinity', 'l2' or 'l1', got {self.adv_grad_norm!r}")
        if self.adv_multiplier < 0:
            raise ValueError(f"adv_multiplier must be >= 0, got {self.adv_multiplier}")
        inputs.epsilon(self.adv_step_size, where="HParams.adv_step_size",
                       norm="inf" if self.adv_grad_norm == "infinity" else self.adv_grad_norm)

    def replace(self, **changes) -> "HParams":
        """A copy with some fields changed (the dataclass is frozen)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def hparams() -> HParams:
    """The hyper-parameters for the current mode.

    Full mode: the NSL tutorial's values on all of MNIST. Quick mode: the
    same architecture and optimiser on the committed sample (8,000 train and
    2,000 test images), with a larger batch and 3 epochs so that each
    notebook runs in a few minutes on a 2-core CPU.
    """
    base = HParams()
    if quick_mode():
        return base.replace(epochs=3, batch_size=64)
    return base


# Quick mode caps each split at the committed sample's size (also when a local folder is used).
QUICK_SIZES = {"train": 8_000, "test": 2_000}

# Quick-mode assertions read their thresholds from here, and only from here.
# Each is set below a value measured on the committed sample (see the comment).
THRESHOLDS = {
    # base CNN, quick mode, sample test split: measured 0.964 (3 epochs).
    "base_clean_accuracy": 0.90,
    # PGD-trained clean accuracy, quick mode: measured 0.95.
    "pgd_at_clean_accuracy": 0.85,
    # PGD-trained minus base accuracy under PGD at L-inf 0.3, quick mode: measured 0.61-0.62 (lessons 04-06).
    "robust_gain_under_pgd": 0.30,
    # NSL minus base accuracy under the NSL tutorial's transfer attack, quick mode: measured 0.39.
    "nsl_transfer_gain": 0.20,
    # NSL: transfer minus white-box PGD-40 accuracy at L-inf 0.2, quick mode: measured 0.24 (lesson 05).
    "nsl_whitebox_drop": 0.10,
    # |ART Auto-PGD - our strongest PGD| on the PGD-trained model, quick mode: measured 0.05 (100 images).
    "referee_gap": 0.10,
    # Distilled model: base minus distilled FGSM success at L-inf 0.3, quick mode: measured 0.91.
    "distillation_fgsm_gap": 0.50,
    # C&W L2 success on the distilled model, quick mode: measured 1.00 (100 images).
    "cw_success_distilled": 0.95,
}
