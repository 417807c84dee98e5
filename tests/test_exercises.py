"""Every exercise check accepts the reference solution and rejects deliberately wrong ones with the right words.

The right solutions here are the ones in the lessons (between ``### BEGIN SOLUTION`` and ``### END SOLUTION``);
each wrong one is a mistake a student makes (the GradientTape article's raw gradient, a reversed sign, no clipping, an
untargeted attack for a targeted one, ...). A last group checks ``tools/student_version.py``.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from helpers import attacks, batchnorm, exercises

REPO = Path(__file__).resolve().parent.parent
CE = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def rejects(check, fn, *words):
    """``check(fn)`` must raise ExerciseError whose message contains every one of ``words``."""
    with pytest.raises(exercises.ExerciseError) as info:
        check(fn)
    message = str(info.value)
    for word in words:
        assert word in message, f"expected {word!r} in the message: {message}"
    return message


def input_gradient(model, x, y, scale=1.0):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = CE(y, scale * model(x, training=False))
    return x, tape.gradient(loss, x)


# --------------------------------------------------------------------------- hints and plumbing

def test_hints_exist_for_every_check_and_refuse_unknown_names(capsys):
    checks = {name[len("check_"):] for name in exercises.__all__ if name.startswith("check_")}
    assert checks == set(exercises.HINTS)
    assert "sign" in exercises.hint("fgsm", 2)
    assert "hint 2/3" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no exercise"):
        exercises.hint("nope")
    with pytest.raises(ValueError, match="hints 1 to"):
        exercises.hint("fgsm", 9)


def test_an_unwritten_solution_is_waited_for_and_a_crashing_one_gets_a_plain_message(capsys):
    def unwritten(images):
        raise NotImplementedError("your code here")

    assert not exercises.check_normalize(unwritten)          # a student's copy runs on past open exercises
    said = capsys.readouterr().out
    assert "normalize: not written yet" in said and "exercises.hint('normalize')" in said
    rejects(exercises.check_normalize, lambda images: images.nope, "raised AttributeError")
    rejects(exercises.check_normalize, lambda images: None, "returned None")


def test_a_failed_check_renders_as_one_line_not_the_checkers_traceback(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    message = rejects(exercises.check_normalize, lambda im: im.astype(np.float32), "above 1")
    capsys.readouterr()
    shell = InteractiveShell.instance()
    shell.user_ns.update(exercises=exercises, np=np)
    result = shell.run_cell("exercises.check_normalize(lambda im: im.astype(np.float32))")
    shown = capsys.readouterr().out
    assert isinstance(result.error_in_exec, exercises.ExerciseError)
    assert "✗ " + message.splitlines()[0] in shown
    assert "Traceback" not in shown and "exercises.py" not in shown and "_fail(" not in shown


@pytest.mark.parametrize("mistake, fix", [
    ("numpy_watch", "tape.watch() needs a TensorFlow tensor"),
    ("no_watch", "a gradient is None"),
    ("float64", "float32 and float64 were mixed"),
])
def test_common_tensorflow_mistakes_are_translated_into_their_fix(mistake, fix):
    model = exercises.tiny_model()

    def numpy_watch(model, x, y, eps):
        with tf.GradientTape() as tape:
            tape.watch(x)                                   # x is a NumPy array
            loss = CE(y, model(x))
        return x + eps * tf.sign(tape.gradient(loss, x))

    def no_watch(model, x, y, eps):
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            loss = CE(y, model(x))
        return tf.clip_by_value(x + eps * tf.sign(tape.gradient(loss, x)), 0, 1)

    def float64(model, x, y, eps):
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = CE(y, model(x))
        return x + tf.constant(np.float64(eps)) * tf.sign(tape.gradient(loss, x))

    assert model is not None
    message = rejects(exercises.check_fgsm, locals()[mistake], "your function raised", "the fix:")
    assert fix in message


# --------------------------------------------------------------------------- 01

def test_normalize(capsys):
    assert exercises.check_normalize(lambda im: im.astype(np.float32) / 255.0)
    assert capsys.readouterr().out.startswith("✓")
    rejects(exercises.check_normalize, lambda im: im.astype(np.float32), "above 1")
    rejects(exercises.check_normalize, lambda im: im.astype(np.float32) / 255.0 / 255.0, "twice")
    rejects(exercises.check_normalize, lambda im: im / 255.0, "float64")
    rejects(exercises.check_normalize, lambda im: im[..., 0].astype(np.float32) / 255, "channel axis")
    rejects(exercises.check_normalize,
            lambda im: im.astype(np.float32) / np.maximum(im.max(axis=(1, 2, 3), keepdims=True), 1), "its own")
    rejects(exercises.check_normalize, lambda im: im.astype(np.float32) / 127.5 - 1.0, "negative")


# --------------------------------------------------------------------------- 02

def test_accuracy():
    def right(model, x, y):
        return np.mean(np.argmax(model(x).numpy(), axis=-1) == y)

    assert exercises.check_accuracy(right)
    rejects(exercises.check_accuracy, lambda m, x, y: np.sum(np.argmax(m(x).numpy(), -1) == y), "count")
    rejects(exercises.check_accuracy, lambda m, x, y: np.mean(np.max(tf.nn.softmax(m(x)), -1) > 0.5), "axis=-1")
    rejects(exercises.check_accuracy, lambda m, x, y: 0.9, "own predictions")


# --------------------------------------------------------------------------- 03

def fgsm_right(model, x, y, eps):
    x, g = input_gradient(model, x, y)
    return tf.clip_by_value(x + eps * tf.sign(g), 0.0, 1.0)


def test_fgsm():
    assert exercises.check_fgsm(fgsm_right)

    def raw_gradient(model, x, y, eps):               # the GradientTape article's mistake
        x, g = input_gradient(model, x, y)
        return tf.clip_by_value(x + eps * g, 0.0, 1.0)

    def scaled_gradient(model, x, y, eps):            # the raw gradient scaled to the same L-inf size
        x, g = input_gradient(model, x, y)
        return tf.clip_by_value(x + eps * g / tf.reduce_max(tf.abs(g)), 0.0, 1.0)

    def wrong_sign(model, x, y, eps):
        x, g = input_gradient(model, x, y)
        return tf.clip_by_value(x - eps * tf.sign(g), 0.0, 1.0)

    def no_clip(model, x, y, eps):
        x, g = input_gradient(model, x, y)
        return x + eps * tf.sign(g)

    def other_labels(model, x, y, eps):
        return fgsm_right(model, x, (y + 1) % 10, eps)

    rejects(exercises.check_fgsm, raw_gradient, "less than eps", "sign")
    rejects(exercises.check_fgsm, scaled_gradient, "less than eps")
    rejects(exercises.check_fgsm, wrong_sign, "against the gradient")
    rejects(exercises.check_fgsm, no_clip, "[0, 1]")
    rejects(exercises.check_fgsm, other_labels, "labels y")
    rejects(exercises.check_fgsm, lambda m, x, y, eps: x, "did not move")
    rejects(exercises.check_fgsm, lambda m, x, y, eps: np.clip(x + 2 * eps * np.sign(fgsm_right(m, x, y, eps) - x),
                                                               0, 1), "more than eps")


def smallest_right(model, x, y, epsilons):
    for eps in epsilons:
        if np.argmax(model(attacks.fgsm(model, x, y, eps=eps)).numpy(), -1)[0] != y[0]:
            return eps
    return None


def test_smallest_eps():
    assert exercises.check_smallest_eps(smallest_right)

    def largest(model, x, y, epsilons):
        return smallest_right(model, x, y, epsilons[::-1]) if smallest_right(model, x, y, epsilons) else None

    def last_still_right(model, x, y, epsilons):       # an off-by-one: the last epsilon before the flip
        found = smallest_right(model, x, y, epsilons)
        return None if found is None else epsilons[max(epsilons.index(found) - 1, 0)]

    rejects(exercises.check_smallest_eps, largest, "smaller epsilon")
    rejects(exercises.check_smallest_eps, last_still_right, "does not change the prediction")
    rejects(exercises.check_smallest_eps, lambda m, x, y, e: None, "returned None")
    rejects(exercises.check_smallest_eps, lambda m, x, y, e: 0.123, "one of the epsilons")
    rejects(exercises.check_smallest_eps, lambda m, x, y, e: e[-1], "smaller epsilon")


def targeted_right(model, x, target, eps, steps, step_size):
    x = tf.constant(x)
    x_adv = x
    for _ in range(steps):
        _, g = input_gradient(model, x_adv, target)
        x_adv = tf.clip_by_value(x_adv - step_size * tf.sign(g), x - eps, x + eps)
        x_adv = tf.clip_by_value(x_adv, 0.0, 1.0)
    return x_adv


def test_targeted_pgd():
    assert exercises.check_targeted_pgd(targeted_right)

    def untargeted(model, x, target, eps, steps, step_size):
        x = tf.constant(x)
        x_adv = x
        for _ in range(steps):
            _, g = input_gradient(model, x_adv, target)
            x_adv = tf.clip_by_value(tf.clip_by_value(x_adv + step_size * tf.sign(g), x - eps, x + eps), 0, 1)
        return x_adv

    def no_projection(model, x, target, eps, steps, step_size):
        x_adv = tf.constant(x)
        for _ in range(steps):
            _, g = input_gradient(model, x_adv, target)
            x_adv = tf.clip_by_value(x_adv - step_size * tf.sign(g), 0.0, 1.0)
        return x_adv

    def one_small_step(model, x, target, eps, steps, step_size):
        return targeted_right(model, x, target, eps, 1, step_size / 10)

    rejects(exercises.check_targeted_pgd, untargeted, "untargeted")
    rejects(exercises.check_targeted_pgd, no_projection, "eps")
    rejects(exercises.check_targeted_pgd, one_small_step, "fewer images")


# --------------------------------------------------------------------------- 04

def adversarial_loss_right(model, x, y, eps, mix):
    x_adv = attacks.fgsm(model, x, y, eps=eps)
    return mix * CE(y, model(x_adv)) + (1 - mix) * CE(y, model(x))


def test_adversarial_loss():
    assert exercises.check_adversarial_loss(adversarial_loss_right)

    def raw(model, x, y, eps, mix):
        xt, g = input_gradient(model, x, y)
        return mix * CE(y, model(tf.clip_by_value(xt + eps * g, 0, 1))) + (1 - mix) * CE(y, model(x))

    rejects(exercises.check_adversarial_loss, lambda m, x, y, eps, mix: adversarial_loss_right(m, x, y, eps, 1 - mix),
            "swapped")
    rejects(exercises.check_adversarial_loss, raw, "raw gradient")
    rejects(exercises.check_adversarial_loss, lambda m, x, y, eps, mix: adversarial_loss_right(m, x, y, eps, 1.0),
            "only the adversarial")
    rejects(exercises.check_adversarial_loss,
            lambda m, x, y, eps, mix: adversarial_loss_right(m, x, y, eps, mix) * len(x), "average")
    rejects(exercises.check_adversarial_loss,
            lambda m, x, y, eps, mix: adversarial_loss_right(m, x, y, 2 * eps, mix), "too")


# --------------------------------------------------------------------------- 05

def test_worst_case():
    assert exercises.check_worst_case(lambda s: np.logical_and.reduce(list(s.values())).mean())
    rejects(exercises.check_worst_case, lambda s: min(v.mean() for v in s.values()), "different attacks break")
    rejects(exercises.check_worst_case, lambda s: np.logical_or.reduce(list(s.values())).mean(), "any")
    rejects(exercises.check_worst_case, lambda s: np.mean([v.mean() for v in s.values()]), "averaged")


# --------------------------------------------------------------------------- 06

def loss_along_right(model, x, y, direction, t):
    return float(tf.reduce_mean(CE(y, model(np.clip(x + t * direction, 0, 1)))))


def test_loss_along():
    assert exercises.check_loss_along(loss_along_right)
    rejects(exercises.check_loss_along,
            lambda m, x, y, d, t: float(tf.reduce_mean(CE(y, m(x + np.float32(t) * d)))), "clip")
    rejects(exercises.check_loss_along,
            lambda m, x, y, d, t: loss_along_right(m, x, y, d, t) * len(x), "summed")
    rejects(exercises.check_loss_along,
            lambda m, x, y, d, t: float(tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
                y, m(np.clip(x + t * d, 0, 1)), from_logits=False))), "from_logits")


# --------------------------------------------------------------------------- 07

def margin_right(logits, y):
    one_hot = tf.one_hot(y, logits.shape[-1])
    return tf.reduce_max(logits - 1e9 * one_hot, axis=-1) - tf.reduce_sum(logits * one_hot, axis=-1)


def test_margin():
    assert exercises.check_margin(margin_right)
    rejects(exercises.check_margin, lambda z, y: -margin_right(z, y), "reversed")
    rejects(exercises.check_margin,
            lambda z, y: tf.reduce_max(z, -1) - tf.reduce_sum(z * tf.one_hot(y, 10), -1), "includes the true class")
    rejects(exercises.check_margin, lambda z, y: margin_right(tf.nn.softmax(z), y), "softmax")
    rejects(exercises.check_margin, lambda z, y: tf.reduce_mean(margin_right(z, y)), "one value per image")


def zero_share_right(model, x, y, scale):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.keras.losses.sparse_categorical_crossentropy(y, scale * model(x), from_logits=True))
    return np.mean(np.all(tape.gradient(loss, x).numpy().reshape(len(x), -1) == 0, axis=1))


def test_zero_gradients():
    assert exercises.check_zero_gradients(zero_share_right)

    def with_mean_loss(model, x, y, scale):            # Keras' default reduction: also accepted
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(CE(y, scale * model(x)))
        return np.mean(np.all(tape.gradient(loss, x).numpy().reshape(len(x), -1) == 0, axis=1))

    assert exercises.check_zero_gradients(with_mean_loss)

    def per_pixel(model, x, y, scale):
        _, g = input_gradient(model, x, y, scale)
        return np.mean(g.numpy() == 0)

    def tiny_is_zero(model, x, y, scale):
        _, g = input_gradient(model, x, y, scale)
        return np.mean(np.all(np.abs(g.numpy().reshape(len(x), -1)) < 1e-3, axis=1))

    rejects(exercises.check_zero_gradients, per_pixel, "pixels")
    rejects(exercises.check_zero_gradients, tiny_is_zero, "too high")
    rejects(exercises.check_zero_gradients, lambda m, x, y, s: zero_share_right(m, x, y, 1.0), "multiply the logits")
    rejects(exercises.check_zero_gradients, lambda m, x, y, s: zero_share_right(m, x, y, s) * len(x), "count")


# --------------------------------------------------------------------------- 08

def reestimate_right(model, images):
    momenta = [layer.momentum for layer in batchnorm.batchnorm_layers(model)]
    batchnorm.set_momentum(model, 0.0)
    model(images, training=True)
    for layer, momentum in zip(batchnorm.batchnorm_layers(model), momenta):
        layer.momentum = momentum


def test_reestimate():
    assert exercises.check_reestimate(reestimate_right)
    assert exercises.check_reestimate(lambda model, images: batchnorm.reestimate(model, images, batch_size=128))

    def default_momentum(model, images):               # one training-mode call: the statistics move 1%
        model(images, training=True)

    def first_layer_only(model, images):
        layers = batchnorm.batchnorm_layers(model)
        before = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in layers]
        reestimate_right(model, images)
        for layer, (mean, var) in zip(layers[1:], before[1:]):
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(var)

    def momentum_left_at_zero(model, images):
        batchnorm.set_momentum(model, 0.0)
        model(images, training=True)

    def trains(model, images):
        reestimate_right(model, images)
        model.trainable_weights[0].assign_add(tf.ones_like(model.trainable_weights[0]) * 1e-3)

    def last_small_batch(model, images):              # momentum 0, but batch after batch: only the last counts
        momenta = [layer.momentum for layer in batchnorm.batchnorm_layers(model)]
        batchnorm.set_momentum(model, 0.0)
        for start in range(0, len(images), 8):
            model(images[start:start + 8], training=True)
        for layer, momentum in zip(batchnorm.batchnorm_layers(model), momenta):
            layer.momentum = momentum

    rejects(exercises.check_reestimate, lambda model, images: None, "no moving statistics changed")
    rejects(exercises.check_reestimate, lambda model, images: model(images, training=False),
            "no moving statistics changed")
    rejects(exercises.check_reestimate, default_momentum, "part of the way")
    rejects(exercises.check_reestimate, first_layer_only, "kept their old statistics")
    rejects(exercises.check_reestimate, momentum_left_at_zero, "momentum")
    rejects(exercises.check_reestimate, trains, "changed the weights")
    rejects(exercises.check_reestimate, last_small_batch, "differ from the data's")


# --------------------------------------------------------------------------- 09

def trades_kl_right(logits_clean, logits_adv):
    p = tf.nn.softmax(logits_clean)
    return tf.reduce_mean(tf.reduce_sum(p * (tf.nn.log_softmax(logits_clean) - tf.nn.log_softmax(logits_adv)), -1))


def test_trades_kl():
    assert exercises.check_trades_kl(trades_kl_right)
    rejects(exercises.check_trades_kl, lambda a, b: trades_kl_right(b, a), "reversed")
    rejects(exercises.check_trades_kl,
            lambda a, b: tf.reduce_mean(-tf.reduce_sum(tf.nn.softmax(a) * tf.nn.log_softmax(b), -1)), "cross-entropy")
    rejects(exercises.check_trades_kl, lambda a, b: trades_kl_right(a, b) * a.shape[0], "summed")
    rejects(exercises.check_trades_kl,
            lambda a, b: tf.reduce_sum(tf.nn.softmax(a) * (tf.nn.log_softmax(a) - tf.nn.log_softmax(b)), -1),
            "one value per image")
    rejects(exercises.check_trades_kl,
            lambda a, b: tf.reduce_mean(tf.reduce_sum(a * (a - b), -1)), "softmax")


# ----------------------------------------------------------------- the solutions in the lessons, and the stripper

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_ends_with_a_checked_coding_exercise(path):
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    headings = [i for i, s in enumerate(sources) if s.lstrip().startswith("## Exercises") or "\n## Exercises" in s]
    assert headings, f"{path.name} has no ## Exercises section"
    after = [c for c in cells[headings[-1]:] if c["cell_type"] == "code"]
    solved = ["".join(c["source"]) for c in after if "### BEGIN SOLUTION" in "".join(c["source"])]
    assert solved, f"{path.name}: no exercise solution between nbgrader's markers"
    assert all("### END SOLUTION" in s and "exercises.check_" in s for s in solved), \
        f"{path.name}: every solved exercise ends its solution and calls its check"


def test_student_version_removes_solutions_and_keeps_everything_else(tmp_path):
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": "## Exercises\n\n1. Write FGSM."},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 3,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "secret output"}],
         "source": ("def my_fgsm(model, x, y, eps):\n"
                    "    \"\"\"Your FGSM.\"\"\"\n"
                    "    ### BEGIN SOLUTION\n"
                    "    return the_answer(x)\n"
                    "    ### END SOLUTION\n"
                    "\n"
                    "exercises.check_fgsm(my_fgsm)\n")},
        {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "print('untouched')"},
    ]}
    source = tmp_path / "lesson.ipynb"
    source.write_text(json.dumps(notebook))
    out = tmp_path / "student"
    subprocess.run([sys.executable, str(REPO / "tools" / "student_version.py"), str(source), "--output", str(out)],
                   check=True, capture_output=True, text=True)
    written = json.loads((out / "lesson.ipynb").read_text())
    cells = written["cells"]
    code = "".join(cells[1]["source"])
    assert "the_answer" not in code and "SOLUTION" not in code
    assert '    raise NotImplementedError("your code here")' in code
    assert '"""Your FGSM."""' in code and "exercises.check_fgsm(my_fgsm)" in code
    assert cells[1]["outputs"] == [] and cells[1]["execution_count"] is None
    assert [c["id"] for c in cells] == ["a", "b", "c"]
    assert "".join(cells[0]["source"]) == "## Exercises\n\n1. Write FGSM."
    assert "".join(cells[2]["source"]) == "print('untouched')"


def test_student_version_keeps_a_students_work_when_asked(tmp_path):
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n"}]}
    source = tmp_path / "lesson.ipynb"
    source.write_text(json.dumps(notebook))
    out = tmp_path / "student"
    out.mkdir()
    (out / "lesson.ipynb").write_text("a student's work")
    tool = [sys.executable, str(REPO / "tools" / "student_version.py"), str(source), "--output", str(out)]
    result = subprocess.run([*tool, "--keep"], check=True, capture_output=True, text=True)
    assert "kept" in result.stdout and (out / "lesson.ipynb").read_text() == "a student's work"
    assert (out / "rise.css").is_file(), "the slides' styles travel with the copies"
    subprocess.run(tool, check=True, capture_output=True, text=True)      # without --keep: a fresh copy
    assert "NotImplementedError" in (out / "lesson.ipynb").read_text()


def test_student_version_refuses_an_unclosed_solution(tmp_path):
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "### BEGIN SOLUTION\nx = 1\n"}]}
    source = tmp_path / "lesson.ipynb"
    source.write_text(json.dumps(notebook))
    result = subprocess.run([sys.executable, str(REPO / "tools" / "student_version.py"), str(source),
                             "--output", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode != 0 and "END SOLUTION" in result.stderr


def test_student_versions_of_the_lessons_have_no_solution_left(tmp_path):
    subprocess.run([sys.executable, str(REPO / "tools" / "student_version.py"), *map(str, NOTEBOOKS),
                    "--output", str(tmp_path)], check=True, capture_output=True, text=True)
    for path in NOTEBOOKS:
        student = json.loads((tmp_path / path.name).read_text())
        original = json.loads(path.read_text())
        assert len(student["cells"]) == len(original["cells"])
        lines = [line.strip() for cell in student["cells"] for line in "".join(cell["source"]).splitlines()]
        assert "### BEGIN SOLUTION" not in lines and "### END SOLUTION" not in lines   # prose may name them
        assert 'raise NotImplementedError("your code here")' in lines


def test_hints_grow_and_the_last_one_is_not_the_answer_line():
    import ast

    for name, hints in exercises.HINTS.items():
        assert len(hints) >= 2, f"{name}: one hint is not a step"
        for text in hints:
            try:
                ast.parse(text)
            except SyntaxError:
                continue                                   # prose, as a hint should be
            raise AssertionError(f"{name}: a hint that is a line of Python, the answer typed out: {text!r}")


def test_a_hint_as_a_cells_last_line_shows_once(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.update(exercises=exercises)
    shell.run_cell("exercises.hint('fgsm', 3)")
    shown = capsys.readouterr().out
    assert shown.count("hint 3/3 for 'fgsm'") == 1
