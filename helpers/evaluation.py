"""Robustness evaluation: accuracy under attack, over whole splits, batched, with a progress bar.

Every number this module returns comes with the threat model that produced
it (attack, norm, eps, steps, restarts, number of images); :func:`threat_model`
writes that description, and tables carry it in their columns.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable

import numpy as np
import pandas as pd
import tensorflow as tf

from . import attacks, inputs
from .progress import bar as progress_bar


def _checked(x, y, where: str, *, y_optional: bool = False,
             unit_range: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Images and labels checked by :mod:`helpers.inputs` (the one validation of every public entry here)."""
    return inputs.images_and_labels(x, y, where=f"evaluation.{where}", y_optional=y_optional, unit_range=unit_range)


def predict_labels(model, x: np.ndarray, batch_size: int = 500, *, unit_range: bool = True) -> np.ndarray:
    """Predicted classes (n,) for float32 images (n, 28, 28, 1) in [0, 1]; inference mode.

    ``unit_range=False`` accepts images outside [0, 1] (lesson 08's low-contrast domain).
    """
    x = inputs.images(x, where="evaluation.predict_labels", unit_range=unit_range)
    out = [np.argmax(model(x[i:i + batch_size], training=False).numpy(), axis=-1)
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0,), np.int64)


def accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 500, *, unit_range: bool = True) -> float:
    """Clean accuracy (fraction in 0..1) on float32 images (n, 28, 28, 1) in [0, 1] with integer labels (n,).

    The one clean-accuracy function of the course (the zoo's too); the model runs in inference mode, in
    batches of ``batch_size``. ``unit_range=False`` accepts images outside [0, 1] (lesson 08's domain).
    """
    x, y = _checked(x, y, "accuracy", unit_range=unit_range)
    return float(np.mean(predict_labels(model, x, batch_size, unit_range=unit_range) == y))


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
    for i in progress_bar(starts, desc=desc, unit="batch", disable=not progress):
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


STRONGEST_PGD_LOSSES = ("ce", "margin")


def _strongest_settings(eps, steps, restarts, losses, where: str) -> tuple:
    """The strongest PGD's settings checked once: ``(eps, steps, restarts, losses)``; ``ValueError`` otherwise."""
    losses = (losses,) if isinstance(losses, str) else tuple(losses)
    if not losses or len(set(losses)) != len(losses) or not set(losses) <= set(attacks.LOSSES):
        raise ValueError(f"evaluation.{where}: losses must be distinct names among {', '.join(attacks.LOSSES)}, "
                         f"got {losses!r}")
    eps = inputs.epsilon(eps, where=f"evaluation.{where}", positive=True)
    for name, value in (("steps", steps), ("restarts", restarts)):
        if int(value) != value or value < 1:
            raise ValueError(f"evaluation.{where}: {name} must be an integer >= 1, got {value}")
    return float(eps), int(steps), int(restarts), losses


def strongest_pgd_attacks(eps: float, *, steps: int = 100, restarts: int = 5,
                          losses=STRONGEST_PGD_LOSSES) -> dict[str, Callable]:
    """The attacks of :func:`strongest_pgd`, one per loss: ``{loss: attack}``, each ``attack(model, x, y) -> x_adv``.

    Each is :func:`attacks.pgd` at L-inf ``eps`` (pixel units, images in [0, 1]) with ``steps`` steps of
    2.5 eps / steps from ``restarts`` random starts, on the loss ``"ce"`` (cross-entropy) or ``"margin"``
    (Carlini-Wagner, on logits). For a caller that runs the losses one at a time (and keeps each).
    """
    eps, steps, restarts, losses = _strongest_settings(eps, steps, restarts, losses, "strongest_pgd_attacks")
    return {loss: functools.partial(attacks.pgd, eps=eps, steps=steps, restarts=restarts, loss=loss)
            for loss in losses}


def strongest_pgd_threat_model(eps: float, n_images: int, *, steps: int = 100, restarts: int = 5,
                               losses=STRONGEST_PGD_LOSSES) -> str:
    """The one-line threat model of :func:`strongest_pgd` on ``n_images`` images, for example

    ``"L-inf PGD, eps 0.3, 100 steps of 2.5·eps/100, 5 restarts, CE and margin losses, per-image worst case,
    1,000 images"``.
    """
    eps, steps, restarts, losses = _strongest_settings(eps, steps, restarts, losses, "strongest_pgd_threat_model")
    names = " and ".join({"ce": "CE", "margin": "margin"}[loss] for loss in losses)
    several = len(losses) > 1
    return (f"L-inf PGD, eps {eps:g}, {steps} steps of 2.5·eps/{steps}, {restarts} restart"
            f"{'s' if restarts != 1 else ''}, {names} loss{'es, per-image worst case' if several else ''}, "
            f"{n_images:,} images")


@dataclasses.dataclass(frozen=True)
class StrongestPGD:
    """What :func:`strongest_pgd` found, per image: ``survivors[loss]`` and ``worst``, bool arrays (n,)."""

    survivors: dict            # loss -> (n,) bool: still classified correctly after that loss's PGD
    worst: np.ndarray          # (n,) bool: survived every loss (the robust images)
    eps: float
    steps: int
    restarts: int
    losses: tuple

    @property
    def accuracy(self) -> float:
        """Robust accuracy under the per-image worst case (fraction 0..1)."""
        return float(np.mean(self.worst))

    def threat_model(self) -> str:
        """This run's threat model in one line (:func:`strongest_pgd_threat_model`)."""
        return strongest_pgd_threat_model(self.eps, len(self.worst), steps=self.steps, restarts=self.restarts,
                                          losses=self.losses)


def strongest_pgd(model, x: np.ndarray, y: np.ndarray, *, eps: float, steps: int = 100, restarts: int = 5,
                  losses=STRONGEST_PGD_LOSSES, batch_size: int = 500, progress: bool = True) -> StrongestPGD:
    """The course's strongest PGD evaluation, written once: per image, PGD on each loss, and the worst case.

    Threat model: L-infinity, budget ``eps`` in pixel units (images in [0, 1]), white-box, untargeted.
    For each loss in ``losses`` (``"ce"``: cross-entropy; ``"margin"``: the Carlini-Wagner margin on
    logits, which a saturated softmax cannot hide), :func:`attacks.pgd` with ``steps`` steps of
    2.5 eps / steps from ``restarts`` uniform random starts (a restart only for the images earlier ones
    left standing), in that order. An image counts as robust only if it survives **every** loss:
    ``worst = AND over losses``, the number to report (Madry et al. 2018; Carlini et al. 2019).

    ``x``: float32 images (n, 28, 28, 1) in [0, 1]; ``y``: integer labels (n,). Returns a
    :class:`StrongestPGD`: ``survivors[loss]`` and ``worst`` are bool arrays (n,); ``.accuracy`` is the
    worst-case robust accuracy (0..1) and ``.threat_model()`` the line to print beside it. Costs
    ``len(losses) * restarts * steps`` gradient steps per image at most (measured: 2.5 to 3 minutes per
    loss for 1,000 images of lesson 09's TRADES network on 2 CPU cores, robust images cost the most).
    """
    eps, steps, restarts, losses = _strongest_settings(eps, steps, restarts, losses, "strongest_pgd")
    x, y = _checked(x, y, "strongest_pgd")
    strong = strongest_pgd_attacks(eps, steps=steps, restarts=restarts, losses=losses)
    masks = {loss: survivors(model, x, y, attack, batch_size=batch_size)
             for loss, attack in progress_bar(strong.items(), desc=f"PGD-{steps}x{restarts}", unit="loss",
                                      disable=not progress)}
    return StrongestPGD(survivors=masks, worst=np.logical_and.reduce(list(masks.values())), eps=eps, steps=steps,
                        restarts=restarts, losses=losses)


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
    norm = attacks.norm_name(kw.get("norm", "inf"))
    parts = [f"{'L-inf' if norm == 'inf' else 'L2'} {name}", f"eps {kw.get('eps', '?')}"]
    if name == "PGD":
        restarts = kw.get("restarts", 1)
        parts += [f"{kw.get('steps', 40)} steps", f"{restarts} restart{'s' if restarts != 1 else ''}"]
    if kw.get("loss", "ce") != "ce":
        parts.append(f"{kw['loss']} loss")
    if kw.get("targeted"):
        parts.append("targeted")
    parts.append(f"{n_images:,} image{'' if n_images == 1 else 's'}")
    return ", ".join(parts)


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
    return {"attack": _attack_name(attack), "norm": attacks.norm_name(kw.get("norm", "inf")), "eps": kw.get("eps"),
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
    for name, attack in progress_bar(attack_set.items(), desc="attacks", disable=not progress):
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
    epsilons = [inputs.epsilon(e, where="evaluation.accuracy_vs_epsilon") for e in epsilons]
    rows = []
    total = len(models) * len(attack_factories) * len(epsilons)
    with progress_bar(total=total, desc="accuracy vs epsilon", disable=not progress) as bar:
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
    (index ``#``, 1 to 7, in the order below) with ``passed`` and the numbers behind it. A failed check means the
    attack, not the model, is the weak point: typically **gradient masking**, and
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
    eps = inputs.epsilon(eps, where="evaluation.checklist", positive=True)
    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)
    pgd = functools.partial(attacks.pgd, eps=eps, steps=steps)
    results = []

    def add(name, passed, numbers, detail, masking):
        results.append({"check": name, "passed": bool(passed), "numbers": numbers, "detail": detail,
                        "flags_masking": bool(masking and not passed)})

    bar = progress_bar(total=7, desc="checklist", disable=not progress)
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
    table.index = pd.RangeIndex(1, len(table) + 1, name="#")      # the checks as the lessons number them, 1 to 7
    table.attrs["threat_model"] = f"L-inf eps {eps}, {len(x):,} images"
    table.attrs["clean_accuracy"] = clean
    table.attrs["strongest_accuracy"] = min(acc_pgd, acc_half, acc_strong, acc_margin)
    table.attrs["pgd_accuracy"], table.attrs["noise_accuracy"] = acc_pgd, acc_noise     # checks 1 and 4's numbers
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
