"""The independent referee: attacks of the Adversarial Robustness Toolbox (ART), not ours, on our models.

Our attacks (:mod:`helpers.attacks`) could share a bug with the models they test; an attack written by
others cannot. Everything that touches ART lives here:

- :func:`art_classifier`: a Keras logits model as ART's ``TensorFlowV2Classifier``, for calling any ART
  attack directly;
- :func:`robust_accuracy`: accuracy under ART's Auto-PGD (cross-entropy then DLR), PGD or Square;
- :func:`autoattack`: ART's AutoAttack, and which of its attacks broke each image first.
- :func:`apgd_survivors`, :func:`apgd_targeted`: which images ART's Auto-PGD, untargeted or targeted
  (APGD-T, as the AutoAttack leaderboard runs it), leaves standing, image by image.

All are L-infinity. Images are float32 (n, 28, 28, 1) in [0, 1], labels integers (n,), ``eps`` in pixel
units (images in [0, 1]). ART is slow on a CPU: see each function for its cost.
"""
from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from . import evaluation, inputs
from .progress import bar as progress_bar

ATTACKS = ("apgd", "autoattack", "pgd", "square")


def _evasion():
    """ART's evasion attacks module, imported without its warning that PyTorch is absent (it is not needed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from art.attacks import evasion
    return evasion


def _checked(x, y, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels checked by :mod:`helpers.inputs` (the one validation of every public entry here)."""
    return inputs.images_and_labels(x, y, where=f"referee.{where}")


def _positive_eps(eps, where: str) -> float:
    """A Python float (ART refuses NumPy floats), checked by :func:`helpers.inputs.epsilon` (L-inf, > 0)."""
    return inputs.epsilon(eps, where=f"referee.{where}", positive=True)


def art_version() -> str:
    """The version of the Adversarial Robustness Toolbox that referees (for a result's threat model)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import art
    return art.__version__


def pgd_attack(model, *, eps: float, step_size: float, steps: int, restarts: int = 1, batch_size: int = 500):
    """ART's own L-inf PGD, built once, as ``attack(x, y) -> x_adv`` (NumPy in, NumPy out).

    ``x``: float32 images (n, 28, 28, 1) in [0, 1]; ``y``: int labels (n,). ``eps`` and ``step_size`` in
    those units; ``restarts`` random starts (0: start at ``x``). For timing ART against
    :func:`helpers.attacks.pgd` (``benchmarks/attack_speed.py``) with the same settings.
    """
    eps = _positive_eps(eps, "pgd_attack")
    runner = _evasion().ProjectedGradientDescent(art_classifier(model), norm=np.inf, eps=eps,
                                                 eps_step=float(step_size), max_iter=int(steps),
                                                 num_random_init=int(restarts), batch_size=int(batch_size),
                                                 verbose=False)

    def attack(x, y):
        x, y = _checked(x, y, "pgd_attack")
        return runner.generate(x, y=y)

    return attack


def art_classifier(model, input_shape=(28, 28, 1), num_classes: int = inputs.NUM_CLASSES):
    """The model wrapped as the Adversarial Robustness Toolbox's ``TensorFlowV2Classifier``.

    ``model`` maps float32 images ``input_shape`` in [0, 1] to logits (batch, ``num_classes``). The
    wrapper uses the cross-entropy on logits and clips inputs to [0, 1]; pass it to any ART attack.
    """
    inputs.logits_model(model, where="referee.art_classifier")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ART warns that PyTorch is absent; it is not needed here
        from art.estimators.classification import TensorFlowV2Classifier

    return TensorFlowV2Classifier(model=model, nb_classes=num_classes, input_shape=input_shape,
                                  loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                  clip_values=(0.0, 1.0))


def robust_accuracy(model, x: np.ndarray, y: np.ndarray, *, eps: float, attack: str = "apgd",
                    max_iter: int = 100, restarts: int = 1, batch_size: int = 500, seed: int = 0,
                    progress: bool = True) -> float:
    """Accuracy (fraction 0..1) under an L-inf attack of ART, the independent check of our PGD.

    ``attack``:

    - ``"apgd"``: Auto-PGD (Croce & Hein 2020) on the cross-entropy, then on the DLR loss for the
      images the first left standing; ``max_iter`` iterations, first step 2 eps, ``restarts`` random
      starts each: the strongest white-box part of AutoAttack, minutes for 1,000 images on 2 CPU cores;
    - ``"autoattack"``: ART's AutoAttack with its default attacks, Square included (see
      :func:`autoattack`, which also says which attack broke each image first); slow: 4 to 40 minutes
      per 200 images on 2 CPU cores, the longer the more robust the model;
    - ``"pgd"``: ART's PGD, ``max_iter`` steps of 2.5 eps / ``max_iter``, ``restarts`` random starts;
    - ``"square"``: ART's Square attack alone (Andriushchenko et al. 2020): gradient-free random search
      over squares of the image moved by +-eps, ``max_iter`` queries per image, ``restarts`` runs
      (AutoAttack runs it with 5,000 queries and 5 restarts).

    ``seed`` seeds NumPy, which ART draws its random starts and squares from. ``progress`` shows a bar
    over Auto-PGD's two losses.
    """
    if attack not in ATTACKS:
        raise ValueError(f"referee.robust_accuracy: unknown attack {attack!r}; use one of {', '.join(ATTACKS)}")
    x, y = _checked(x, y, "robust_accuracy")
    eps = _positive_eps(eps, "robust_accuracy")
    if int(max_iter) != max_iter or max_iter < 1 or int(restarts) != restarts or restarts < 1:
        raise ValueError(f"referee.robust_accuracy: max_iter and restarts must be integers >= 1, got {max_iter} "
                         f"and {restarts}")
    if attack == "autoattack":
        return autoattack(model, x, y, eps=eps, batch_size=batch_size, seed=seed)["accuracy"]
    np.random.seed(seed)
    classifier = art_classifier(model)
    evasion = _evasion()
    if attack == "apgd":
        x_adv = x
        correct = np.ones(len(x), bool)
        for loss in progress_bar(("cross_entropy", "difference_logits_ratio"), desc="ART Auto-PGD (CE, DLR)",
                                 unit="loss", disable=not progress):
            runner = evasion.AutoProjectedGradientDescent(classifier, norm=np.inf, eps=eps, eps_step=2 * eps,
                                                          max_iter=max_iter, nb_random_init=restarts,
                                                          batch_size=batch_size, loss_type=loss, verbose=False)
            candidate = runner.generate(x, y=y)
            still = evaluation.predict_labels(model, candidate) == y
            x_adv = np.where((correct & ~still)[:, None, None, None], candidate, x_adv)
            correct &= still
        return float(np.mean(correct & (evaluation.predict_labels(model, x_adv) == y)))
    if attack == "pgd":
        runner = evasion.ProjectedGradientDescent(classifier, norm=np.inf, eps=eps, eps_step=2.5 * eps / max_iter,
                                                  max_iter=max_iter, num_random_init=restarts, batch_size=batch_size,
                                                  verbose=False)
        return evaluation.accuracy(model, runner.generate(x, y=y), y)
    return evaluation.accuracy(model, square(model, x, y, eps=eps, max_iter=max_iter, restarts=restarts,
                                             batch_size=batch_size, seed=seed), y)


def square(model, x: np.ndarray, y: np.ndarray, *, eps: float, max_iter: int = 1000, restarts: int = 1,
           batch_size: int = 500, seed: int = 0) -> np.ndarray:
    """ART's Square attack (Andriushchenko et al. 2020), L-inf: the adversarial images, float32 like ``x``.

    A gradient-free random search: each of ``max_iter`` queries per image moves a random square of the image to
    a corner of the eps-ball (+-eps per pixel, in pixel units) and keeps the change when the margin loss drops;
    ``restarts`` runs. It reads only the model's outputs, so a masked or zero gradient does not stop it. ``x``:
    float32 (n, 28, 28, 1) in [0, 1]; ``y``: labels (n,). ``seed`` seeds NumPy, which ART draws its squares from.
    """
    x, y = _checked(x, y, "square")
    eps = _positive_eps(eps, "square")
    if int(max_iter) != max_iter or max_iter < 1 or int(restarts) != restarts or restarts < 1:
        raise ValueError(f"referee.square: max_iter and restarts must be integers >= 1, got {max_iter} and {restarts}")
    np.random.seed(seed)
    runner = _evasion().SquareAttack(art_classifier(model), norm=np.inf, eps=eps, max_iter=int(max_iter), p_init=0.8,
                                     nb_restarts=int(restarts), batch_size=batch_size, verbose=False)
    return runner.generate(x, y=y).astype(np.float32)


def _attack_name(attack) -> str:
    """A short name for one of ART's attacks: its class name, with Auto-PGD's loss (``APGD-CE``, ``APGD-DLR``)."""
    name = type(attack).__name__
    if name == "AutoProjectedGradientDescent":
        return {"cross_entropy": "APGD-CE", "difference_logits_ratio": "APGD-DLR"}.get(attack.loss_type,
                                                                                      f"APGD-{attack.loss_type}")
    return name.replace("Attack", "") or name


def autoattack(model, x: np.ndarray, y: np.ndarray, *, eps: float, batch_size: int = 500, seed: int = 0) -> dict:
    """ART's AutoAttack (L-inf, its default attacks, untargeted), and which of its attacks broke each image first.

    ``x``: images (N, H, W, C) in [0, 1]; ``y``: integer labels (N,); ``eps``: the L-inf budget in pixel
    units. ART runs Auto-PGD on the cross-entropy (``APGD-CE``), then on the DLR loss (``APGD-DLR``), 100
    iterations and 5 restarts each (every restart from a uniform random point of the eps-ball) with a first
    step of eps/4, then DeepFool, then Square (5,000 queries, 5 restarts), each on the images all earlier ones
    left standing, and keeps a find only when it is misclassified and inside the ball (ART allows 1e-4 of eps
    over); so an image is credited to the first attack that broke it. Slow: 4 to 40 minutes per 200 images on
    2 CPU cores, the more the more robust the model (the capstone about 10, the deeper TRADES networks 20 to
    40): Square runs on every image still standing.

    Returns a dict:

    - ``accuracy``: the fraction (0..1) of the N images our model still classifies correctly on ``x_adv``;
    - ``images``: N; ``misclassified_clean``: images wrong before any attack;
    - ``found_by``: attack name -> the number of images it broke first, every attack in ART's order
      (``APGD-CE``, ``APGD-DLR``, ``DeepFool``, ``Square``), 0 when it broke none;
    - ``first_broken_by``: per image (N,), the index into ``found_by`` of the attack that broke it, -1 when
      none did, -2 when it was wrong to begin with (ART's ``best_attacks``);
    - ``x_adv``: float32, the shape of ``x``: the adversarial image where an attack broke it, else ``x`` itself.

    ``accuracy * images`` equals ``images - misclassified_clean - sum(found_by)`` (up to a prediction at a tie
    that flips between ART's pass and ours, which a caller can check against ``first_broken_by``).
    """
    x, y = _checked(x, y, "autoattack")
    eps = _positive_eps(eps, "autoattack")
    np.random.seed(seed)
    classifier = art_classifier(model)
    runner = _evasion().AutoAttack(classifier, norm=np.inf, eps=eps, eps_step=eps / 4, batch_size=int(batch_size))
    x_adv = runner.generate(x, y=y).astype(np.float32)
    best = np.asarray(runner.best_attacks, dtype=int)
    found_by = {_attack_name(a): int(np.sum(best == i)) for i, a in enumerate(runner.attacks)}
    return {"accuracy": evaluation.accuracy(model, x_adv, y), "images": len(x),
            "misclassified_clean": int(np.sum(best == runner.SAMPLE_MISCLASSIFIED)),
            "found_by": found_by, "first_broken_by": best, "x_adv": x_adv}


# --------------------------------------------------------------------------- per image (benchmarks/capstone.py)

CLEAN_MISCLASSIFIED = "clean-misclassified"
"""What :func:`apgd_targeted` records for an image the model got wrong before any attack."""


def _inside(x_adv: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    """Per image: inside the L-inf ball of radius eps (ART's AutoAttack allows 1e-4 of eps over)."""
    return (1 - 1e-4) * np.abs(x_adv - x).reshape(len(x), -1).max(axis=1, initial=0.0) <= eps


def apgd_survivors(model, x: np.ndarray, y: np.ndarray, *, eps: float, restarts: int = 5, max_iter: int = 100,
                   batch_size: int = 500) -> np.ndarray:
    """Per image (n,) bool: still classified correctly after ART's Auto-PGD, untargeted, CE then DLR loss.

    ``x``: float32 (n, 28, 28, 1) in [0, 1]; ``y``: integer labels (n,); ``eps``: the L-inf budget in those
    units. Each loss runs ``max_iter`` iterations from ``restarts`` random starts with the paper's first step
    2 eps (Croce & Hein 2020), on the images still standing; a find counts when it is misclassified and
    inside the ball. The attack of ``robust_accuracy(attack="apgd")``, image by image. NumPy's seed (which
    ART draws from) is the caller's to set.
    """
    x, y = _checked(x, y, "apgd_survivors")
    eps = _positive_eps(eps, "apgd_survivors")
    classifier = art_classifier(model)
    robust = evaluation.predict_labels(model, x) == y
    for loss in ("cross_entropy", "difference_logits_ratio"):
        idx = np.flatnonzero(robust)
        if not len(idx):
            break
        runner = _evasion().AutoProjectedGradientDescent(
            classifier, norm=np.inf, eps=eps, eps_step=2 * eps, max_iter=int(max_iter), nb_random_init=int(restarts),
            batch_size=int(batch_size), loss_type=loss, verbose=False)
        x_adv = runner.generate(x[idx], y=y[idx]).astype(np.float32)
        broken = (evaluation.predict_labels(model, x_adv) != y[idx]) & _inside(x_adv, x[idx], eps)
        robust[idx[broken]] = False
    return robust


def apgd_targeted(model, x: np.ndarray, y: np.ndarray, *, eps: float, targets: int = 9, max_iter: int = 100,
                  restarts: int = 1, batch_size: int = 500) -> dict:
    """ART's targeted Auto-PGD (APGD-T) as the AutoAttack leaderboard's standard version runs it, per image.

    ``x``: float32 (n, 28, 28, 1) in [0, 1]; ``y``: integer labels (n,); ``eps``: the L-inf budget in those
    units. For each image, the ``targets`` classes other than its label with the highest clean logits, in
    that order (Croce & Hein 2020: 9 targets, 100 iterations, 1 restart each); target after target, Auto-PGD
    with ART's DLR loss on the target label (ART 1.20's targeted DLR raises the target's logit over the
    largest other one, scaled like DLR) and a first step of 2 eps runs on the images still standing. An image
    is broken when a find is misclassified (any wrong class) and inside the ball. ART's own AutoAttack with
    ``targeted=True`` differs: it tries the nine other classes in index order, with every one of its attacks.
    NumPy's seed (which ART draws its random starts from) is the caller's to set.

    Returns ``{"robust": bool (n,), "broken_with_target": [...]}``: per image the target class (int) whose
    attack broke it, None where none did, :data:`CLEAN_MISCLASSIFIED` where the model was wrong before.
    """
    x, y = _checked(x, y, "apgd_targeted")
    eps = _positive_eps(eps, "apgd_targeted")
    if int(targets) != targets or not 1 <= targets <= 9:
        raise ValueError(f"referee.apgd_targeted: targets must be 1..9 (classes other than the label), got {targets}")
    logits = np.concatenate([model(x[i:i + batch_size], training=False).numpy() for i in range(0, len(x), batch_size)]
                            or [np.zeros((0, inputs.NUM_CLASSES), np.float32)])
    order = np.argsort(-logits, axis=1, kind="stable")
    others = np.array([[c for c in row if c != label][:targets] for row, label in zip(order, y)],
                      dtype=int).reshape(len(x), int(targets))
    robust = logits.argmax(axis=1) == y
    broken_with = [None if r else CLEAN_MISCLASSIFIED for r in robust]
    runner = _evasion().AutoProjectedGradientDescent(
        art_classifier(model), norm=np.inf, eps=eps, eps_step=2 * eps, max_iter=int(max_iter), targeted=True,
        nb_random_init=int(restarts), batch_size=int(batch_size), loss_type="difference_logits_ratio", verbose=False)
    for k in range(int(targets)):
        idx = np.flatnonzero(robust)
        if not len(idx):
            break
        target = others[idx, k]
        x_adv = runner.generate(x[idx], y=target).astype(np.float32)
        broken = (evaluation.predict_labels(model, x_adv) != y[idx]) & _inside(x_adv, x[idx], eps)
        robust[idx[broken]] = False
        for i, t in zip(idx[broken], target[broken]):
            broken_with[i] = int(t)
    return {"robust": robust, "broken_with_target": broken_with}
