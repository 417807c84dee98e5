"""One-line checks for the lessons' coding exercises, and hints on request.

Each lesson ends with exercises; in the coding ones the student writes a
function and calls ``exercises.check_<name>(their_function)``. The check
runs it on real cases (MNIST test images from the project's sample and a
small CNN trained here in about two seconds, once per kernel), compares it
with the course's reference (:mod:`helpers.attacks`,
:mod:`helpers.batchnorm`, ...) and either prints ``✓ ...`` or raises
:class:`ExerciseError` (an ``AssertionError``) that says in plain words what
is wrong, without printing the reference's answer. ``hint(name)`` gives a
first hint, ``hint(name, 2)`` a stronger one.

=====================  ======  ===========================================================
check                  lesson  the student's function
=====================  ======  ===========================================================
check_normalize        01      ``to_unit_range(images_uint8) -> float32 images in [0, 1]``
check_accuracy         02      ``accuracy_by_hand(model, x, y) -> fraction correct``
check_fgsm             03      ``my_fgsm(model, x, y, eps) -> x_adv``
check_smallest_eps     03      ``smallest_flipping_eps(model, x, y, epsilons) -> eps or None``
check_targeted_pgd     03      ``my_targeted_pgd(model, x, target, eps, steps, step_size)``
check_adversarial_loss 04      ``adversarial_loss(model, x, y, eps, mix) -> scalar``
check_worst_case       05      ``worst_case_accuracy({attack: survived}) -> fraction``
check_loss_along       06      ``loss_along(model, x, y, direction, t) -> mean loss``
check_margin           07      ``margin_loss(logits, y) -> one margin per image``
check_zero_gradients   07      ``zero_gradient_share(model, x, y, scale) -> fraction``
check_reestimate       08      ``reestimate_by_hand(model, images)`` (sets BN statistics)
check_trades_kl        09      ``trades_kl(logits_clean, logits_adv) -> scalar``
=====================  ======  ===========================================================

The solutions live in the lessons between nbgrader's ``### BEGIN SOLUTION``
and ``### END SOLUTION`` markers; ``tools/student_version.py`` writes the
student copies without them. ``tests/test_exercises.py`` checks that every
check accepts the reference solution and rejects deliberately wrong ones.
"""
from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from . import attacks, batchnorm, data, models

__all__ = ["ExerciseError", "hint", "check_normalize", "check_accuracy", "check_fgsm", "check_smallest_eps",
           "check_targeted_pgd", "check_adversarial_loss", "check_worst_case", "check_loss_along",
           "check_margin", "check_zero_gradients", "check_reestimate", "check_trades_kl"]


class ExerciseError(AssertionError):
    """A check found something wrong with a student's function; the message says what.

    In Jupyter it shows as one line, ``✗ <what is wrong>``, not as a traceback through the checker's code
    (IPython asks an exception for its ``_render_traceback_``). It is still an error: *Run All* stops there,
    and nbval fails a lesson whose own solution does not pass.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m✗ {line}\x1b[0m" if k == 0 else line for k, line in enumerate(str(self).splitlines())]


class _NotWrittenYet(Exception):
    """The student's function still raises ``NotImplementedError``: nothing to check yet."""


def _check(function):
    """Make a check of a function that is not written yet print a reminder and return False, instead of failing.

    An unsolved exercise is a state, not a mistake: a student's copy of a lesson runs to its end with every
    exercise still open, and each check says it is waiting.
    """
    @functools.wraps(function)
    def check(student_function, *args, **kwargs) -> Checked:
        name = function.__name__.removeprefix("check_")
        try:
            return function(student_function, *args, **kwargs)
        except _NotWrittenYet:
            message = (f"{name}: not written yet. Replace `raise NotImplementedError` in your function with your "
                       f"code, run its cell, then this check (stuck? exercises.hint({name!r}))")
            print(f"… {message}")
            return Checked(False, message)
    return check


# Errors TensorFlow and NumPy raise on mistakes students make, and what fixes each: (type name, words in the
# message, the fix).
_TRANSLATIONS = [
    ("ValueError", "not tf.Tensor or tf.Variable",
     "tape.watch() needs a TensorFlow tensor, and got a NumPy array: convert it first, x = tf.constant(x), then "
     "tape.watch(x) inside the `with tf.GradientTape() as tape:` block"),
    ("AttributeError", "object has no attribute '_id'",
     "tape.watch() needs a TensorFlow tensor, and got a NumPy array: convert it first, x = tf.constant(x), then "
     "tape.watch(x) inside the `with tf.GradientTape() as tape:` block"),
    ("ValueError", "Attempt to convert a value (None)",
     "a gradient is None: the tape did not record the images. Put `tape.watch(x)` (x a tf.constant) before the "
     "forward pass inside the `with tf.GradientTape() as tape:` block, and take tape.gradient(loss, x)"),
    ("TypeError", "unsupported operand type(s) for", "a gradient is None (see tape.watch), or a value is not a number"),
    ("InvalidArgumentError", "expected to be a float tensor but is a double tensor",
     "float32 and float64 were mixed: the course's images and models are float32; use x.astype(np.float32) or "
     "tf.cast(x, tf.float32), and write numbers as 0.1, not np.float64(0.1)"),
    ("InvalidArgumentError", "expected to be a double tensor but is a float tensor",
     "float32 and float64 were mixed: the course's images and models are float32; use x.astype(np.float32) or "
     "tf.cast(x, tf.float32), and write numbers as 0.1, not np.float64(0.1)"),
    ("InvalidArgumentError", "expected to be a int64 tensor but is a float tensor",
     "labels must be integers (int64), images float32: did you swap x and y?"),
]


def explain_error(error: BaseException) -> str | None:
    """The fix for a TensorFlow or NumPy error common in student code, in one sentence; None if unknown."""
    kind, text = type(error).__name__, str(error)
    for name, words, fix in _TRANSLATIONS:
        if kind == name and words in text:
            return fix
    return None


# Hints grow in steps: the idea, then the tools, then the order of the steps. The last one is still not the line
# of code to type (tests/test_exercises.py holds that).
HINTS = {
    "normalize": [
        "Pixels arrive as uint8 integers 0..255; the course's images are float32 in [0, 1].",
        "Two steps: change the type to float32 first (astype), then divide every pixel by the same number, the "
        "largest value a uint8 pixel can take.",
    ],
    "accuracy": [
        "The model returns logits, one row of 10 scores per image; the prediction is the index of the largest.",
        "np.argmax(..., axis=-1) gives one predicted class per image; the accuracy is the share of them equal to y.",
    ],
    "fgsm": [
        "Record the forward pass with tf.GradientTape and take the gradient of the cross-entropy with respect to "
        "the image, not the weights: the tape must watch the image (a tf.constant), tape.watch(x).",
        "FGSM moves every pixel by exactly eps, in the direction the gradient says raises the loss: its sign "
        "(tf.sign), not the gradient itself, whose entries are tiny.",
        "Three steps, in this order: the gradient of the loss with respect to x; the step of eps along its sign; "
        "a clip of the result into the valid range [0, 1] (tf.clip_by_value).",
    ],
    "smallest_eps": [
        "Try the epsilons in increasing order and stop at the first one whose FGSM image the model gets wrong.",
        "attacks.fgsm(model, x, y, eps=e) gives the attacked image and evaluation.predict_labels its prediction; "
        "when no epsilon of the list works, the answer is None.",
    ],
    "targeted_pgd": [
        "A targeted attack makes the *target* class likely: it lowers the target's cross-entropy instead of "
        "raising the true class's.",
        "Each step reads the gradient of the cross-entropy of the *target* labels and moves against it, along its "
        "sign, by step_size.",
        "After each step project back: first into [x - eps, x + eps], then into [0, 1].",
    ],
    "adversarial_loss": [
        "Two cross-entropies averaged over the batch: one on the clean images, one on their FGSM versions.",
        "attacks.fgsm gives the FGSM images; mix weighs the loss on the attacked images, 1 - mix the clean one.",
    ],
    "worst_case": [
        "An image counts as robust only if it survives *every* attack: combine the masks per image before averaging.",
        "np.logical_and.reduce combines a list of boolean arrays image by image; then take the share that is True.",
    ],
    "loss_along": [
        "Move the images by t along the direction, keep them in [0, 1], and average the cross-entropy.",
        "np.clip keeps the moved images valid; the loss is the cross-entropy of the logits (from_logits=True), "
        "averaged over the images.",
    ],
    "margin": [
        "The margin compares the best *wrong* class with the true one, on logits (no softmax).",
        "Hide the true class before taking the maximum (subtract a huge number from it, or use a mask), then "
        "subtract the true class's logit.",
    ],
    "zero_gradients": [
        "Multiply the model's logits by the scale, take the cross-entropy's gradient with respect to the input "
        "images, and ask per image whether every entry is exactly 0.",
        "Watch the images (a tf.constant) in a GradientTape and scale the logits before the loss; then flatten "
        "each image's gradient and ask whether all of its entries are 0 (np.all along axis 1), and average.",
    ],
    "reestimate": [
        "In training mode a BatchNormalization layer moves its moving statistics towards the batch's by "
        "(1 - momentum). With momentum 0 they become the batch's statistics.",
        "batchnorm.set_momentum sets every layer's momentum; one training-mode call on all the images (one batch) "
        "then moves the statistics. Put every layer's momentum back as it was: the weights must not change.",
    ],
    "trades_kl": [
        "KL(p || q) = sum_k p_k (log p_k - log q_k), with p the clean prediction's softmax and q the adversarial "
        "one's; average over the batch.",
        "Use tf.nn.log_softmax on both sets of logits; the order matters: the clean distribution comes first.",
    ],
}


class Hint(str):
    """A hint's text: printed by :func:`hint`, so Jupyter shows nothing more when it is a cell's last line."""

    def _ipython_display_(self):
        pass


def hint(name: str, level: int = 1) -> Hint:
    """Print and return the ``level``-th hint (1 = gentlest) for the exercise checked by ``check_<name>``."""
    if name not in HINTS:
        raise ValueError(f"no exercise named {name!r}; the exercises are {', '.join(HINTS)}")
    hints = HINTS[name]
    if not 1 <= level <= len(hints):
        raise ValueError(f"exercise {name!r} has hints 1 to {len(hints)}")
    text = f"hint {level}/{len(hints)} for {name!r}: {hints[level - 1]}"
    print(text)
    return Hint(text)


# --------------------------------------------------------------------------- shared cases

def _fail(name: str, message: str):
    raise ExerciseError(f"{message}\n(a hint: exercises.hint({name!r}); a stronger one: exercises.hint({name!r}, 2))")


class Checked:
    """What a check returns: true when the function passed, false while it is not written yet.

    It prints nothing more in Jupyter (the check has already printed its line), so a cell that ends with a check
    shows ``✓ ...``, not ``✓ ...`` followed by ``True``.
    """

    def __init__(self, passed: bool, message: str):
        self.passed, self.message = passed, message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{'✓' if self.passed else '…'} {self.message}"

    def _ipython_display_(self):
        pass


def _ok(message: str) -> Checked:
    print(f"✓ {message}")
    return Checked(True, message)


def _call(name: str, fn, *args):
    """Run the student's function; a missing or crashing solution becomes a plain message."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise _NotWrittenYet from None
    except ExerciseError:
        raise
    except Exception as error:  # the student's own bug: say what it was, and the fix when it is a known one
        fix = explain_error(error)
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        first = first if len(first) <= 160 else first[:157] + "..."
        raise ExerciseError(f"your function raised {type(error).__name__}: {first}"
                            + (f"\nthe fix: {fix}" if fix else "")) from None


def _array(name: str, value, what: str) -> np.ndarray:
    if value is None:
        _fail(name, f"your function returned None: return {what}")
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    except Exception:
        _fail(name, f"could not read your result as an array: return {what}")


def _scalar(name: str, value, what: str) -> float:
    array = _array(name, value, what)
    if array.size != 1:
        _fail(name, f"your function returned {array.size} numbers (shape {array.shape}); return one number: {what}")
    return float(array.reshape(()))


@functools.lru_cache(maxsize=None)
def _sample(split: str, n: int):
    """The first ``n`` images of the project's committed MNIST sample: float32 in [0, 1] and int64 labels."""
    arrays = data.load_sample(split)
    return arrays.images[:n].astype(np.float32) / 255.0, arrays.labels[:n].astype(np.int64)


@functools.lru_cache(maxsize=None)
def tiny_model() -> tf.keras.Model:
    """A small CNN (8 filters) trained for two epochs on 2,000 sample images: about 2 s, about 90% accurate.

    Deterministic (seeded initialisers, no shuffling) and built once per process; the checks attack it.
    """
    x, y = _sample("train", 2000)
    init = tf.keras.initializers.GlorotUniform
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        tf.keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=init(seed=1)),
        tf.keras.layers.MaxPooling2D(2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(data.NUM_CLASSES, kernel_initializer=init(seed=2)),
    ], name="exercise_cnn")
    model.compile(tf.keras.optimizers.Adam(3e-3), tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, batch_size=64, shuffle=False, verbose=0)
    return model


def _predict(model, x) -> np.ndarray:
    return np.argmax(model(np.asarray(x, np.float32), training=False).numpy(), axis=-1)


def _ce(y, logits) -> np.ndarray:
    return tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True).numpy()


def _check_images(name: str, got: np.ndarray, x: np.ndarray, eps: float | None):
    """Shape, [0, 1] and (when eps is given) the L-inf ball: the constraints every attack must keep."""
    if got.shape != x.shape:
        _fail(name, f"your images have shape {got.shape}; they must keep the input's shape {x.shape}")
    if not np.isfinite(got).all():
        _fail(name, "your images contain NaN or infinite values")
    if got.min() < -1e-6 or got.max() > 1 + 1e-6:
        _fail(name, "some pixels left the valid range [0, 1]: clip the result with tf.clip_by_value(..., 0, 1)")
    if eps is not None and np.abs(got - x).max() > eps + 1e-5:
        _fail(name, "some pixels moved by more than eps: the attack must stay in the L-infinity ball "
                    "(clip to [x - eps, x + eps])")


# --------------------------------------------------------------------------- 01: normalising

@_check
def check_normalize(to_unit_range) -> Checked:
    """Lesson 01: ``to_unit_range(images)`` turns uint8 images (n, 28, 28, 1) into float32 in [0, 1]."""
    name = "normalize"
    raw = data.load_sample("test").images[:32]
    for case in (raw, np.zeros((2, 28, 28, 1), np.uint8)):
        before = case.copy()
        got = _array(name, _call(name, to_unit_range, case.copy()), "the images as float32 in [0, 1]")
        if got.shape == case.shape[:3]:
            _fail(name, f"the channel axis is gone (shape {got.shape}): keep the shape (n, 28, 28, 1)")
        if got.shape != case.shape:
            _fail(name, f"your images have shape {got.shape}; they must keep the input's shape {case.shape}")
        if got.dtype != np.float32:
            _fail(name, f"your images are {got.dtype}; the course's attacks and models take float32")
        if got.max() > 1.0 + 1e-6:
            _fail(name, "some pixels are above 1: the range must be [0, 1] (what is the largest uint8 value?)")
        if got.min() < -1e-6:
            _fail(name, "some pixels are negative: the range is [0, 1], not centred or [-1, 1]")
        if case.max() == 255 and got.max() < 0.01:
            _fail(name, "the brightest pixel is almost black: did you divide by 255 twice?")
        expected = before.astype(np.float32) / 255.0
        if not np.allclose(got, expected, atol=1e-6):
            per_image_max = got.reshape(len(got), -1).max(axis=1)
            if case.max() > 0 and np.allclose(per_image_max, 1.0):
                _fail(name, "every image reaches exactly 1: you scaled each image by its own brightest pixel; "
                            "divide every image by the same number, so that a grey pixel stays grey")
            _fail(name, "your values are not the pixels mapped linearly onto [0, 1] (0 -> 0.0, 255 -> 1.0)")
    return _ok("to_unit_range gives float32 images in [0, 1], pixel / 255, shape kept")


# --------------------------------------------------------------------------- 02: accuracy

@_check
def check_accuracy(accuracy_by_hand) -> Checked:
    """Lesson 02: ``accuracy_by_hand(model, x, y)`` is the fraction of images whose top logit is the label."""
    name = "accuracy"
    model = tiny_model()
    x, y = _sample("test", 300)
    predictions = _predict(model, x)
    cases = [("the model's own predictions as labels", predictions, 1.0),
             ("labels that are all wrong", (predictions + 1) % 10, 0.0),
             ("the true labels", y, float(np.mean(predictions == y)))]
    for what, labels, expected in cases:
        got = _scalar(name, _call(name, accuracy_by_hand, model, x, labels.astype(np.int64)),
                      "the fraction of correct predictions")
        if got > 1.0 + 1e-9:
            _fail(name, "your accuracy is above 1: return the fraction of images predicted right, not their count")
        if abs(got - expected) > 1e-6:
            if what.startswith("the model's"):
                _fail(name, "with the model's own predictions as labels every image is right, but your function "
                            "says otherwise: is the prediction the argmax over the 10 classes (axis=-1)?")
            if what.startswith("labels that"):
                _fail(name, "with labels that are all wrong the accuracy must be 0; yours is not")
            _fail(name, f"on {len(x)} test images with their true labels your accuracy is "
                        f"{'too high' if got > expected else 'too low'}")
    return _ok("accuracy_by_hand agrees with argmax(logits) == y on 300 test images and two control cases")


# ----------------------------------------------------------------- 03: FGSM, the smallest epsilon, targeted PGD

@_check
def check_fgsm(my_fgsm) -> Checked:
    """Lesson 03: ``my_fgsm(model, x, y, eps)`` is FGSM: ``clip(x + eps * sign(grad_x CE), 0, 1)``."""
    name = "fgsm"
    model = tiny_model()
    x, y = _sample("test", 64)
    for eps in (0.1, 0.25):
        reference = attacks.fgsm(model, x, y, eps=eps).numpy()
        got = _array(name, _call(name, my_fgsm, model, x.copy(), y.copy(), eps), "the attacked images")
        got = got.astype(np.float32)
        if got.shape == x.shape and np.abs(got - x).max() < 1e-7:
            _fail(name, "your attack did not move any pixel")
        _check_images(name, got, x, eps)
        delta, ref_delta = got - x, reference - x
        moved = (np.abs(delta) > 1e-7) & (np.abs(ref_delta) > 1e-7)
        agree = np.mean(np.sign(delta[moved]) == np.sign(ref_delta[moved])) if moved.any() else 0.0
        if agree < 0.05:
            _fail(name, "you stepped against the gradient: x - eps * sign(gradient) lowers the loss; FGSM raises it")
        if agree < 0.99:
            _fail(name, "your steps point the right way on only part of the pixels: is the gradient that of the "
                        "cross-entropy of the given labels y, with respect to the images?")
        full = np.abs(np.abs(ref_delta) - eps) < 1e-5          # pixels FGSM moves by the full eps (not clipped)
        if np.mean(np.abs(delta[full]) < eps - 1e-4) > 0.05:
            _fail(name, "your perturbation is not eps * sign(gradient): some pixels moved by less than eps. "
                        "Did you add the gradient itself (the mistake of the GradientTape article this course "
                        "started from) instead of its sign?")
        if not np.allclose(got, reference, atol=1e-5):
            _fail(name, "your images differ from FGSM's where a pixel would leave [0, 1]: clip after the step")
    return _ok("my_fgsm matches FGSM (eps * sign of the input gradient, clipped to [0, 1]) at eps 0.1 and 0.25 "
               "on 64 test images")


def _first_flip(model, x, y, epsilons):
    for eps in epsilons:
        if _predict(model, attacks.fgsm(model, x, y, eps=eps).numpy())[0] != y[0]:
            return eps
    return None


@_check
def check_smallest_eps(smallest_flipping_eps) -> Checked:
    """Lesson 03: ``smallest_flipping_eps(model, x, y, epsilons)``: the smallest eps in the list at which
    FGSM changes the prediction of the one digit ``x`` (shape (1, 28, 28, 1)), or None."""
    name = "smallest_eps"
    model = tiny_model()
    x_all, y_all = _sample("test", 40)
    right = np.flatnonzero(_predict(model, x_all) == y_all)[:8]
    grid = [round(0.02 * k, 2) for k in range(1, 16)]
    cases = [(i, grid) for i in right] + [(right[0], [0.0, 0.001])]
    for n, (i, epsilons) in enumerate(cases, start=1):
        x, y = x_all[i:i + 1], y_all[i:i + 1]
        expected = _first_flip(model, x, y, epsilons)
        got = _call(name, smallest_flipping_eps, model, x.copy(), y.copy(), list(epsilons))
        if got is None:
            if expected is not None:
                _fail(name, f"digit {n}: you returned None, but an epsilon in the list makes FGSM fool the model")
            continue
        try:
            got = float(got)
        except (TypeError, ValueError):
            _fail(name, f"digit {n}: return one of the epsilons you were given (a number) or None")
        if not any(abs(got - e) < 1e-9 for e in epsilons):
            _fail(name, f"digit {n}: return one of the epsilons you were given, not another number")
        if _predict(model, attacks.fgsm(model, x, y, eps=got).numpy())[0] == y[0]:
            _fail(name, f"digit {n}: at the epsilon you returned FGSM does not change the prediction")
        if got > expected + 1e-9:
            _fail(name, f"digit {n}: a smaller epsilon in the list already fools the model: return the smallest")
    return _ok(f"smallest_flipping_eps finds the smallest fooling epsilon on {len(right)} digits, "
               "and None when no epsilon in the list fools the model")


@_check
def check_targeted_pgd(my_targeted_pgd) -> Checked:
    """Lesson 03: ``my_targeted_pgd(model, x, target, eps, steps, step_size)``: targeted L-inf PGD without
    random start (descend the target's cross-entropy with sign steps, project after each)."""
    name = "targeted_pgd"
    model = tiny_model()
    x, y = _sample("test", 32)
    target = ((y + 3) % 10).astype(np.int64)
    eps, steps, step_size = 0.2, 10, 0.05
    reference = attacks.pgd(model, x, target, eps=eps, steps=steps, step_size=step_size, targeted=True,
                            random_start=False).numpy()
    got = _array(name, _call(name, my_targeted_pgd, model, x.copy(), target.copy(), eps, steps, step_size),
                 "the attacked images").astype(np.float32)
    _check_images(name, got, x, eps)
    reached, ref_reached = np.mean(_predict(model, got) == target), np.mean(_predict(model, reference) == target)
    target_loss_before = _ce(target, model(x)).mean()
    if _ce(target, model(got)).mean() > target_loss_before:
        _fail(name, "your attack makes the target class *less* likely: that is an untargeted attack away from the "
                    "target. A targeted attack descends the target's loss: x - step_size * sign(gradient)")
    if np.allclose(got, reference, atol=1e-4):
        return _ok(f"my_targeted_pgd matches targeted PGD ({steps} sign steps of {step_size}, L-inf eps {eps}) "
                   f"on 32 test images, each pushed to another class")
    if reached + 0.05 >= ref_reached:
        return _ok("my_targeted_pgd stays in the eps-ball and reaches the targets as often as sign-step PGD "
                   "(its steps differ from the reference's, which is fine)")
    _fail(name, f"your attack reaches the target on fewer images than PGD with the same budget ({steps} steps of "
                f"{step_size}, starting from x): take each step along the sign of the gradient, and project after "
                "every step")


# --------------------------------------------------------------------------- 04: the adversarial training loss

def _mixed(model, x, y, x_adv, mix):
    return float(mix * _ce(y, model(x_adv)).mean() + (1 - mix) * _ce(y, model(x)).mean())


@_check
def check_adversarial_loss(adversarial_loss) -> Checked:
    """Lesson 04: ``adversarial_loss(model, x, y, eps, mix)`` = mix * CE(FGSM images) + (1 - mix) * CE(clean),
    each averaged over the batch."""
    name = "adversarial_loss"
    model = tiny_model()
    x, y = _sample("test", 64)
    eps = 0.1
    x_adv = attacks.fgsm(model, x, y, eps=eps).numpy()
    with tf.GradientTape() as tape:
        xt = tf.constant(x)
        tape.watch(xt)
        loss = tf.reduce_mean(_ce_t(y, model(xt)))
    x_raw = np.clip(x + eps * tape.gradient(loss, xt).numpy(), 0, 1)
    for mix in (0.8, 0.3):
        expected = _mixed(model, x, y, x_adv, mix)
        got = _scalar(name, _call(name, adversarial_loss, model, x.copy(), y.copy(), eps, mix), "the mean loss")
        if abs(got - expected) <= 1e-3 * max(1.0, abs(expected)):
            continue
        wrong = {
            "the weights are swapped: mix multiplies the loss on the *adversarial* images":
                _mixed(model, x, y, x_adv, 1 - mix),
            "your adversarial images use the raw gradient instead of its sign (the mistake of the GradientTape "
            "article this course started from)":
                _mixed(model, x, y, x_raw, mix),
            "only the adversarial loss is there: add (1 - mix) times the clean loss": _mixed(model, x, y, x_adv, 1),
            "only the clean loss is there: the adversarial images are missing": _mixed(model, x, y, x_adv, 0),
            "the losses are summed over the batch; average them": expected * len(x),
        }
        for message, value in wrong.items():
            if abs(got - value) <= 1e-3 * max(1.0, abs(value)):
                _fail(name, message)
        _fail(name, f"with mix = {mix} your loss is {'too high' if got > expected else 'too low'}: it should be "
                    "mix * CE on FGSM images (eps, the given labels) + (1 - mix) * CE on the clean images")
    return _ok("adversarial_loss matches mix * CE(FGSM images) + (1 - mix) * CE(clean) for mix 0.8 and 0.3")


def _ce_t(y, logits):
    return tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)


# --------------------------------------------------------------------------- 05: the worst case over attacks

@_check
def check_worst_case(worst_case_accuracy) -> Checked:
    """Lesson 05: ``worst_case_accuracy({attack name: boolean array, True where the image survived})``."""
    name = "worst_case"
    model = tiny_model()
    x, y = _sample("test", 200)
    real = {"FGSM": _predict(model, attacks.fgsm(model, x, y, eps=0.05).numpy()) == y,
            "PGD margin": _predict(model, attacks.pgd(model, x, y, eps=0.05, steps=5, loss="margin",
                                                      random_start=False).numpy()) == y,
            "noise": _predict(model, np.clip(x + np.random.default_rng(0).choice([-0.05, 0.05], x.shape),
                                             0, 1).astype(np.float32)) == y}
    toy = {"attack A": np.array([True, True, False, False]), "attack B": np.array([False, True, True, True])}
    for case in (toy, real):
        expected = float(np.logical_and.reduce(list(case.values())).mean())
        got = _scalar(name, _call(name, worst_case_accuracy, {k: v.copy() for k, v in case.items()}),
                      "the fraction of images that survive every attack")
        if abs(got - expected) < 1e-9:
            continue
        means = [v.mean() for v in case.values()]
        if abs(got - min(means)) < 1e-9:
            _fail(name, "you took the lowest of the attacks' accuracies, but different attacks break different "
                        "images: an image is robust only if it survives every attack, so combine the masks per "
                        "image first")
        if abs(got - float(np.logical_or.reduce(list(case.values())).mean())) < 1e-9:
            _fail(name, "you counted images that survive *any* attack; the worst case needs them to survive all")
        if abs(got - float(np.mean(means))) < 1e-9 or abs(got - max(means)) < 1e-9:
            _fail(name, "you averaged (or took the best of) the attacks' accuracies; the worst case is per image")
        _fail(name, "your worst case is not the fraction of images that survive every attack")
    return _ok("worst_case_accuracy counts the images that survive every attack (a toy case and three real attacks "
               "on 200 test images)")


# --------------------------------------------------------------------------- 06: the loss along a direction

@_check
def check_loss_along(loss_along) -> Checked:
    """Lesson 06: ``loss_along(model, x, y, direction, t)`` = mean CE at ``clip(x + t * direction, 0, 1)``."""
    name = "loss_along"
    model = tiny_model()
    x, y = _sample("test", 100)
    _, grad = attacks.input_gradient(model, tf.constant(x), tf.constant(y))
    directions = {"the gradient's sign": np.sign(grad.numpy()).astype(np.float32),
                  "random signs": np.random.default_rng(0).choice([-1.0, 1.0], x.shape).astype(np.float32)}
    for label, direction in directions.items():
        for t in (0.0, 0.1, 0.3):
            x_t = np.clip(x + np.float32(t) * direction, 0, 1)
            expected = float(_ce(y, model(x_t)).mean())
            got = _scalar(name, _call(name, loss_along, model, x.copy(), y.copy(), direction.copy(), t),
                          "the mean cross-entropy")
            if abs(got - expected) <= 1e-4 * max(1.0, abs(expected)):
                continue
            unclipped = float(_ce(y, model(x + np.float32(t) * direction)).mean())
            if abs(got - unclipped) <= 1e-4 * max(1.0, abs(unclipped)):
                _fail(name, "your images leave [0, 1]: clip x + t * direction before measuring the loss")
            if abs(got - expected * len(x)) <= 1e-3 * expected * len(x):
                _fail(name, "you summed the losses; average them over the images")
            _fail(name, f"along {label}, at t = {t}, your loss is {'too high' if got > expected else 'too low'}: "
                        "is it the cross-entropy of the logits (from_logits=True) with the given labels?")
    return _ok("loss_along matches the mean cross-entropy at clip(x + t * direction, 0, 1) along two directions "
               "and three distances")


# --------------------------------------------------------------------------- 07: the margin, and gradient masking

@_check
def check_margin(margin_loss) -> Checked:
    """Lesson 07: ``margin_loss(logits, y)`` = ``max_{j != y} Z_j - Z_y``, one value per image."""
    name = "margin"
    model = tiny_model()
    x, y = _sample("test", 64)
    y = y.copy()
    y[::4] = (y[::4] + 1) % 10                        # some misclassified cases, where the margin is positive
    for logits in (model(x).numpy(), 100.0 * model(x).numpy()):
        expected = attacks.margin(tf.constant(logits), tf.constant(y)).numpy()
        got = _array(name, _call(name, margin_loss, tf.constant(logits), tf.constant(y)), "one margin per image")
        if got.shape != expected.shape:
            _fail(name, f"your margin has shape {got.shape}; return one value per image, shape {expected.shape}")
        got = got.astype(np.float64)
        if np.allclose(got, expected, rtol=1e-5, atol=1e-4):
            continue
        if np.allclose(got, -expected, rtol=1e-5, atol=1e-4):
            _fail(name, "your sign is reversed: the margin is (best wrong logit) - (true logit), positive when the "
                        "model is fooled")
        if np.allclose(got, np.maximum(expected, 0), rtol=1e-5, atol=1e-4):
            _fail(name, "your maximum includes the true class, so the margin never goes below 0: leave the true "
                        "class out of the maximum")
        probs = tf.nn.softmax(logits).numpy()
        if np.allclose(got, attacks.margin(tf.constant(probs), tf.constant(y)).numpy(), rtol=1e-4, atol=1e-6):
            _fail(name, "you computed the margin on softmax probabilities; it must use the logits, which do not "
                        "saturate")
        _fail(name, "your margin differs from max over wrong classes of Z_j minus Z_y")
    return _ok("margin_loss matches the Carlini-Wagner margin on 64 images, with logits as they are and x100")


def _zero_share(model, x, y, scale, reduce=tf.reduce_sum):
    """Share of images whose input gradient is exactly 0 (the batch loss summed, or averaged: ``reduce``)."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = reduce(_ce_t(y, scale * model(xt, training=False)))
    g = tape.gradient(loss, xt).numpy().reshape(len(x), -1)
    return float(np.mean(np.all(g == 0, axis=1)))


@_check
def check_zero_gradients(zero_gradient_share) -> Checked:
    """Lesson 07: ``zero_gradient_share(model, x, y, scale)``: the fraction of images whose cross-entropy
    gradient (on the logits multiplied by ``scale``, as distillation at temperature ``scale`` does) with
    respect to the input is exactly zero everywhere."""
    name = "zero_gradients"
    model = tiny_model()
    x, y = _sample("test", 100)
    for scale in (1.0, 30.0, 300.0, 3000.0):
        expected = _zero_share(model, x, y, scale)
        # Averaging the loss over the batch divides the gradient by the batch size, which can turn a tiny
        # gradient into an exact 0 (float underflow): either reduction is accepted.
        also_right = _zero_share(model, x, y, scale, tf.reduce_mean)
        got = _scalar(name, _call(name, zero_gradient_share, model, x.copy(), y.copy(), scale),
                      "the fraction of images with an exactly zero gradient")
        if min(abs(got - expected), abs(got - also_right)) < 1e-9:
            continue
        if got > 1.0 + 1e-9:
            _fail(name, "return a fraction of the images (0 to 1), not a count")
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = _ce_t(y, scale * model(xt))
        g = tape.gradient(loss, xt).numpy().reshape(len(x), -1)
        if abs(got - float(np.mean(g == 0))) < 1e-9:
            _fail(name, "you counted pixels; count images whose gradient is zero at *every* pixel")
        if abs(got - float(np.mean(np.all(np.abs(g) < 1e-8, axis=1)))) < 1e-9 and got != expected:
            _fail(name, "you counted tiny gradients as zero; the point of the exercise is *exactly* zero "
                        "(a sign step of sign(0) = 0 moves nothing; a tiny gradient still has a sign)")
        if abs(got - _zero_share(model, x, y, 1.0)) < 1e-9:
            _fail(name, f"at scale {scale:g} your share does not change: multiply the logits by the scale before "
                        "the cross-entropy")
        _fail(name, f"at scale {scale:g} your share of exactly-zero gradients is "
                    f"{'too high' if got > expected else 'too low'}")
    return _ok("zero_gradient_share counts the images whose input gradient is exactly 0, at scales 1 to 3,000")


# --------------------------------------------------------------------------- 08: re-estimating BN statistics

@functools.lru_cache(maxsize=None)
def _bn_template() -> tf.keras.Model:
    return models.build_small_resnet(widths=(8, 8), name="exercise_resnet")


def _fresh_bn_model() -> tf.keras.Model:
    template = _bn_template()
    model = tf.keras.models.clone_model(template)
    model.set_weights(template.get_weights())
    return model


@_check
def check_reestimate(reestimate_by_hand) -> Checked:
    """Lesson 08: ``reestimate_by_hand(model, images)`` sets every BatchNormalization layer's moving mean and
    variance to the statistics of ``images`` (as :func:`helpers.batchnorm.reestimate` does), weights and
    momentum unchanged."""
    name = "reestimate"
    x, _ = _sample("test", 256)
    reference = _fresh_bn_model()
    batchnorm.reestimate(reference, x, batch_size=len(x))
    model = _fresh_bn_model()
    layers = batchnorm.batchnorm_layers(model)
    before_stats = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in layers]
    before_weights = [w.numpy() for w in model.trainable_weights]
    momenta = [layer.momentum for layer in layers]
    _call(name, reestimate_by_hand, model, x.copy())
    if any(not np.array_equal(a, w.numpy()) for a, w in zip(before_weights, model.trainable_weights)):
        _fail(name, "your function changed the weights: re-estimating the statistics must not train anything")
    changed_momentum = [i for i, layer in enumerate(layers) if abs(layer.momentum - momenta[i]) > 1e-12]
    wrong, unchanged, partly = [], [], []
    for i, (layer, ref_layer) in enumerate(zip(layers, batchnorm.batchnorm_layers(reference))):
        mean, var = layer.moving_mean.numpy(), layer.moving_variance.numpy()
        ref_mean, ref_var = ref_layer.moving_mean.numpy(), ref_layer.moving_variance.numpy()
        ok = (np.all(np.abs(mean - ref_mean) <= 0.02 * np.sqrt(ref_var) + 1e-4)
              and np.all(np.abs(var - ref_var) <= 0.03 * ref_var + 1e-4))
        if ok:
            continue
        wrong.append(i)
        if np.allclose(mean, before_stats[i][0]) and np.allclose(var, before_stats[i][1]):
            unchanged.append(i)
        else:
            moved = np.abs(var - before_stats[i][1]) / np.maximum(np.abs(ref_var - before_stats[i][1]), 1e-12)
            if np.median(moved) < 0.5 and np.all(np.abs(var - ref_var) < np.abs(before_stats[i][1] - ref_var)):
                partly.append(i)
    if wrong and len(unchanged) == len(layers):
        _fail(name, "no moving statistics changed: they move only in a training-mode call (training=True)")
    if wrong and len(partly) + len(unchanged) == len(wrong) and partly:
        _fail(name, "the statistics moved towards the data's but only part of the way: with momentum 0.99 a "
                    "training-mode call moves them 1%. Set the momentum to 0 for the call")
    if wrong and unchanged:
        _fail(name, f"{len(unchanged)} of the {len(layers)} BatchNormalization layers kept their old statistics: "
                    "re-estimate every layer, nested ones included (batchnorm.batchnorm_layers finds them all)")
    if wrong:
        _fail(name, f"the moving statistics of {len(wrong)} of the {len(layers)} layers differ from the data's: "
                    "use all the images in one training-mode pass")
    if changed_momentum:
        _fail(name, f"{len(changed_momentum)} layers kept the momentum you set: put every layer's momentum back "
                    "as it was, or later fine-tuning will use it")
    return _ok(f"reestimate_by_hand sets the moving statistics of all {len(layers)} BatchNormalization layers of a "
               "small test network to "
               "the data's, weights and momentum unchanged")


# --------------------------------------------------------------------------- 09: TRADES' KL term

@_check
def check_trades_kl(trades_kl) -> Checked:
    """Lesson 09: ``trades_kl(logits_clean, logits_adv)`` = batch mean of KL(softmax(clean) || softmax(adv))."""
    name = "trades_kl"
    model = tiny_model()
    x, y = _sample("test", 64)
    clean = model(x).numpy().astype(np.float64)
    adv = model(attacks.pgd(model, x, y, eps=0.1, steps=5, random_start=False).numpy()).numpy().astype(np.float64)

    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def kl(a, b):
        return (np.exp(log_softmax(a)) * (log_softmax(a) - log_softmax(b))).sum(axis=1)

    for logits_clean, logits_adv in ((clean, adv), (clean, clean[::-1].copy())):
        expected = float(kl(logits_clean, logits_adv).mean())
        got = _call(name, trades_kl, tf.constant(logits_clean, tf.float32), tf.constant(logits_adv, tf.float32))
        array = _array(name, got, "the batch mean of the KL divergence")
        if array.size == len(logits_clean) and array.size > 1:
            _fail(name, "you returned one value per image; return their mean over the batch")
        got = _scalar(name, got, "the batch mean of the KL divergence")
        if abs(got - expected) <= 1e-3 * max(1.0, abs(expected)):
            continue
        p = np.exp(log_softmax(logits_clean))
        wrong = {
            "the order is reversed: TRADES' KL is KL(clean || adversarial), the clean distribution first":
                float(kl(logits_adv, logits_clean).mean()),
            "you computed the cross-entropy; KL subtracts the clean distribution's entropy (the p log p term)":
                float(-(p * log_softmax(logits_adv)).sum(axis=1).mean()),
            "you summed over the batch; average over the images": expected * len(logits_clean),
        }
        for message, value in wrong.items():
            if abs(got - value) <= 1e-3 * max(1.0, abs(value)):
                _fail(name, message)
        _fail(name, "your value differs from KL(softmax(clean) || softmax(adversarial)) averaged over the batch: "
                    "are both softmaxes taken over the classes, on the logits?")
    return _ok("trades_kl matches the batch mean of KL(softmax(clean) || softmax(adversarial)) on 64 test images")
