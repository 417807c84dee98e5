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
import pandas as pd
import tensorflow as tf
from tqdm.auto import tqdm

from . import attacks, inputs
from .config import PROGRESS_INTERVAL_S


def _checked(x, y, where: str, *, y_optional: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Images and labels checked by :mod:`helpers.inputs` (the one validation of every public entry here)."""
    x = inputs.images(x, where=f"evaluation.{where}")
    if y is None and y_optional:
        return x, None
    return x, inputs.labels(y, len(x), where=f"evaluation.{where}")


def predict_labels(model, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted classes (n,) for float32 images (n, 28, 28, 1) in [0, 1]; inference mode."""
    x = inputs.images(x, where="evaluation.predict_labels")
    out = [np.argmax(model(x[i:i + batch_size], training=False).numpy(), axis=-1)
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0,), np.int64)


def accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    """Clean accuracy (fraction in 0..1) on float32 images (n, 28, 28, 1) in [0, 1] with integer labels (n,)."""
    x, y = _checked(x, y, "accuracy")
    return float(np.mean(predict_labels(model, x, batch_size) == y))


def attack_all(model, x: np.ndarray, y: np.ndarray | None, attack: Callable, *, batch_size: int = 500,
               progress: bool = True, desc: str = "attacking") -> np.ndarray:
    """Run ``attack(model, x_batch, y_batch) -> x_adv_batch`` over all of ``x`` in batches.

    ``attack`` is an attack from :mod:`helpers.attacks` with its settings
    bound, e.g. ``functools.partial(attacks.pgd, eps=0.3, steps=40)``.
    Returns the adversarial images as one float32 array like ``x``.
    """
    x, y = _checked(x, y, "attack_all", y_optional=True)
    inputs.logits_model(model, where="evaluation.attack_all")
    out = np.empty_like(x)
    starts = range(0, len(x), batch_size)
    for i in tqdm(starts, desc=desc, unit="batch", disable=not progress, leave=False,
                  mininterval=PROGRESS_INTERVAL_S):
        yb = None if y is None else np.asarray(y[i:i + batch_size])
        out[i:i + batch_size] = np.asarray(attack(model, x[i:i + batch_size], yb))
    return out


def survivors(model, x: np.ndarray, y: np.ndarray, attack: Callable, *, batch_size: int = 500) -> np.ndarray:
    """Per image (n,) bool: True when the model still classifies the attacked image correctly.

    Combine several attacks per image with ``&``: an image is robust only if
    it survives every attack (the worst case a paper should report).
    """
    x, y = _checked(x, y, "survivors")
    x_adv = attack_all(model, x, y, attack, batch_size=batch_size, progress=False)
    return predict_labels(model, x_adv, batch_size) == y


def robust_accuracy(model, x: np.ndarray, y: np.ndarray, attack: Callable, *, batch_size: int = 500,
                    progress: bool = True, return_adversarial: bool = False):
    """Accuracy of ``model`` on ``attack``'s adversarial versions of ``x`` (fraction in 0..1).

    The attack is given the true labels ``y``. With ``return_adversarial=True``
    returns ``(accuracy, x_adv)``.
    """
    x, y = _checked(x, y, "robust_accuracy")
    x_adv = attack_all(model, x, y, attack, batch_size=batch_size, progress=progress, desc=_attack_name(attack))
    acc = accuracy(model, x_adv, y, batch_size)
    return (acc, x_adv) if return_adversarial else acc


def _attack_name(attack) -> str:
    if isinstance(attack, functools.partial):
        return _attack_name(attack.func)
    return getattr(attack, "__name__", type(attack).__name__)


def threat_model(attack: Callable, n_images: int) -> str:
    """A one-line description of an attack's threat model.

    For example ``"L-inf PGD, eps 0.3, 40 steps, 1 restart, 1,000 images"``.
    """
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


def seed_tutorial_perturb(source_model, x: np.ndarray, y: np.ndarray, hparams,
                          batch_size: int | None = None) -> np.ndarray:
    """The seed NSL tutorial's perturbed test images, exactly, as one float32 array like ``x``.

    The perturbations come from ``source_model`` (the tutorial uses the *base*
    model) through a reference ``nsl.keras.AdversarialRegularization`` and its
    ``perturb_on_batch`` (one L-inf step of ``hparams.adv_step_size``), then
    clipped to [0, 1]. Shown to any other model, they are a **transfer** attack.
    """
    from . import training
    from .config import IMAGE_KEY, LABEL_KEY

    x, y = _checked(x, y, "seed_tutorial_perturb")
    reference = training.nsl_wrap(source_model, hparams)
    batch_size = batch_size or hparams.batch_size
    out = np.empty_like(np.asarray(x, np.float32))
    for i in range(0, len(x), batch_size):
        batch = {IMAGE_KEY: tf.constant(x[i:i + batch_size]), LABEL_KEY: tf.constant(y[i:i + batch_size])}
        out[i:i + batch_size] = tf.clip_by_value(reference.perturb_on_batch(batch)[IMAGE_KEY], 0.0, 1.0).numpy()
    return out


def seed_tutorial_accuracy(source_model, models: dict, x: np.ndarray, y: np.ndarray, hparams,
                           batch_size: int | None = None) -> dict:
    """The seed NSL tutorial's robustness check: accuracy of each model on :func:`seed_tutorial_perturb`'s images.

    For every model other than ``source_model`` this is a **transfer**
    attack. Returns ``{name: accuracy}``.
    """
    batch_size = batch_size or hparams.batch_size
    perturbed = seed_tutorial_perturb(source_model, x, y, hparams, batch_size)
    # Predict in the tutorial's batches too: a different batch size can change the float arithmetic of a
    # convolution, and with it the prediction of an image sitting exactly on a decision boundary.
    return {name: accuracy(model, perturbed, y, batch_size) for name, model in models.items()}


def loss_along_direction(model, x: np.ndarray, y: np.ndarray, direction: np.ndarray, steps) -> np.ndarray:
    """Mean cross-entropy of ``model`` at ``clip(x + t * direction, 0, 1)`` for each ``t`` in ``steps``.

    ``direction`` is like ``x`` (e.g. the sign of the input gradient, or a
    random sign pattern: then ``t`` is the L-inf distance, in [0, 1] pixel
    units). Returns an array of ``len(steps)`` mean losses (nats).
    """
    x, y = _checked(x, y, "loss_along_direction")
    direction = inputs.images(direction, where="evaluation.loss_along_direction (direction)",
                              unit_range=False)
    if direction.shape != x.shape:
        raise ValueError(f"direction has shape {direction.shape}, images {x.shape}")
    losses = []
    for t in steps:
        logits = model(np.clip(x + np.float32(t) * direction, 0.0, 1.0), training=False)
        loss = tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        losses.append(float(tf.reduce_mean(loss)))
    return np.asarray(losses)


# --------------------------------------------------------------------------- tables over models, attacks and epsilons

def success_rate(model, x: np.ndarray, x_adv: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    """Fraction of the examples the model got right that the attack makes it get wrong (0..1; NaN if none right)."""
    x, y = _checked(x, y, "success_rate")
    x_adv, _ = _checked(x_adv, y, "success_rate (x_adv)")
    right = predict_labels(model, x, batch_size) == y
    if not right.any():
        return float("nan")
    return float(np.mean(predict_labels(model, x_adv[right], batch_size) != y[right]))


def perturbation_norms(x: np.ndarray, x_adv: np.ndarray, changed_threshold: float = 1e-6) -> dict:
    """Mean L0, L1, L2 and L-inf size of ``x_adv - x`` per example.

    L0 counts the pixels changed by more than the threshold.
    """
    x = inputs.images(x, where="evaluation.perturbation_norms", unit_range=False)
    x_adv = inputs.images(x_adv, where="evaluation.perturbation_norms (x_adv)", unit_range=False)
    if x.shape != x_adv.shape:
        raise ValueError(f"evaluation.perturbation_norms: x has shape {x.shape}, x_adv {x_adv.shape}")
    delta = (np.asarray(x_adv, np.float64) - np.asarray(x, np.float64)).reshape(len(x), -1)
    return {"L0": float(np.mean(np.sum(np.abs(delta) > changed_threshold, axis=1))),
            "L1": float(np.mean(np.sum(np.abs(delta), axis=1))),
            "L2": float(np.mean(np.sqrt(np.sum(delta ** 2, axis=1)))),
            "Linf": float(np.mean(np.max(np.abs(delta), axis=1)))}


def evaluate_attack(model, x: np.ndarray, y: np.ndarray, attack: Callable, *, progress: bool = True,
                    batch_size: int = 500) -> dict:
    """One tidy row: accuracy, success rate and perturbation sizes of one attack, with its threat model."""
    acc, x_adv = robust_accuracy(model, x, y, attack, batch_size=batch_size, progress=progress,
                                 return_adversarial=True)
    kw = dict(attack.keywords) if isinstance(attack, functools.partial) else {}
    return {"attack": _attack_name(attack), "norm": attacks._norm(kw.get("norm", "inf")), "eps": kw.get("eps"),
            "steps": kw.get("steps", 1 if _attack_name(attack) == "fgsm" else None), "restarts": kw.get("restarts", 1),
            "accuracy": acc, "success_rate": success_rate(model, x, x_adv, y, batch_size),
            **{f"mean_{k}": v for k, v in perturbation_norms(x, x_adv).items()},
            "images": len(x), "threat_model": threat_model(attack, len(x))}


def attack_report(model, x: np.ndarray, y: np.ndarray, attack_set: dict, *, progress: bool = True) -> pd.DataFrame:
    """Success rate and distortion of several attacks on one model: one tidy row per attack.

    ``attack_set`` maps a display name to an attack with its settings bound
    (bounded ones like PGD, or minimum-distortion ones like C&W). Columns:
    attack, success_rate (fraction of correctly classified images the attack
    fools), mean L0 (pixels changed), L1, L2 and L-inf of the perturbation over
    the **successful** adversarial examples (NaN if none), images, seconds.
    """
    x, y = _checked(x, y, "attack_report")
    right = predict_labels(model, x) == y
    rows = []
    for name, attack in tqdm(attack_set.items(), desc="attacks", disable=not progress, leave=False):
        start = time.perf_counter()
        x_adv = attack_all(model, x[right], y[right], attack, progress=False)
        seconds = time.perf_counter() - start
        fooled = predict_labels(model, x_adv) != y[right]
        norms = (perturbation_norms(x[right][fooled], x_adv[fooled]) if fooled.any()
                 else dict.fromkeys(("L0", "L1", "L2", "Linf"), float("nan")))
        rows.append({"attack": name, "success_rate": float(fooled.mean()) if len(fooled) else float("nan"),
                     **{f"mean_{k}": v for k, v in norms.items()}, "images": int(right.sum()), "seconds": seconds})
    return pd.DataFrame(rows)


def accuracy_vs_epsilon(models: dict, x: np.ndarray, y: np.ndarray, attack_factories: dict, epsilons,
                        *, progress: bool = True) -> pd.DataFrame:
    """Accuracy of every model under every attack at every eps: a tidy table.

    ``attack_factories`` maps a display name to ``eps -> attack`` (e.g.
    ``lambda e: functools.partial(attacks.pgd, eps=e, steps=40)``). eps 0 is
    clean accuracy. Columns: model, attack, eps, accuracy, images, threat_model.
    """
    x, y = _checked(x, y, "accuracy_vs_epsilon")
    rows = []
    total = len(models) * len(attack_factories) * len(epsilons)
    with tqdm(total=total, desc="accuracy vs epsilon", disable=not progress, leave=False,
              mininterval=PROGRESS_INTERVAL_S) as bar:
        for model_name, model in models.items():
            clean = accuracy(model, x, y)
            for attack_name, factory in attack_factories.items():
                for eps in epsilons:
                    attack = factory(eps)
                    acc = clean if eps == 0 else robust_accuracy(model, x, y, attack, progress=False)
                    rows.append({"model": model_name, "attack": attack_name, "eps": float(eps), "accuracy": acc,
                                 "images": len(x), "threat_model": threat_model(attack, len(x))})
                    bar.update()
    return pd.DataFrame(rows)


def is_monotone(table: pd.DataFrame, tolerance: float = 0.01) -> pd.Series:
    """Per (model, attack): True when accuracy never rises by more than ``tolerance`` as eps grows."""
    def check(rows):
        acc = rows.sort_values("eps")["accuracy"].to_numpy()
        return bool(np.all(np.diff(acc) <= tolerance))
    return table.groupby(["model", "attack"], sort=False).apply(check, include_groups=False)


# --------------------------------------------------------------------------- the evaluation checklist

def checklist(model, x: np.ndarray, y: np.ndarray, *, eps: float = 0.3, surrogate=None, steps: int = 20,
              strong_steps: int = 100, strong_restarts: int = 5, tolerance: float = 0.02,
              loss_gap: float = 0.10, progress: bool = True, seed: int = 0) -> pd.DataFrame:
    """Sanity checks of a robustness evaluation, after Carlini et al. (2019) "On Evaluating Adversarial Robustness".

    Runs on any model (L-inf, budget ``eps``) and returns one row per check
    with ``passed`` and the numbers behind it. A failed check means the attack,
    not the model, is the weak point: typically **gradient masking**, and
    the row's ``flags_masking`` says so.

    1. Iterative attacks beat single-step ones: PGD accuracy <= FGSM accuracy.
    2. Accuracy does not rise as eps grows (PGD at eps/4, eps/2, 3eps/4, eps).
    3. An unbounded attack (eps = 1: every pixel free) drives accuracy to about 0.
    4. Random noise of the same size (a random sign pattern of size eps)
       hurts no more than the attack, within ``tolerance``.
    5. White-box beats transfer: PGD with the model's own gradients is at least as
       strong as PGD crafted on ``surrogate`` (skipped if none).
    6. More steps and restarts no longer change the result: PGD on the margin loss
       with half the steps and restarts, and with ``strong_steps`` and
       ``strong_restarts``, differ by <= ``tolerance``. This one flags an
       evaluation that has not converged rather than masking.
    7. A loss that skips the softmax agrees: PGD on the cross-entropy is no more
       than ``loss_gap`` (default 10 points) weaker than PGD on the margin of
       the logits with the same steps. A larger gap means a saturated softmax
       hides the gradient (defensive distillation, lesson 07).

    ``tolerance`` (fraction, default 2 points) absorbs sampling noise.
    """
    x, y = _checked(x, y, "checklist")
    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)
    pgd = functools.partial(attacks.pgd, eps=eps, steps=steps)
    results = []

    def add(name, passed, numbers, detail, masking):
        results.append({"check": name, "passed": bool(passed), "numbers": numbers, "detail": detail,
                        "flags_masking": bool(masking and not passed)})

    bar = tqdm(total=7, desc="checklist", disable=not progress, leave=False)
    clean = accuracy(model, x, y)
    acc_fgsm = robust_accuracy(model, x, y, functools.partial(attacks.fgsm, eps=eps), progress=False)
    acc_pgd = robust_accuracy(model, x, y, pgd, progress=False)
    add("iterative beats single-step", acc_pgd <= acc_fgsm + tolerance,
        f"FGSM {acc_fgsm:.1%}, PGD-{steps} {acc_pgd:.1%}",
        "single-step stronger than iterative: the gradient direction is unreliable", True)
    bar.update()

    grid = [eps * f for f in (0.25, 0.5, 0.75)]
    curve = [robust_accuracy(model, x, y, functools.partial(attacks.pgd, eps=e, steps=steps), progress=False)
             for e in grid] + [acc_pgd]
    rising = np.diff([clean] + curve)
    add("accuracy falls as eps grows", np.all(rising <= tolerance),
        ", ".join(f"eps {e:.3g}: {a:.1%}" for e, a in zip([0.0] + grid + [eps], [clean] + curve)),
        "accuracy rose with a larger budget: the attack is failing, not the model succeeding", True)
    bar.update()

    acc_unbounded = robust_accuracy(model, x, y, functools.partial(attacks.pgd, eps=1.0, steps=max(steps, 50),
                                                                   step_size=0.05, loss="margin"), progress=False)
    add("unbounded attack reaches ~0%", acc_unbounded <= 0.01 + tolerance,
        f"PGD eps 1.0 (margin loss): {acc_unbounded:.1%}",
        "with every pixel free any image can become any digit; accuracy above 0 means the attack is stuck", True)
    bar.update()

    noise = np.clip(x + eps * rng.choice([-1.0, 1.0], size=x.shape).astype(np.float32), 0, 1).astype(np.float32)
    acc_noise = accuracy(model, noise, y)
    add("random noise hurts no more than the attack (within the tolerance)", acc_noise >= acc_pgd - tolerance,
        f"random ±eps noise {acc_noise:.1%}, PGD-{steps} {acc_pgd:.1%}",
        "random noise of the same size beats the attack: the attack's gradients carry no signal", True)
    bar.update()

    if surrogate is not None:
        acc_transfer = accuracy(model, attack_all(surrogate, x, y, pgd, progress=False), y)
        add("white-box beats transfer", acc_pgd <= acc_transfer + tolerance,
            f"white-box PGD-{steps} {acc_pgd:.1%}, transfer from surrogate {acc_transfer:.1%}",
            "examples crafted on another model fool this one more than its own gradients do", True)
    bar.update()

    half_steps, half_restarts = max(1, strong_steps // 2), max(1, -(-strong_restarts // 2))
    acc_half = robust_accuracy(model, x, y, functools.partial(attacks.pgd, eps=eps, steps=half_steps,
                                                              restarts=half_restarts, loss="margin"), progress=False)
    acc_strong = robust_accuracy(model, x, y, functools.partial(attacks.pgd, eps=eps, steps=strong_steps,
                                                                restarts=strong_restarts, loss="margin"),
                                 progress=False)
    add("more steps and restarts change little", acc_half - acc_strong <= tolerance,
        f"PGD-{steps} {acc_pgd:.1%}; margin loss: PGD-{half_steps} ×{half_restarts} {acc_half:.1%}, "
        f"PGD-{strong_steps} ×{strong_restarts} {acc_strong:.1%}",
        "doubling steps and restarts still finds more: the attack has not converged, so no number is final", False)
    bar.update()

    acc_margin = robust_accuracy(model, x, y, functools.partial(attacks.pgd, eps=eps, steps=steps, loss="margin"),
                                 progress=False)
    add("cross-entropy and margin losses agree", acc_pgd - acc_margin <= loss_gap,
        f"PGD-{steps}: cross-entropy {acc_pgd:.1%}, margin {acc_margin:.1%}",
        "the margin on logits finds far more than the cross-entropy: a saturated softmax hides the gradient", True)
    bar.update()
    bar.close()
    table = pd.DataFrame(results)
    table.attrs["threat_model"] = f"L-inf eps {eps}, {len(x):,} images"
    table.attrs["clean_accuracy"] = clean
    table.attrs["strongest_accuracy"] = min(acc_pgd, acc_half, acc_strong, acc_margin)
    return table


def input_gradients(model, x: np.ndarray, y: np.ndarray, *, loss: str = "ce", batch_size: int = 500) -> np.ndarray:
    """The gradient of the attack loss (``"ce"`` or ``"margin"``) with respect to each input pixel.

    ``x``: float32 images (n, 28, 28, 1) in [0, 1]; ``y``: labels (n,). Returns a float32 array like ``x``
    (loss units per pixel unit), the model in inference mode, as an attack sees it.
    """
    if loss not in ("ce", "margin"):
        raise ValueError(f"loss must be 'ce' or 'margin', got {loss!r}")
    x, y = _checked(x, y, "input_gradients")
    out = np.empty_like(x)
    for i in range(0, len(x), batch_size):
        _, grad = attacks.input_gradient(model, tf.constant(x[i:i + batch_size]),
                                         tf.constant(y[i:i + batch_size], tf.int64), loss)
        out[i:i + batch_size] = grad.numpy()
    return out


def zero_gradient_fraction(model, x: np.ndarray, y: np.ndarray, *, loss: str = "ce", batch_size: int = 500) -> float:
    """The fraction (0..1) of input pixels whose gradient of the attack loss is exactly 0, over all images.

    Arguments as for :func:`input_gradients`; the gradient is taken at ``x`` itself. A sign-gradient step
    (FGSM, PGD) does not move such a pixel from where it stands (sign(0) = 0), so a large fraction means
    much of the eps-ball is hard for it to reach: ReLU networks trained adversarially on MNIST learn to
    threshold their input, and a gradient-free search (Square) can find what PGD misses.
    """
    return float(np.mean(input_gradients(model, x, y, loss=loss, batch_size=batch_size) == 0.0))


def gradient_masking_suspected(table: pd.DataFrame) -> bool:
    """True when any failed check of :func:`checklist` points at gradient masking."""
    return bool(table["flags_masking"].any())


# --------------------------------------------------------------------------- the independent referee

def art_robust_accuracy(model, x: np.ndarray, y: np.ndarray, *, eps: float, attack: str = "apgd",
                        max_iter: int = 100, restarts: int = 1, batch_size: int = 500, seed: int = 0,
                        progress: bool = True) -> float:
    """Accuracy under an attack of the Adversarial Robustness Toolbox (L-inf), the independent check of our PGD.

    ``attack``: ``"apgd"`` (Auto-PGD, cross-entropy and DLR losses, the
    strongest white-box parts of AutoAttack, minutes for 1,000 images),
    ``"autoattack"`` (ART's AutoAttack with its default attacks including
    Square; slow: 4 to 40 minutes per 200 images on 2 CPU cores, longer for
    more robust models, since Square runs on every image still standing;
    :func:`autoattack` also says which of its attacks broke each image first), or
    ``"pgd"`` (ART's PGD, ``max_iter`` steps of 2.5·eps/max_iter, ``restarts`` random starts), or
    ``"square"`` (ART's Square attack alone, Andriushchenko et al. 2020: gradient-free random search over
    squares of the image moved by +-eps, ``max_iter`` queries per image, ``restarts`` runs; AutoAttack's
    black-box part, which it runs with 5,000 queries and 5 restarts).
    Returns the accuracy (fraction 0..1) on the adversarial images. ``progress`` shows a bar over Auto-PGD's
    two losses.
    """
    import warnings

    x, y = _checked(x, y, "art_robust_accuracy")
    if attack == "autoattack":
        return autoattack(model, x, y, eps=eps, batch_size=batch_size, seed=seed)["accuracy"]
    np.random.seed(seed)
    classifier = art_classifier(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from art.attacks.evasion import AutoProjectedGradientDescent, ProjectedGradientDescent, SquareAttack
    if attack == "apgd":
        x_adv = x
        correct = np.ones(len(x), bool)
        for loss in tqdm(("cross_entropy", "difference_logits_ratio"), desc="ART Auto-PGD (CE, DLR)", unit="loss",
                         disable=not progress, leave=False):
            runner = AutoProjectedGradientDescent(classifier, norm=np.inf, eps=eps, eps_step=2 * eps, max_iter=max_iter,
                                                  nb_random_init=restarts, batch_size=batch_size, loss_type=loss,
                                                  verbose=False)
            candidate = runner.generate(x, y=y)
            still = predict_labels(model, candidate) == y
            x_adv = np.where((correct & ~still)[:, None, None, None], candidate, x_adv)
            correct &= still
        return float(np.mean(correct & (predict_labels(model, x_adv) == y)))
    if attack == "pgd":
        runner = ProjectedGradientDescent(classifier, norm=np.inf, eps=eps, eps_step=2.5 * eps / max_iter,
                                          max_iter=max_iter, num_random_init=restarts, batch_size=batch_size,
                                          verbose=False)
    elif attack == "square":
        runner = SquareAttack(classifier, norm=np.inf, eps=eps, max_iter=max_iter, p_init=0.8, nb_restarts=restarts,
                              batch_size=batch_size, verbose=False)
    else:
        raise ValueError(f"unknown attack {attack!r}; use 'apgd', 'autoattack', 'pgd' or 'square'")
    return accuracy(model, runner.generate(x, y=y), y)


def _art_attack_name(attack) -> str:
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
    import warnings

    x, y = _checked(x, y, "autoattack")
    eps = float(eps)                # ART refuses numpy floats
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    np.random.seed(seed)
    classifier = art_classifier(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from art.attacks.evasion import AutoAttack
    runner = AutoAttack(classifier, norm=np.inf, eps=eps, eps_step=eps / 4, batch_size=int(batch_size))
    x_adv = runner.generate(x, y=y).astype(np.float32)
    best = np.asarray(runner.best_attacks, dtype=int)
    found_by = {_art_attack_name(a): int(np.sum(best == i)) for i, a in enumerate(runner.attacks)}
    return {"accuracy": accuracy(model, x_adv, y), "images": len(x),
            "misclassified_clean": int(np.sum(best == runner.SAMPLE_MISCLASSIFIED)),
            "found_by": found_by, "first_broken_by": best, "x_adv": x_adv}
