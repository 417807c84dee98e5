"""Training: standard training, hand-written adversarial training, distillation (NSL's is in :mod:`helpers.nsl`).

All trainers take batched ``tf.data`` pipelines of ``(image, label)`` with
float32 images (batch, 28, 28, 1) in [0, 1], show a progress bar (tqdm),
and return the Keras ``History``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm.keras import TqdmCallback

from . import attacks, inputs, models, progress
from .config import HParams


def progress_bar(verbose: int = 1) -> list:
    """Keras callbacks that draw a tqdm progress bar (epochs, and batches when ``verbose >= 2``).

    ``verbose=0`` draws nothing.
    """
    if verbose <= 0:
        return []
    return [TqdmCallback(verbose=1 if verbose >= 2 else 0, leave=True, tqdm_class=progress.tqdm_class)]


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


class OneCycle(tf.keras.optimizers.schedules.LearningRateSchedule):
    """A one-cycle learning rate: linear from ~0 up to ``peak`` at ``peak_fraction`` of ``total_steps``, then down to 0.

    As in Wong, Rice & Kolter (2020); pass it as an optimiser's learning rate.
    """

    def __init__(self, total_steps: int, peak: float, peak_fraction: float = 0.4):
        if total_steps < 1 or peak <= 0 or not 0 < peak_fraction < 1:
            raise ValueError("need total_steps >= 1, peak > 0 and 0 < peak_fraction < 1")
        self.total_steps, self.peak, self.peak_fraction = int(total_steps), float(peak), float(peak_fraction)

    def __call__(self, step):
        t = tf.cast(step + 1, tf.float32) / float(self.total_steps)
        up = t / self.peak_fraction
        down = (1.0 - t) / (1.0 - self.peak_fraction)
        return self.peak * tf.clip_by_value(tf.minimum(up, down), 0.0, 1.0)

    def get_config(self):
        return {"total_steps": self.total_steps, "peak": self.peak, "peak_fraction": self.peak_fraction}


def _weights_owner(model: tf.keras.Model) -> tf.keras.Model:
    """The model whose weights a callback watches: a trainer's ``base_model`` when there is one, else ``model``."""
    return getattr(model, "base_model", model)


class RobustAccuracyMonitor(tf.keras.callbacks.Callback):
    """After each epoch, the model's accuracy under an attack on a fixed watch batch; keeps the best weights.

    The watch batch should be held out, or used only to pick an epoch (never to report a number).

    ``attack(model, x, y) -> x_adv``. Writes ``logs["val_robust_accuracy"]``
    (so the History has it). With ``restore_best=True`` the weights of the
    best epoch are put back at the end of training: the early stopping that
    Wong et al. (2020) use against catastrophic overfitting of fast
    adversarial training. The model attacked is the trainer's ``base_model``
    when there is one, else the model being trained.
    """

    def __init__(self, x, y, attack, *, restore_best: bool = False):
        super().__init__()
        self.x, self.y, self.attack, self.restore_best = x, y, attack, restore_best
        self.best, self.best_epoch, self._best_weights = -1.0, -1, None

    def _target(self):
        return _weights_owner(self.model)

    def on_epoch_end(self, epoch, logs=None):
        target = self._target()
        x_adv = self.attack(target, self.x, self.y)
        acc = float(np.mean(np.argmax(target(x_adv, training=False).numpy(), -1) == np.asarray(self.y)))
        if logs is not None:
            logs["val_robust_accuracy"] = acc
        if acc > self.best:
            self.best, self.best_epoch = acc, epoch
            if self.restore_best:
                self._best_weights = target.get_weights()

    def on_train_end(self, logs=None):
        if self.restore_best and self._best_weights is not None:
            self._target().set_weights(self._best_weights)


class WeightAverage(tf.keras.callbacks.Callback):
    """Model weight averaging: an exponential moving average of the weights, put into the model at the end.

    After every optimiser step ``avg <- d * avg + (1 - d) * w`` for each
    weight ``w`` (trainable or not), with ``d = min(decay, (1 + n) / (10 + n))``
    after ``n`` steps, so early averages are not dominated by the random
    initialisation. ``decay`` 0.999 averages over roughly the last 1,000 steps.
    One of the cheap ingredients of Gowal et al. (2020), "Uncovering the limits
    of adversarial training". At the end of training the averaged weights
    replace the model's; ``final_weights`` keeps the last raw ones (NumPy
    arrays) to compare. Averages the trainer's ``base_model`` when there is one.
    """

    def __init__(self, decay: float = 0.999):
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay, self.updates, self.final_weights = float(decay), 0, None
        self._average = None

    def _target(self):
        return _weights_owner(self.model)

    def on_train_begin(self, logs=None):
        weights = self._target().weights
        self._average = [tf.Variable(w, trainable=False) for w in weights]
        self.updates = 0                                # each fit averages from its own start
        decay = self.decay

        @tf.function
        def update(n):
            d = tf.minimum(decay, (1.0 + n) / (10.0 + n))
            for avg, w in zip(self._average, weights):
                avg.assign(d * avg + (1.0 - d) * tf.cast(w, avg.dtype))
        self._update = update

    def on_train_batch_end(self, batch, logs=None):
        self._update(tf.constant(float(self.updates)))
        self.updates += 1

    def average_weights(self) -> list:
        """The running average now, as NumPy arrays in the order of the model's ``get_weights()``."""
        if self._average is None:
            raise ValueError("WeightAverage has no average before training begins")
        return [avg.numpy() for avg in self._average]

    def on_train_end(self, logs=None):
        target = self._target()
        self.final_weights = target.get_weights()
        target.set_weights(self.average_weights())


# --------------------------------------------------------------------------- hand-written adversarial training

START_POINTS = (None, "blocks")


@dataclasses.dataclass(frozen=True)
class Method:
    """One adversarial training method of :class:`AdversarialTrainer`: its inner attack and its loss.

    A new method is one entry of :data:`METHODS` (``METHODS["name"] = Method(...)``); nothing else changes.

    - ``attack(trainer, x, y, eps, step) -> x_adv``: the adversarial batch for clean images ``x`` (batch, 28,
      28, 1) in [0, 1] and int labels ``y``, at L-inf or L2 radius ``eps`` with attack step ``step`` (pixel
      units); graph code, reading the trainer's ``base_model``, ``steps``, ``norm``, ``start`` and
      ``attack_training_mode`` (the trainer stops its gradient);
    - ``loss(trainer, y, logits_clean, logits_adv) -> scalar``: the training objective, both passes in
      training mode, from the trainer's ``cross_entropy``, ``mix`` and ``beta`` (the trainer adds the
      model's own losses);
    - ``default_step(eps, steps)``: the attack's step when the caller sets none;
    - ``step_argument``: the trainer argument that fixes the step in pixels (``"step_size"`` or ``"alpha"``;
      ``step_ratio`` works then too), or None when the step is always ``default_step`` (FGSM's eps);
    - ``multi_step``: runs the trainer's ``steps`` (else one); ``blocks``: accepts ``start="blocks"``;
    - ``reference``: the paper.
    """

    attack: Callable
    loss: Callable
    default_step: Callable
    step_argument: str | None
    multi_step: bool
    blocks: bool
    reference: str


class AdversarialTrainer(tf.keras.Model):
    """Adversarial training done right: a Keras model whose ``train_step`` builds the adversarial batch.

    For every batch: (1) craft ``x_adv`` against the *current* weights with
    the chosen method, the gradient's **sign**, clipped to [0, 1] and to the
    eps-ball, with the model in an explicit mode (``attack_training_mode``,
    default False: inference mode, as at test time); (2) take one optimiser
    step on :meth:`objective` (for all methods but TRADES and MART
    ``(1 - mix) * CE(clean) + mix * CE(adversarial)``) with the model in
    training mode. ``fit`` is called once, for all epochs.

    Methods, one entry each of the table :data:`METHODS` (its attack, loss and step), so that a new
    method is one entry there:
      ``"fgsm"``  one signed step of size eps from the clean image (Goodfellow et al. 2015);
      ``"fast"``  FGSM from a uniform random start, step ``alpha`` (default 1.25 eps), projected
                  (Wong, Rice & Kolter 2020, "fast is better than free");
      ``"pgd"``   ``steps`` steps of size ``step_size`` (default 2.5 eps / steps) from a random start
                  (Madry et al. 2018).
      ``"trades"`` TRADES (Zhang et al. 2019): ``x_adv`` maximises KL(f(x) || f(x_adv)) with ``steps``
                  PGD steps from ``x`` plus small Gaussian noise; the loss is
                  ``CE(f(x), y) + beta * KL(f(x) || f(x_adv))`` (``mix`` is not used).
      ``"mart"``  MART (Wang et al. 2020, "misclassification aware adversarial training"): ``x_adv``
                  maximises CE(f(x'), y) with ``steps`` PGD steps from ``x`` plus small Gaussian noise
                  (as TRADES starts); the loss is the boosted cross-entropy on ``x_adv``,
                  ``-log p_adv[y] - log(1 - max_{k != y} p_adv[k])``, plus
                  ``beta * KL(f(x) || f(x_adv)) * (1 - p_clean[y])``: the robustness term weighs most
                  on the examples the model gets wrong (``mix`` is not used).
    ``warmup_steps`` ramps eps linearly from 0 over the first optimiser steps
    (without it, PGD training at eps 0.3 can sit at chance accuracy).
    ``step_ratio`` sets the attack's step as a multiple of the *current* eps
    (so it shrinks with eps during the warm-up); ``step_size`` (PGD, TRADES, MART) / ``alpha`` (fast) are
    fixed steps instead (pixel units): at most one of them may be given, and FGSM, whose step is eps, takes none.
    ``awp_gamma`` > 0 adds adversarial weight perturbation (AWP; Wu, Xia & Wang
    2020): after crafting ``x_adv``, every kernel ``w`` (tensors of rank >= 2;
    biases untouched) is moved to ``w + gamma * ||w|| * g / ||g||``, with ``g``
    the gradient of the same training loss (one ascent step, layer by layer;
    applied from the first step, without the AWP warm-up of Wu et al.'s
    code), the loss's gradient is taken there, the weights are put back, and that
    gradient is applied to them: the model learns weights whose neighbourhood
    is robust too, one extra forward and backward pass per batch.
    ``start="blocks"`` starts the inner attack of ``"pgd"``, ``"trades"`` and ``"mart"`` (L-inf) from
    :func:`attacks.random_blocks` (random squares of the image moved by +-eps, the points Square searches)
    instead of the method's own start: most pixels of an adversarially trained MNIST network have an input
    gradient of exactly 0, so sign-gradient steps never move them, and only a start that does puts them in play.

    The trainer wraps ``base_model`` and shares its weights; save the
    ``base_model`` (a plain Keras model), not the trainer.
    """

    def __init__(self, base_model: tf.keras.Model, *, method: str = "pgd", eps: float = 0.3, steps: int = 7,
                 step_size: float | None = None, alpha: float | None = None, mix: float = 0.5,
                 norm: str = "inf", warmup_steps: int = 0, attack_training_mode: bool = False, beta: float = 6.0,
                 step_ratio: float | None = None, awp_gamma: float = 0.0, start: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
        spec = METHODS[method]
        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"mix is the weight of the adversarial loss and must be in [0, 1], got {mix}")
        if steps < 1 or warmup_steps < 0:
            raise ValueError(f"training.AdversarialTrainer: steps must be >= 1 and warmup_steps >= 0, got {steps} "
                             f"and {warmup_steps}")
        inputs.epsilon(eps, where="training.AdversarialTrainer", norm=attacks.norm_name(norm))
        self.base_model = base_model
        self.method, self.method_spec = method, spec
        self.eps, self.mix, self.warmup_steps = float(eps), float(mix), int(warmup_steps)
        self.norm = attacks.norm_name(norm)
        self.attack_training_mode = bool(attack_training_mode)
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.beta = float(beta)
        if not 0.0 <= awp_gamma < 1.0:
            raise ValueError(f"awp_gamma is a relative weight perturbation and must be in [0, 1), got {awp_gamma}")
        self.awp_gamma = float(awp_gamma)
        if step_ratio is not None and (step_size is not None or alpha is not None or step_ratio <= 0):
            raise ValueError("step_ratio must be > 0 and cannot be combined with step_size or alpha")
        given = [name for name, value in (("step_size", step_size), ("alpha", alpha), ("step_ratio", step_ratio))
                 if value is not None]
        if spec.step_argument is None and given:
            raise ValueError(f"method {method!r} steps by eps and takes no {', '.join(given)}")
        wrong = [name for name in given if name not in (spec.step_argument, "step_ratio")]
        if wrong:
            raise ValueError(f"method {method!r} takes {spec.step_argument} or step_ratio, not {', '.join(wrong)}")
        self.step_ratio = step_ratio
        if start not in START_POINTS:
            raise ValueError(f"unknown start {start!r}; use None (the method's own) or 'blocks'")
        if start == "blocks" and (not spec.blocks or self.norm != "inf"):
            raise ValueError("start='blocks' needs an L-inf method that takes it: "
                             + ", ".join(repr(name) for name, entry in METHODS.items() if entry.blocks))
        self.start = start
        self.steps = int(steps) if spec.multi_step else 1
        self.step_size = {"step_size": step_size, "alpha": alpha}.get(spec.step_argument)
        self.cross_entropy = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.loss_tracker = tf.keras.metrics.Mean(name="loss")
        self.clean_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.adv_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="adv_accuracy")

    @property
    def metrics(self):
        return [self.loss_tracker, self.clean_accuracy, self.adv_accuracy]

    def call(self, inputs, training=False):
        return self.base_model(inputs, training=training)

    def current_eps(self) -> tf.Tensor:
        """Eps for the next step: ramps linearly from 0 to ``eps`` over ``warmup_steps`` optimiser steps."""
        if self.warmup_steps == 0:
            return tf.constant(self.eps, tf.float32)
        progress = tf.cast(self.optimizer.iterations + 1, tf.float32) / float(self.warmup_steps)
        return self.eps * tf.minimum(1.0, progress)

    def adversarial_batch(self, x, y, eps=None):
        """The adversarial version of a clean batch, crafted as ``train_step`` does (the method's ``attack``)."""
        eps = self.current_eps() if eps is None else tf.constant(eps, tf.float32)
        return tf.stop_gradient(self.method_spec.attack(self, x, y, eps, self.attack_step(eps)))

    def attack_step(self, eps):
        """The attack's step at the current ``eps`` (pixel units): ``step_ratio`` x eps, the fixed ``step_size`` /
        ``alpha``, or the method's default (eps for FGSM, 1.25 eps for fast, 2.5 eps / steps for PGD, TRADES, MART)."""
        if self.step_ratio is not None:
            return self.step_ratio * eps
        if self.step_size is not None:
            return self.step_size
        return self.method_spec.default_step(eps, self.steps)

    def objective(self, y, logits_clean, logits_adv) -> tf.Tensor:
        """The training loss for one batch from both forward passes (training mode): the method's ``loss``.

        ``y`` int labels (batch,); logits (batch, classes). ``train_step`` adds
        the model's own losses (regularisers) to it. Override it to try a new loss.
        """
        return self.method_spec.loss(self, y, logits_clean, logits_adv)

    def weight_perturbation(self, x, y, x_adv) -> list:
        """AWP's perturbation of the kernels (rank >= 2): ``(variable, delta)`` pairs, with ``||delta|| =
        awp_gamma * ||w||`` per kernel, in the direction that raises :meth:`objective` on this batch.

        The ascent uses :meth:`objective` without the model's own losses (regularisers), as Wu et al.'s
        code does; a BatchNormalization model's moving statistics are put back after this extra pass.
        """
        kernels = [v for v in self.base_model.trainable_variables if v.shape.rank >= 2]
        with _put_back(self.base_model.non_trainable_variables), tf.GradientTape() as tape:
            loss = self.objective(y, self.base_model(x, training=True), self.base_model(x_adv, training=True))
        grads = tape.gradient(loss, kernels)
        return [(v, self.awp_gamma * tf.norm(v) * g / (tf.norm(g) + 1e-12)) for v, g in zip(kernels, grads)]

    def train_step(self, data):
        x, y = data
        x_adv = self.adversarial_batch(x, y)
        perturbation = self.weight_perturbation(x, y, x_adv) if self.awp_gamma > 0 else []
        with _put_back([variable for variable, _ in perturbation]):
            for variable, delta in perturbation:
                variable.assign_add(delta)
            with tf.GradientTape() as tape:
                logits_adv = self.base_model(x_adv, training=True)
                logits_clean = self.base_model(x, training=True)
                loss = self.objective(y, logits_clean, logits_adv) + sum(self.base_model.losses)
            grads = tape.gradient(loss, self.base_model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.base_model.trainable_variables))
        self.loss_tracker.update_state(loss)
        self.clean_accuracy.update_state(y, logits_clean)
        self.adv_accuracy.update_state(y, logits_adv)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        logits = self.base_model(x, training=False)
        self.loss_tracker.update_state(self.cross_entropy(y, logits))
        self.clean_accuracy.update_state(y, logits)
        return {m.name: m.result() for m in (self.loss_tracker, self.clean_accuracy)}


@contextlib.contextmanager
def _put_back(variables):
    """Restore ``variables`` bit for bit, on leaving the block (by an exception too), to their values on entering it."""
    saved = [tf.identity(variable) for variable in variables]
    try:
        yield
    finally:
        for variable, value in zip(variables, saved):
            variable.assign(value)


def kl_divergence(p, logits_q):
    """KL(p || softmax(logits_q)) per example (batch,), in nats, for probabilities ``p`` (batch, classes)."""
    log_q = tf.nn.log_softmax(logits_q)
    return tf.reduce_sum(p * (tf.math.log(tf.maximum(p, 1e-12)) - log_q), axis=-1)


def mart_loss(y, logits_clean, logits_adv, beta: float) -> tf.Tensor:
    """MART's loss (Wang et al. 2020), averaged over the batch: ``y`` int labels (batch,), logits (batch, classes).

    Boosted cross-entropy on the adversarial example, ``-log p_adv[y] - log(1 - max_{k != y} p_adv[k])``
    (the second term pushes down the strongest wrong class), plus ``beta`` times
    ``KL(p_clean || p_adv) * (1 - p_clean[y])``, the clean-to-adversarial divergence weighted by how
    wrong the clean prediction is; the weight is not stopped, as in the authors' code.
    """
    y = tf.cast(y, tf.int32)
    p_adv, p_clean = tf.nn.softmax(logits_adv), tf.nn.softmax(logits_clean)
    true = tf.one_hot(y, tf.shape(logits_adv)[-1], dtype=p_adv.dtype)
    ce_adv = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits_adv)
    strongest_wrong = tf.reduce_max(p_adv - 2.0 * true, axis=-1)          # p_adv <= 1, so the true class drops out
    boosted = ce_adv - tf.math.log(tf.maximum(1.0001 - strongest_wrong, 1e-12))
    weight = 1.0000001 - tf.reduce_sum(p_clean * true, axis=-1)
    return tf.reduce_mean(boosted) + beta * tf.reduce_mean(kl_divergence(p_clean, logits_adv) * weight)


# --------------------------------------------------------------------------- the methods' table: attack, loss, step

def _sign_gradient_attack(trainer, x, y, eps, step, *, random_start: bool):
    """FGSM, fast and PGD's batch: sign-gradient steps on the cross-entropy from ``x`` (``random_start=False``),
    a uniform random point of the ball, or :func:`attacks.random_blocks` (``start="blocks"``)."""
    if trainer.start == "blocks":
        return attacks.pgd_graph(trainer.base_model, x, y, eps, step, trainer.steps, trainer.norm,
                                 training=trainer.attack_training_mode, x_start=attacks.random_blocks(x, eps))
    return attacks.pgd_graph(trainer.base_model, x, y, eps, step, trainer.steps, trainer.norm,
                             random_start=random_start, training=trainer.attack_training_mode)


def _noisy_start_attack(trainer, x, y, eps, step, *, labels: bool):
    """TRADES' inner maximisation: PGD on KL(f(x) || f(x')) from x + 0.001 N(0, 1); with ``labels`` (MART's),
    PGD on CE(f(x'), y) from the same start. With ``start="blocks"`` both start from
    :func:`attacks.random_blocks` instead."""
    model, mode = trainer.base_model, trainer.attack_training_mode
    if not labels:
        p_clean = tf.stop_gradient(tf.nn.softmax(model(x, training=mode)))
    if trainer.start == "blocks":
        x_adv = attacks.random_blocks(x, eps)
    else:
        x_adv = attacks.project(x + 0.001 * tf.random.normal(tf.shape(x)), x, eps, trainer.norm)

    def body(i, x_adv):
        if labels:
            _, grad = attacks.input_gradient(model, x_adv, y, "ce", training=mode)
        else:
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                kl = kl_divergence(p_clean, model(x_adv, training=mode))
            grad = tape.gradient(kl, x_adv)
        x_next = attacks.project(x_adv + step * attacks.step_direction(grad, trainer.norm), x, eps, trainer.norm)
        return i + 1, tf.stop_gradient(x_next)

    _, x_adv = tf.while_loop(lambda i, _: i < trainer.steps, body, [tf.constant(0), x_adv])
    return x_adv


def _mixed_cross_entropy(trainer, y, logits_clean, logits_adv):
    """``mix * CE(adversarial) + (1 - mix) * CE(clean)`` (the clean term dropped when ``mix`` is 1)."""
    loss = trainer.mix * trainer.cross_entropy(y, logits_adv)
    if trainer.mix < 1.0:
        loss += (1.0 - trainer.mix) * trainer.cross_entropy(y, logits_clean)
    return loss


def _trades_loss(trainer, y, logits_clean, logits_adv):
    """TRADES: ``CE(f(x), y) + beta * KL(f(x) || f(x_adv))``, averaged over the batch."""
    robust = tf.reduce_mean(kl_divergence(tf.nn.softmax(logits_clean), logits_adv))
    return trainer.cross_entropy(y, logits_clean) + trainer.beta * robust


def _madry_step(eps, steps):
    """2.5 eps / steps: enough for ``steps`` steps to cross the ball and back (Madry et al. 2018)."""
    return 2.5 * eps / steps


# The methods of AdversarialTrainer, by name: a new method is one entry here (tests/test_training.py checks it).
METHODS: dict[str, Method] = {
    "fgsm": Method(functools.partial(_sign_gradient_attack, random_start=False), _mixed_cross_entropy,
                   default_step=lambda eps, steps: eps, step_argument=None, multi_step=False, blocks=False,
                   reference="Goodfellow, Shlens & Szegedy 2015"),
    "fast": Method(functools.partial(_sign_gradient_attack, random_start=True), _mixed_cross_entropy,
                   default_step=lambda eps, steps: 1.25 * eps, step_argument="alpha", multi_step=False, blocks=False,
                   reference="Wong, Rice & Kolter 2020"),
    "pgd": Method(functools.partial(_sign_gradient_attack, random_start=True), _mixed_cross_entropy,
                  default_step=_madry_step, step_argument="step_size", multi_step=True, blocks=True,
                  reference="Madry et al. 2018"),
    "trades": Method(functools.partial(_noisy_start_attack, labels=False), _trades_loss,
                     default_step=_madry_step, step_argument="step_size", multi_step=True, blocks=True,
                     reference="Zhang et al. 2019"),
    "mart": Method(functools.partial(_noisy_start_attack, labels=True),
                   lambda trainer, y, clean, adv: mart_loss(y, clean, adv, trainer.beta),
                   default_step=_madry_step, step_argument="step_size", multi_step=True, blocks=True,
                   reference="Wang et al. 2020"),
}


def train_adversarial(base_model: tf.keras.Model, train: tf.data.Dataset, hparams: HParams, *,
                      verbose: int = 1, epochs: int | None = None, learning_rate: float | None = None,
                      **trainer_kwargs):
    """Adversarially train ``base_model`` with :class:`AdversarialTrainer`; returns ``(trainer, history)``.

    ``learning_rate`` may be a number or a schedule (e.g. :class:`OneCycle`);
    ``callbacks`` are added to the epoch timer and the progress bar.
    ``trainer_kwargs`` go to the trainer (method, eps, steps, mix, warmup_steps, beta, ...).
    """
    callbacks = list(trainer_kwargs.pop("callbacks", []))
    trainer = AdversarialTrainer(base_model, **trainer_kwargs)
    trainer.compile(optimizer=tf.keras.optimizers.Adam(learning_rate or hparams.learning_rate))
    history = trainer.fit(train, epochs=epochs or hparams.epochs, verbose=0,
                          callbacks=[EpochTimer()] + callbacks + progress_bar(verbose))
    return trainer, history


def adversarial_finetune(model: tf.keras.Model, images, labels, *, steps: int, batch_size: int = 32,
                         eps: float = 0.01, adversarial: bool = True, attack_training_mode: bool = False,
                         loss_training_mode: bool = False, optimizer: tf.keras.optimizers.Optimizer | None = None,
                         evaluate_every: int = 25, monitor=None, seed: int = 0, verbose: int = 1):
    """Fine-tune ``model`` for ``steps`` optimiser steps with the BatchNormalization Q&A's FGSM loss; a DataFrame.

    Each step, on a batch of ``batch_size`` images (float32 (n, 28, 28, 1) in
    [0, 1]; int labels (n,)), shuffled every epoch with ``seed``:

    1. ``x_adv = clip(x + eps * sign(grad_x CE))``, the gradient taken with the
       model in training mode if ``attack_training_mode`` else inference mode;
    2. loss ``= 0.5 * CE(model(x, training=True)) + 0.5 * CE(model(x_adv,
       training=loss_training_mode))``; with ``adversarial=False`` the loss is
       the clean CE alone (standard fine-tuning) and no attack runs.

    The defaults, both passes in inference mode, are the Q&A's loop (lesson
    08's pitfall). Any pass in training mode also updates BatchNormalization's
    moving statistics. ``optimizer`` defaults to the Q&A's SGD (learning rate
    1e-3, Nesterov momentum 0.9). Every ``evaluate_every`` steps (and at step
    0) ``monitor(model)`` may return a dict of measurements; the result has
    one row per evaluation: ``step``, ``loss`` (mean since the last row),
    ``seconds`` (training time so far, monitoring excluded) and the monitor's keys.
    """
    import pandas as pd

    images = inputs.images(images, where="training.adversarial_finetune")
    labels = inputs.labels(labels, len(images), where="training.adversarial_finetune")
    if steps < 1 or batch_size < 1 or evaluate_every < 1:
        raise ValueError("steps, batch_size and evaluate_every must be >= 1")
    if len(images) < batch_size:          # inputs.labels has checked one label per image
        raise ValueError(f"training.adversarial_finetune: need at least batch_size={batch_size} images, "
                         f"got {len(images)}")
    eps = inputs.epsilon(eps, where="training.adversarial_finetune")
    optimizer = optimizer or tf.keras.optimizers.SGD(1e-3, momentum=0.9, nesterov=True)
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = model.trainable_variables

    @tf.function
    def train_step(x, y):
        if adversarial:
            x_adv = attacks.pgd_graph(model, x, y, eps, eps, 1, "inf", random_start=False,
                                      training=attack_training_mode)
        with tf.GradientTape() as tape:
            loss = ce(y, model(x, training=True))
            if adversarial:
                loss = 0.5 * loss + 0.5 * ce(y, model(tf.stop_gradient(x_adv), training=loss_training_mode))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(seed)
    rows, losses, seconds, step = [], [], 0.0, 0
    monitor = monitor or (lambda m: {})
    rows.append({"step": 0, "loss": float("nan"), "seconds": 0.0, **monitor(model)})
    bar = progress.bar(total=steps, disable=verbose <= 0, desc="fine-tuning")
    while step < steps:
        order = rng.permutation(len(images))
        for start in range(0, len(images) - batch_size + 1, batch_size):
            batch = order[start:start + batch_size]
            began = time.perf_counter()
            losses.append(float(train_step(tf.constant(images[batch]), tf.constant(labels[batch]))))
            seconds += time.perf_counter() - began
            step += 1
            bar.update(1)
            if step % evaluate_every == 0 or step == steps:
                rows.append({"step": step, "loss": float(np.mean(losses)), "seconds": seconds, **monitor(model)})
                losses = []
            if step == steps:
                break
    bar.close()
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- defensive distillation

def _fit_soft(model: tf.keras.Model, train: tf.data.Dataset, hparams: HParams, verbose: int, epochs: int | None):
    """Like :func:`train_classifier`, on soft labels (probability vectors) instead of class indices."""
    model.compile(optimizer=tf.keras.optimizers.Adam(hparams.learning_rate),
                  loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.CategoricalAccuracy(name="accuracy")])
    return model.fit(train, epochs=epochs or hparams.epochs, verbose=0,
                     callbacks=[EpochTimer()] + progress_bar(verbose))


def _multiply_logits(model: tf.keras.Model, factor: float) -> tf.keras.Model:
    """Multiply the model's output layer (a linear Dense producing logits) by ``factor``, in place."""
    last = model.layers[-1]
    if not isinstance(last, tf.keras.layers.Dense) or last.activation not in (tf.keras.activations.linear, None):
        raise ValueError("distillation needs a model whose last layer is a linear Dense layer producing logits")
    last.set_weights([w * factor for w in last.get_weights()])
    return model


def soft_labels(teacher: tf.keras.Model, images, temperature: float, batch_size: int = 500):
    """The teacher's probabilities at ``temperature``: softmax(logits / T), shape (n, classes), rows sum to 1."""
    images = inputs.images(images, where="training.soft_labels")
    out = [tf.nn.softmax(teacher(images[i:i + batch_size], training=False) / temperature).numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out)


def distill(build, train_images, train_labels, hparams: HParams, *, temperature: float = 100.0,
            verbose: int = 1, epochs: int | None = None, shuffle_seed: int = 0):
    """Defensive distillation (Papernot et al. 2016); returns ``(teacher, student, info)``, both deployed at T = 1.

    1. Train a teacher ``build()`` on the hard labels with its softmax at
       temperature ``T``: loss = CE(y, softmax(Z / T)), Z the logits.
    2. Label the training images with the teacher's soft probabilities
       softmax(Z / T).
    3. Train a student of the same architecture on those soft labels at ``T``.
    4. Deploy the student at ``T = 1``: it outputs its raw logits Z, about
       ``T`` times larger than a normally trained model's, so its softmax
       saturates (lesson 07).

    How it is trained: we write Z = T · Z' and train Z' (the network with its
    output layer divided by T) with the plain cross-entropy, then multiply the
    output layer by T. The model and the objective are exactly the ones above;
    only the parameterisation differs, and it matters for Adam: Adam's steps do
    not grow with the gradient, so on Z directly the output layer would need
    about T times more steps to reach the same logits (Papernot et al. trained
    50 epochs with SGD). ``build()`` must return a model whose last layer is a
    linear Dense layer. ``train_images``: float32 (n, 28, 28, 1) in [0, 1];
    ``train_labels``: int (n,). ``info`` holds both histories and ``T``.
    """
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    train_images = inputs.images(train_images, where="training.distill")
    train_labels = inputs.labels(train_labels, len(train_images), where="training.distill")

    def pipeline(labels):
        ds = tf.data.Dataset.from_tensor_slices((train_images, labels))
        return ds.shuffle(len(train_images), seed=shuffle_seed).batch(hparams.batch_size).prefetch(tf.data.AUTOTUNE)

    teacher = build()
    teacher_history = train_classifier(teacher, pipeline(np.asarray(train_labels)), hparams, verbose=verbose,
                                       epochs=epochs)
    _multiply_logits(teacher, temperature)                      # Z = T · Z'
    soft = soft_labels(teacher, train_images, temperature)      # softmax(Z / T)
    student = build()
    student_history = _fit_soft(student, pipeline(soft), hparams, verbose, epochs)
    _multiply_logits(student, temperature)                      # deployed at T = 1: logits Z = T · Z'
    return teacher, student, {"temperature": float(temperature), "teacher_history": teacher_history.history,
                              "history": student_history.history}
