"""Adversarial attacks, written from scratch in TensorFlow.

One signature for every attack::

    attack(model, x, y=None, *, eps, ...) -> x_adv

- ``model``: a Keras model (or any callable) mapping float32 images to
  **logits** (batch, classes). It is always called with ``training=False``:
  an attack probes the deployed network, BatchNormalization and Dropout in
  inference mode.
- ``x``: float32 images in [0, 1] (float64 is cast), shape (batch, height,
  width, channels): (batch, 28, 28, 1) for MNIST. Never modified.
- ``y``: integer labels (batch,). When omitted, the model's own predictions
  are used, which avoids "label leaking" (Kurakin et al. 2017): a
  perturbation built from the true label can leak it.
- ``eps``: the perturbation budget in the units of images in [0, 1]
  (L-infinity: per pixel; L2: Euclidean norm of the whole perturbation).
- Returns a new float32 tensor inside the eps-ball around ``x`` and inside
  [0, 1].

The minimum-distortion attacks :func:`cw_l2` and :func:`ead` have no eps:
they search for the *smallest* perturbation that changes the class and
return ``x`` unchanged where they find none.

Every argument is checked in one place, :func:`_validate` (images, labels
and model by :mod:`helpers.inputs`), which raises a ``ValueError`` that says
what is wrong and how to fix it. The inner loops are compiled with
``tf.function`` and run on the GPU when there is one.

References: Goodfellow, Shlens, Szegedy, "Explaining and harnessing
adversarial examples" (2015, FGSM); Madry et al., "Towards deep learning
models resistant to adversarial attacks" (2018, PGD); Carlini & Wagner,
"Towards evaluating the robustness of neural networks" (2017, margin loss,
C&W L2); Chen et al., "EAD: elastic-net attacks to deep neural networks via
adversarial examples" (2018).
"""
from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from . import inputs

LOSSES = ("ce", "margin")
_NORM_ALIASES = {"inf": "inf", "linf": "inf", "infinity": "inf", np.inf: "inf", float("inf"): "inf",
                 "2": "2", "l2": "2", 2: "2"}
_TINY = 1e-12


# --------------------------------------------------------------------------- validation, in one place

def norm_name(norm) -> str:
    """The canonical name of a norm, ``"inf"`` or ``"2"``, from any alias (``"linf"``, ``np.inf``, ``"l2"``, 2)."""
    key = norm.lower() if isinstance(norm, str) else norm
    try:
        return _NORM_ALIASES[key]
    except (KeyError, TypeError):
        raise ValueError(f"unknown norm {norm!r}; use 'inf' (L-infinity) or '2' (L2)") from None


def _validate(model, x, y, *, eps, norm="inf", steps=1, step_size=None, restarts=1, loss="ce",
              targeted=False, caller="attack"):
    """Check an attack's arguments; return ``(x, y, norm)`` as tensors and a canonical norm name."""
    norm = norm_name(norm)
    inputs.epsilon(eps, where=f"attacks.{caller}", norm=norm)
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    if int(restarts) != restarts or restarts < 1:
        raise ValueError(f"restarts must be a positive integer, got {restarts}")
    if step_size is not None and (not np.isfinite(step_size) or step_size <= 0):
        raise ValueError(f"step_size must be > 0, got {step_size}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")
    where = f"attacks.{caller}"
    inputs.logits_model(model, where=where)
    x_t = tf.convert_to_tensor(inputs.images(x, where=where))
    if y is None:
        if targeted:
            raise ValueError(f"{where}: a targeted attack needs the target labels as y")
        y_t = tf.argmax(model(x_t, training=False), axis=-1)
    else:
        y_t = tf.convert_to_tensor(inputs.labels(y, int(x_t.shape[0]), where=where))
    return x_t, tf.cast(y_t, tf.int64), norm


# --------------------------------------------------------------------------- building blocks (graph-safe)

def margin(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Carlini–Wagner margin per example: ``max_{j != y} Z_j - Z_y`` (positive when misclassified)."""
    num_classes = tf.shape(logits)[-1]
    one_hot = tf.one_hot(y, num_classes, dtype=logits.dtype)
    true_logit = tf.reduce_sum(one_hot * logits, axis=-1)
    other = tf.reduce_max(logits - one_hot * 1e9, axis=-1)
    return other - true_logit


def attack_objective(logits: tf.Tensor, y: tf.Tensor, loss: str, targeted: bool) -> tf.Tensor:
    """Per-example quantity the attacker *increases*.

    Untargeted: the cross-entropy of the true class, or the margin by which
    some other class beats it. Targeted (``y`` = target): minus the
    cross-entropy of the target, or the margin by which the target beats all others.
    """
    if loss == "ce":
        value = tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    else:
        value = margin(logits, y)
    return -value if targeted else value


def _per_example_norm(t: tf.Tensor, order: str) -> tf.Tensor:
    axes = tf.range(1, tf.rank(t))
    if order == "inf":
        return tf.reduce_max(tf.abs(t), axis=axes, keepdims=True)
    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=axes, keepdims=True))


def step_direction(grad: tf.Tensor, norm: str) -> tf.Tensor:
    """Steepest ascent direction of unit size in ``norm``: sign(g) for L-infinity, g/||g||_2 for L2."""
    if norm == "inf":
        return tf.sign(grad)
    return grad / tf.maximum(_per_example_norm(grad, "2"), _TINY)


def project(x_adv: tf.Tensor, x: tf.Tensor, eps, norm: str) -> tf.Tensor:
    """Project ``x_adv`` into the eps-ball around ``x`` (in ``norm``) and into [0, 1]."""
    delta = x_adv - x
    if norm == "inf":
        delta = tf.clip_by_value(delta, -eps, eps)
    else:
        scale = tf.minimum(1.0, eps / tf.maximum(_per_example_norm(delta, "2"), _TINY))
        delta = delta * scale
    return tf.clip_by_value(x + delta, 0.0, 1.0)


def random_point(x: tf.Tensor, eps, norm: str, seed=None) -> tf.Tensor:
    """A uniformly random point of the eps-ball around ``x`` (clipped to [0, 1])."""
    if norm == "inf":
        noise = tf.random.uniform(tf.shape(x), -eps, eps, dtype=x.dtype, seed=seed)
    else:
        direction = tf.random.normal(tf.shape(x), dtype=x.dtype, seed=seed)
        direction = direction / tf.maximum(_per_example_norm(direction, "2"), _TINY)
        dims = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), x.dtype)
        shape = tf.concat([tf.shape(x)[:1], tf.ones_like(tf.shape(x)[1:])], axis=0)
        radius = eps * tf.random.uniform(shape, dtype=x.dtype, seed=seed) ** (1.0 / dims)
        noise = direction * radius
    return tf.clip_by_value(x + noise, 0.0, 1.0)


def random_blocks(x: tf.Tensor, eps, *, blocks: int = 12, min_side: int = 3, max_side: int = 14,
                  seed=None) -> tf.Tensor:
    """``x`` plus ``blocks`` random squares of ``+eps`` or ``-eps`` (L-inf), clipped to [0, 1].

    The kind of point Square (Andriushchenko et al. 2020) searches: whole
    patches of the image moved together to a corner of the eps-ball. Each
    square has a side of ``min_side`` to ``max_side`` pixels (uniform; cut to
    the image's height and width, so a rectangle on a smaller image), a
    uniform position inside the image and a random sign; where squares
    overlap their signs add up, so the perturbation of a pixel is the sign of
    the sum times eps (0 where none covers it, or where they cancel).
    ``x``: float images (batch, height, width, channels) in [0, 1], every
    channel moved alike; ``seed``: an op seed, as for :func:`random_start`.
    Returns a tensor like ``x`` inside the eps-ball and [0, 1].
    """
    if not x.dtype.is_floating:
        raise ValueError(f"images must be float in [0, 1], got {x.dtype.name}")
    if not 1 <= min_side <= max_side:
        raise ValueError(f"need 1 <= min_side <= max_side, got {min_side} and {max_side}")
    shape = tf.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    seeds = iter([None] * 4 if seed is None else [seed + k for k in range(4)])   # one op seed per draw

    def draw(**kwargs):
        return tf.random.uniform([batch, blocks, 1, 1], seed=next(seeds), **kwargs)

    side = draw(minval=min_side, maxval=max_side + 1, dtype=tf.int32)
    side_r, side_c = tf.minimum(side, height), tf.minimum(side, width)
    top = tf.cast(draw() * tf.cast(height - side_r + 1, tf.float32), tf.int32)
    left = tf.cast(draw() * tf.cast(width - side_c + 1, tf.float32), tf.int32)
    rows, cols = tf.range(height)[None, None, :, None], tf.range(width)[None, None, None, :]
    inside = (rows >= top) & (rows < top + side_r) & (cols >= left) & (cols < left + side_c)
    sign = tf.where(draw() < 0.5, -1.0, 1.0)
    delta = tf.sign(tf.reduce_sum(tf.cast(inside, x.dtype) * tf.cast(sign, x.dtype), axis=1))[..., None]
    return tf.clip_by_value(x + tf.cast(eps, x.dtype) * delta, 0.0, 1.0)


def input_gradient(model, x: tf.Tensor, y: tf.Tensor, loss: str = "ce", targeted: bool = False,
                   training: bool = False):
    """``(objective, gradient)``: the attack objective per example and its gradient w.r.t. ``x``.

    ``training`` is the mode the model runs in while the gradient is taken
    (False for attacks; adversarial training may choose).
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        objective = attack_objective(model(x, training=training), y, loss, targeted)
    return objective, tape.gradient(objective, x)


def pgd_graph(model, x, y, eps, step_size, steps, norm: str, loss: str = "ce", targeted: bool = False,
              random_start: bool = True, training: bool = False, x_start=None):
    """The PGD loop, graph-safe and unvalidated: for attacks and for adversarial training steps.

    ``steps`` may be a tensor. Starts from ``x_start`` when given (a point of the eps-ball around ``x``,
    e.g. :func:`random_blocks`), else from :func:`random_point` (``random_start``) or ``x``.
    Returns the last iterate (batch like ``x``).
    """
    if x_start is not None:
        x_adv = x_start
    else:
        x_adv = random_point(x, eps, norm) if random_start else tf.identity(x)

    def step(i, x_adv):
        _, grad = input_gradient(model, x_adv, y, loss, targeted, training)
        x_next = project(x_adv + step_size * step_direction(grad, norm), x, eps, norm)
        return i + 1, tf.stop_gradient(x_next)

    # An explicit while_loop (not a Python loop) so the graph stays small and `steps` may be a tensor.
    _, x_adv = tf.while_loop(lambda i, _: i < steps, step, [tf.constant(0, tf.int32), x_adv])
    return x_adv


@tf.function(reduce_retracing=True)
def _pgd_compiled(model, x, y, eps, step_size, steps, norm, loss, targeted, random_start):
    x_adv = pgd_graph(model, x, y, eps, step_size, steps, norm, loss, targeted, random_start)
    logits = model(x_adv, training=False)
    objective = attack_objective(logits, y, loss, targeted)
    prediction = tf.argmax(logits, axis=-1)
    success = tf.equal(prediction, y) if targeted else tf.not_equal(prediction, y)
    return x_adv, objective, success


@tf.function(reduce_retracing=True)
def _fgm_compiled(model, x, y, eps, norm, loss, targeted):
    _, grad = input_gradient(model, x, y, loss, targeted)
    return project(x + eps * step_direction(grad, norm), x, eps, norm)


# --------------------------------------------------------------------------- the attacks

def fgsm(model, x, y=None, *, eps: float, norm="inf", loss: str = "ce", targeted: bool = False) -> tf.Tensor:
    """Fast gradient sign method (Goodfellow et al. 2015): one step of size ``eps``.

    L-infinity (default): ``x + eps * sign(grad)``. L2 (``norm="2"``), the
    "fast gradient method": ``x + eps * grad / ||grad||_2``. The gradient is
    of the cross-entropy (``loss="ce"``) or the C&W margin (``"margin"``);
    targeted attacks step *down* the loss of the target class ``y``.
    Result clipped to [0, 1].
    """
    x_t, y_t, norm = _validate(model, x, y, eps=eps, norm=norm, loss=loss, targeted=targeted, caller="fgsm")
    return _fgm_compiled(model, x_t, y_t, tf.constant(eps, tf.float32), norm, loss, bool(targeted))


def pgd(model, x, y=None, *, eps: float, steps: int = 40, step_size: float | None = None, norm="inf",
        restarts: int = 1, random_start: bool = True, loss: str = "ce", targeted: bool = False,
        seed: int | None = None, random_init: bool | None = None) -> tf.Tensor:
    """Projected gradient descent (Madry et al. 2018).

    ``steps`` steps of size ``step_size`` (default ``2.5 * eps / steps``,
    Madry et al.'s choice) along sign(grad) (L-infinity) or the normalised
    gradient (L2), each followed by projection onto the eps-ball and [0, 1].
    ``random_start`` starts from a uniform random point of the ball (``random_init``, its old name, still
    works this release, with a warning). With
    ``restarts > 1`` the attack is run again from new random starts and, per
    example, keeps the first restart that fools the model (for untargeted
    attacks: any wrong class; targeted: the target), or else the one with
    the highest objective. Examples already fooled are not restarted, so
    restarts cost little on a weak model. ``loss="margin"`` uses the Carlini–Wagner margin on
    logits instead of cross-entropy (stronger when the softmax saturates).
    """
    if random_init is not None:
        warnings.warn("attacks.pgd: random_init is now called random_start (the same flag in every helper); "
                      "random_init will go in the next release", FutureWarning, stacklevel=2)
        random_start = random_init
    x_t, y_t, norm = _validate(model, x, y, eps=eps, norm=norm, steps=steps, step_size=step_size,
                               restarts=restarts, loss=loss, targeted=targeted, caller="pgd")
    if step_size is None:
        step_size = 2.5 * eps / steps
    if seed is not None:
        tf.random.set_seed(seed)
    if restarts > 1 and not random_start:
        raise ValueError("attacks.pgd: restarts > 1 need random_start=True (without it every restart is the same)")
    args = (tf.constant(eps, tf.float32), tf.constant(step_size, tf.float32), tf.constant(steps, tf.int32),
            norm, loss, bool(targeted), bool(random_start))
    best, best_obj, best_success = _pgd_compiled(model, x_t, y_t, *args)
    for _ in range(restarts - 1):
        # Restart only the examples no restart has fooled yet: the result is the same, the cost falls with them.
        todo = tf.where(~best_success)[:, 0]
        if int(tf.size(todo)) == 0:
            break
        x_adv, obj, success = _pgd_compiled(model, tf.gather(x_t, todo), tf.gather(y_t, todo), *args)
        better = success | (obj > tf.gather(best_obj, todo))
        todo, x_adv, obj, success = (tf.boolean_mask(t, better) for t in (todo, x_adv, obj, success))
        best = tf.tensor_scatter_nd_update(best, todo[:, None], x_adv)
        best_obj = tf.tensor_scatter_nd_update(best_obj, todo[:, None], obj)
        best_success = tf.tensor_scatter_nd_update(best_success, todo[:, None], success)
    return best


# --------------------------------------------------------------------------- minimum-distortion attacks: C&W L2 and EAD

def _cw_objective(logits: tf.Tensor, y: tf.Tensor, targeted: bool, confidence) -> tf.Tensor:
    """Carlini–Wagner f, >= -kappa, <= 0 exactly when the attack succeeds with margin kappa (per example).

    Targeted (``y`` = target t): ``max(max_{j != t} Z_j - Z_t, -kappa)``.
    Untargeted (``y`` = true label): ``max(Z_y - max_{j != y} Z_j, -kappa)``.
    """
    gap = margin(logits, y)  # max_{j != y} Z_j - Z_y
    return tf.maximum(gap if targeted else -gap, -confidence)


def _succeeded(logits: tf.Tensor, y: tf.Tensor, targeted: bool, confidence) -> tf.Tensor:
    gap = margin(logits, y)
    return gap <= -confidence if targeted else gap >= confidence


def _validate_min_distortion(model, x, y, *, targeted, confidence, binary_search_steps, max_iterations,
                             learning_rate, initial_const, caller):
    x_t, y_t, _ = _validate(model, x, y, eps=0.0, targeted=targeted, caller=caller)
    for name, value in (("binary_search_steps", binary_search_steps), ("max_iterations", max_iterations)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    for name, value in (("learning_rate", learning_rate), ("initial_const", initial_const)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    if not np.isfinite(confidence) or confidence < 0:
        raise ValueError(f"confidence (kappa) must be >= 0, got {confidence}")
    return x_t, y_t


def _binary_search(run, x_t, initial_const, binary_search_steps):
    """The constant search shared by C&W and EAD: per example, the smallest c that still succeeds.

    ``run(const) -> (best_distance, best_x)`` over one constant for the whole
    batch (per-example constants). Keeps, per example, the smallest
    distortion over all constants; unsuccessful examples keep ``x``.
    """
    n = int(x_t.shape[0])
    lower, upper = np.zeros(n), np.full(n, 1e10)
    const = np.full(n, float(initial_const))
    best_dist = np.full(n, np.inf)
    best_x = x_t.numpy().copy()
    for _ in range(binary_search_steps):
        dist, x_found = run(tf.constant(const, tf.float32))
        dist, x_found = dist.numpy(), x_found.numpy()
        success = np.isfinite(dist)
        improved = success & (dist < best_dist)
        best_dist[improved], best_x[improved] = dist[improved], x_found[improved]
        upper[success] = np.minimum(upper[success], const[success])
        lower[~success] = np.maximum(lower[~success], const[~success])
        found_upper = upper < 1e9
        const = np.where(found_upper, (lower + upper) / 2, const * 10)
    return tf.constant(best_x)


@tf.function(reduce_retracing=True)
def _cw_inner(model, x, y, const, targeted, confidence, steps, learning_rate):
    """Adam on w (x_adv = (tanh(w) + 1) / 2) for one constant per example; tracks the smallest successful L2²."""
    w0 = tf.atanh(tf.clip_by_value(2.0 * x - 1.0, -1.0 + 1e-6, 1.0 - 1e-6))
    zeros = tf.zeros_like(x)
    best_dist = tf.fill(tf.shape(x)[:1], np.inf)
    beta1, beta2, tiny = 0.9, 0.999, 1e-8
    axes = list(range(1, len(x.shape)))

    def step(i, w, m, v, best_dist, best_x):
        with tf.GradientTape() as tape:
            tape.watch(w)
            x_adv = (tf.tanh(w) + 1.0) / 2.0
            logits = model(x_adv, training=False)
            dist = tf.reduce_sum(tf.square(x_adv - x), axis=axes)
            loss = tf.reduce_sum(dist + const * _cw_objective(logits, y, targeted, confidence))
        better = _succeeded(logits, y, targeted, confidence) & (dist < best_dist)
        best_dist = tf.where(better, dist, best_dist)
        best_x = tf.where(tf.reshape(better, [-1] + [1] * (len(x.shape) - 1)), x_adv, best_x)
        g = tape.gradient(loss, w)
        t = tf.cast(i + 1, tf.float32)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * tf.square(g)
        w = w - learning_rate * (m / (1 - beta1 ** t)) / (tf.sqrt(v / (1 - beta2 ** t)) + tiny)
        return i + 1, w, m, v, best_dist, best_x

    _, _, _, _, best_dist, best_x = tf.while_loop(
        lambda i, *_: i < steps, step, [tf.constant(0), w0, zeros, zeros, best_dist, x])
    return tf.sqrt(best_dist), best_x


def cw_l2(model, x, y=None, *, targeted: bool = False, confidence: float = 0.0, binary_search_steps: int = 9,
          max_iterations: int = 1000, learning_rate: float = 1e-2, initial_const: float = 1e-3) -> tf.Tensor:
    """Carlini–Wagner L2 attack (Carlini & Wagner 2017): the smallest L2 perturbation that changes the class.

    Minimises ``||x' - x||_2^2 + c * f(x')`` over ``x' = (tanh(w) + 1) / 2``
    (the change of variables keeps every pixel in [0, 1] without clipping),
    with Adam (``learning_rate``, ``max_iterations`` steps) for each constant
    ``c``, and a binary search over ``c`` per example (``binary_search_steps``
    constants, from ``initial_const``; multiplied by 10 while no success).
    ``f`` is the margin on **logits** (see :func:`_cw_objective`), so a
    saturated softmax does not hide the gradient; ``confidence`` is kappa.

    No eps: the attack is unbounded and *minimises* distortion. Returns, per
    example, the smallest successful perturbation found, or ``x`` itself
    where none was found (so accuracy on the result counts failures as
    robust). Cost: ``binary_search_steps * max_iterations`` gradient steps.
    """
    x_t, y_t = _validate_min_distortion(model, x, y, targeted=targeted, confidence=confidence,
                                        binary_search_steps=binary_search_steps, max_iterations=max_iterations,
                                        learning_rate=learning_rate, initial_const=initial_const, caller="cw_l2")
    args = (bool(targeted), tf.constant(confidence, tf.float32), tf.constant(max_iterations),
            tf.constant(learning_rate, tf.float32))
    return _binary_search(lambda const: _cw_inner(model, x_t, y_t, const, *args), x_t, initial_const,
                          binary_search_steps)


@tf.function(reduce_retracing=True)
def _ead_inner(model, x, y, const, targeted, confidence, steps, learning_rate, beta, l1_rule):
    """FISTA with the shrinkage-thresholding projection onto [0, 1] (Chen et al. 2018), one constant per example."""
    best_dist = tf.fill(tf.shape(x)[:1], np.inf)
    axes = list(range(1, len(x.shape)))

    def shrink(z):
        delta = z - x
        return tf.where(delta > beta, tf.minimum(z - beta, 1.0), tf.where(delta < -beta, tf.maximum(z + beta, 0.0), x))

    def step(k, x_k, slack, best_dist, best_x):
        lr = learning_rate * tf.sqrt(1.0 - tf.cast(k, tf.float32) / tf.cast(steps, tf.float32))  # polynomial decay
        with tf.GradientTape() as tape:
            tape.watch(slack)
            smooth = tf.reduce_sum(tf.reduce_sum(tf.square(slack - x), axis=axes)
                                   + const * _cw_objective(model(slack, training=False), y, targeted, confidence))
        x_next = shrink(slack - lr * tape.gradient(smooth, slack))
        slack = x_next + tf.cast(k, tf.float32) / (tf.cast(k, tf.float32) + 3.0) * (x_next - x_k)
        logits = model(x_next, training=False)
        l1 = tf.reduce_sum(tf.abs(x_next - x), axis=axes)
        l2sq = tf.reduce_sum(tf.square(x_next - x), axis=axes)
        dist = l1 if l1_rule else beta * l1 + l2sq
        better = _succeeded(logits, y, targeted, confidence) & (dist < best_dist)
        best_dist = tf.where(better, dist, best_dist)
        best_x = tf.where(tf.reshape(better, [-1] + [1] * (len(x.shape) - 1)), x_next, best_x)
        return k + 1, x_next, slack, best_dist, best_x

    _, _, _, best_dist, best_x = tf.while_loop(lambda k, *_: k < steps, step, [tf.constant(0), x, x, best_dist, x])
    return best_dist, best_x


def ead(model, x, y=None, *, beta: float = 1e-2, decision_rule: str = "EN", targeted: bool = False,
        confidence: float = 0.0, binary_search_steps: int = 9, max_iterations: int = 1000,
        learning_rate: float = 1e-2, initial_const: float = 1e-3) -> tf.Tensor:
    """Elastic-net attack, EAD (Chen et al. 2018): C&W's objective plus ``beta * L1``, for sparse perturbations.

    Minimises ``c * f(x') + ||x' - x||_2^2 + beta * ||x' - x||_1`` over x' in
    [0, 1] with FISTA: a gradient step on the smooth part, then the
    shrinkage-thresholding operator (pixels that move less than ``beta`` snap
    back to the original), with momentum and a square-root decaying learning
    rate; binary search over ``c`` as in :func:`cw_l2`. ``decision_rule``
    picks the best successful example by the elastic-net distance
    (``"EN"``: beta·L1 + L2²) or by L1 (``"L1"``). Returns ``x`` where no
    success was found.
    """
    if decision_rule not in ("EN", "L1"):
        raise ValueError(f"decision_rule must be 'EN' or 'L1', got {decision_rule!r}")
    if not np.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    x_t, y_t = _validate_min_distortion(model, x, y, targeted=targeted, confidence=confidence,
                                        binary_search_steps=binary_search_steps, max_iterations=max_iterations,
                                        learning_rate=learning_rate, initial_const=initial_const, caller="ead")
    args = (bool(targeted), tf.constant(confidence, tf.float32), tf.constant(max_iterations),
            tf.constant(learning_rate, tf.float32), tf.constant(beta, tf.float32), decision_rule == "L1")
    return _binary_search(lambda const: _ead_inner(model, x_t, y_t, const, *args), x_t, initial_const,
                          binary_search_steps)
