"""The Adversarial Robustness Lab's shared code. Import it before TensorFlow.

``import helpers`` first runs :mod:`helpers.compat`, which makes TensorFlow
2.21, tf-keras and NSL 1.4.0 work together; then the lessons' modules can be
imported as ``from helpers import data, models, zoo, ...``. One job per module:

- ``zoo``: the lessons' named models, loaded or trained;
- ``training``: standard and adversarial training (``training.METHODS``), distillation;
- ``nsl``: Neural Structured Learning's adversarial regularisation and the NSL tutorial's attack;
- ``evaluation``: accuracy, robust accuracy, the strongest PGD, the checklist;
- ``referee``: the Adversarial Robustness Toolbox's attacks (Auto-PGD, AutoAttack, Square) as the referee;
- ``exercises``, ``explorer``, ``batchnorm``: lesson-specific checks and tools;
- ``attacks``, ``data``, ``models``, ``plotting``, ``inputs``: the ground floor; ``config``, ``compat``: settings.
"""
from . import compat  # must come first: sets up TensorFlow
from . import config

__all__ = ["compat", "config", "setup"]


def setup(lesson: str | None = None, seed: int | None = None) -> str:
    """Seed everything and print one line: versions, device, mode and data source. Returns the line.

    ``lesson`` (``"08"``): when some of that lesson's models are not trained yet, a second line says so up
    front, with the expected wait and the ``make models`` hint (:func:`zoo.announce_training`).

    Also prints NumPy scalars as plain numbers (``7``, not ``np.int64(7)``) in prints and titles, and sets
    the collection's figure style (:func:`plotting.use_style`).
    """
    import numpy as np

    from . import data, plotting

    np.set_printoptions(legacy="1.25")
    plotting.use_style()

    used = config.set_seeds(seed)
    source, folder = data.resolve_source()
    where = {"local": f"local folder {folder}", "tfds": "tensorflow_datasets",
             "sample": "the project's MNIST sample"}[source]
    line = f"{compat.device_report()} · mode: {config.mode()} · data: {where} · seed {used}"
    print(line)
    if lesson is not None:
        from . import zoo

        zoo.announce_training(lesson)
    return line
