import functools

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from helpers import attacks, evaluation


def test_perturbation_norms_are_exact():
    x = np.zeros((2, 2, 2, 1), np.float32)
    x_adv = x.copy()
    x_adv[0, 0, 0, 0] = 0.3
    x_adv[0, 1, 1, 0] = -0.4
    x_adv[1, 0, 1, 0] = 0.5
    norms = evaluation.perturbation_norms(x, x_adv)
    assert norms["L0"] == pytest.approx(1.5)
    assert norms["L1"] == pytest.approx((0.7 + 0.5) / 2)
    assert norms["L2"] == pytest.approx((0.5 + 0.5) / 2)
    assert norms["Linf"] == pytest.approx((0.4 + 0.5) / 2)


def test_success_rate_counts_only_examples_that_were_right(base_model, test_batch):
    x, y = test_batch[0][:200], test_batch[1][:200]
    x_adv = attacks.pgd(base_model, x, y, eps=0.3, steps=20).numpy()
    assert evaluation.success_rate(base_model, x, x_adv, y) > 0.9
    assert evaluation.success_rate(base_model, x, x, y) == 0.0


def test_evaluate_attack_row_names_its_threat_model(base_model, test_batch):
    x, y = test_batch[0][:100], test_batch[1][:100]
    row = evaluation.evaluate_attack(base_model, x, y, functools.partial(attacks.pgd, eps=0.2, steps=5, restarts=2),
                                     progress=False)
    assert row["threat_model"] == "L-inf PGD, eps 0.2, 5 steps, 2 restarts, 100 images"
    assert row["mean_Linf"] <= 0.2 + 1e-6 and 0 <= row["accuracy"] <= 1 and row["images"] == 100


def test_accuracy_vs_epsilon_is_tidy_and_monotone_for_pgd(base_model, test_batch):
    x, y = test_batch[0][:200], test_batch[1][:200]
    table = evaluation.accuracy_vs_epsilon(
        {"base": base_model}, x, y, {"PGD-10": lambda e: functools.partial(attacks.pgd, eps=e, steps=10)},
        [0.0, 0.1, 0.2, 0.3], progress=False)
    assert list(table.columns[:4]) == ["model", "attack", "eps", "accuracy"] and len(table) == 4
    assert table.loc[table.eps == 0.0, "accuracy"].item() == evaluation.accuracy(base_model, x, y)
    assert evaluation.is_monotone(table).all()


def test_is_monotone_catches_a_rising_curve():
    table = pd.DataFrame({"model": ["m"] * 3, "attack": ["a"] * 3, "eps": [0.0, 0.1, 0.2], "accuracy": [0.9, 0.5, 0.7]})
    assert not evaluation.is_monotone(table).item()


def _masked(model):
    """The base model with logits multiplied by 10,000: the softmax saturates and cross-entropy gradients vanish."""
    return tf.keras.Sequential([model, tf.keras.layers.Rescaling(1e4)])


@pytest.mark.slow
def test_checklist_passes_on_an_honest_evaluation_and_flags_a_masked_model(base_model, test_batch):
    x, y = test_batch[0][:200], test_batch[1][:200]
    kwargs = dict(eps=0.3, steps=10, strong_steps=20, strong_restarts=2, progress=False)
    honest = evaluation.checklist(base_model, x, y, surrogate=None, **kwargs)
    assert list(honest.columns) == ["check", "passed", "numbers", "detail", "flags_masking"] and len(honest) == 6
    assert honest["passed"].all(), honest.to_string()
    assert not evaluation.gradient_masking_suspected(honest)
    masked = evaluation.checklist(_masked(base_model), x, y, surrogate=base_model, **kwargs)
    assert evaluation.gradient_masking_suspected(masked), masked.to_string()
    failed = set(masked.loc[~masked.passed, "check"])
    assert failed & {"random noise hurts no more than the attack (within the tolerance)", "white-box beats transfer"}


def test_loss_along_gradient_sign_rises_faster_than_along_random_signs(base_model, test_batch):
    x, y = test_batch[0][:100], test_batch[1][:100]
    _, grad = attacks.input_gradient(base_model, tf.constant(x), tf.constant(y))
    random = np.random.default_rng(0).choice([-1.0, 1.0], size=x.shape).astype(np.float32)
    steps = [0.0, 0.1, 0.2]
    along_gradient = evaluation.loss_along_direction(base_model, x, y, np.sign(grad.numpy()), steps)
    along_random = evaluation.loss_along_direction(base_model, x, y, random, steps)
    assert along_gradient[0] == pytest.approx(along_random[0])
    assert np.all(np.diff(along_gradient) > 0) and along_gradient[-1] > 3 * along_random[-1]
    with pytest.raises(ValueError, match="direction has shape"):
        evaluation.loss_along_direction(base_model, x, y, random[:5], steps)


def test_attack_report_measures_success_and_distortion_of_successful_examples(base_model, test_batch):
    x, y = test_batch[0][:60], test_batch[1][:60]
    report = evaluation.attack_report(base_model, x, y, {
        "nothing": lambda m, xb, yb: xb,
        "PGD eps 0.3": functools.partial(attacks.pgd, eps=0.3, steps=10)}, progress=False)
    assert list(report["attack"]) == ["nothing", "PGD eps 0.3"]
    nothing, pgd = report.iloc[0], report.iloc[1]
    assert nothing["success_rate"] == 0.0 and np.isnan(nothing["mean_L2"])
    assert pgd["success_rate"] > 0.9 and pgd["mean_Linf"] <= 0.3 + 1e-6
    assert pgd["images"] == int(np.sum(evaluation.predict_labels(base_model, x) == y))


def test_survivors_agree_with_robust_accuracy(base_model, test_batch):
    x, y = test_batch[0][:100], test_batch[1][:100]
    attack = functools.partial(attacks.fgsm, eps=0.1)
    alive = evaluation.survivors(base_model, x, y, attack)
    assert alive.shape == (100,) and alive.dtype == bool
    assert alive.mean() == evaluation.robust_accuracy(base_model, x, y, attack, progress=False)


def test_zero_gradient_fraction_counts_the_pixels_a_sign_attack_cannot_move(test_batch):
    x, y = test_batch[0][:50], test_batch[1][:50]
    weights = np.random.default_rng(0).normal(size=(784, 10)).astype(np.float32)
    weights[:392] = 0.0                                 # the top half of every image is ignored
    half = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(),
                                tf.keras.layers.Dense(10, kernel_initializer=tf.constant_initializer(weights))])
    assert evaluation.zero_gradient_fraction(half, x, y) == pytest.approx(0.5)
    assert evaluation.zero_gradient_fraction(half, x, y, loss="margin", batch_size=7) == pytest.approx(0.5)
    # a ReLU that never fires passes no gradient at all
    never_fires = tf.keras.layers.Dense(10, activation="relu", bias_initializer=tf.constant_initializer(-1e3))
    dead = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(), never_fires])
    assert evaluation.zero_gradient_fraction(dead, x, y) == 1.0
    # and one sign-gradient step of PGD leaves the ignored half exactly where it was
    x_adv = attacks.fgsm(half, x, y, eps=0.3).numpy()
    assert np.array_equal(x_adv.reshape(50, -1)[:, :392], x.reshape(50, -1)[:, :392])
    with pytest.raises(ValueError, match="loss"):
        evaluation.zero_gradient_fraction(half, x, y, loss="kl")
    with pytest.raises(ValueError, match="labels"):
        evaluation.zero_gradient_fraction(half, x, y[:10])


def test_input_gradients_match_the_attack_helper(base_model, test_batch):
    x, y = test_batch[0][:30], test_batch[1][:30]
    for loss in ("ce", "margin"):
        _, expected = attacks.input_gradient(base_model, tf.constant(x), tf.constant(y), loss)
        np.testing.assert_allclose(evaluation.input_gradients(base_model, x, y, loss=loss, batch_size=8),
                                   expected.numpy(), rtol=1e-5, atol=1e-7)


def _pixel_classifier(x, training=False):
    """A stand-in model: the class is round(9 * the top-left pixel), as one-hot logits."""
    return tf.one_hot(tf.cast(tf.round(tf.convert_to_tensor(x)[:, 0, 0, 0] * 9), tf.int32), 10)


def test_strongest_pgd_keeps_an_image_only_if_it_survives_every_loss(monkeypatch):
    n = 12
    y = np.arange(n) % 10
    x = np.zeros((n, 28, 28, 1), np.float32)
    x[:, 0, 0, 0] = y / 9
    broken_by = {"ce": np.arange(n) % 2 == 0, "margin": np.arange(n) % 3 == 0}   # each loss breaks other images
    calls = []

    def fake_pgd(model, xb, yb, *, eps, steps, restarts, loss):
        calls.append((loss, eps, steps, restarts))
        out = np.array(xb)
        out[broken_by[loss], 0, 0, 0] = ((yb[broken_by[loss]] + 1) % 10) / 9
        return out

    monkeypatch.setattr(attacks, "pgd", fake_pgd)
    result = evaluation.strongest_pgd(_pixel_classifier, x, y, eps=0.3, progress=False)
    assert calls == [("ce", 0.3, 100, 5), ("margin", 0.3, 100, 5)]                  # the protocol, in that order
    for loss in ("ce", "margin"):
        assert result.survivors[loss].dtype == bool and result.survivors[loss].shape == (n,)
        np.testing.assert_array_equal(result.survivors[loss], ~broken_by[loss])
    np.testing.assert_array_equal(result.worst, ~broken_by["ce"] & ~broken_by["margin"])
    assert 0 < result.worst.sum() < min(result.survivors["ce"].sum(), result.survivors["margin"].sum())
    assert result.accuracy == pytest.approx(4 / 12)
    assert result.threat_model() == ("L-inf PGD, eps 0.3, 100 steps of 2.5·eps/100, 5 restarts, CE and margin losses, "
                                     "per-image worst case, 12 images")
    one = evaluation.strongest_pgd(_pixel_classifier, x, y, eps=0.1, steps=7, restarts=1, losses=("margin",),
                                   progress=False)
    assert list(one.survivors) == ["margin"] and np.array_equal(one.worst, one.survivors["margin"])
    assert one.threat_model() == "L-inf PGD, eps 0.1, 7 steps of 2.5·eps/7, 1 restart, margin loss, 12 images"


def test_strongest_pgd_is_pgd_on_each_loss_and_the_margin_sees_through_a_saturated_softmax(base_model, test_batch):
    x, y = test_batch[0][:60], test_batch[1][:60]
    masked = _masked(base_model)
    tf.random.set_seed(1)
    result = evaluation.strongest_pgd(masked, x, y, eps=0.2, steps=10, restarts=2, progress=False)
    tf.random.set_seed(1)
    by_hand = {loss: evaluation.survivors(masked, x, y, functools.partial(attacks.pgd, eps=0.2, steps=10, restarts=2,
                                                                          loss=loss)) for loss in ("ce", "margin")}
    for loss in ("ce", "margin"):
        np.testing.assert_array_equal(result.survivors[loss], by_hand[loss])
    np.testing.assert_array_equal(result.worst, by_hand["ce"] & by_hand["margin"])
    assert result.survivors["ce"].mean() > result.survivors["margin"].mean() + 0.3   # CE's gradient is hidden


@pytest.mark.parametrize("kwargs, words", [
    ({"eps": 0.0}, "eps must be > 0"), ({"eps": float("nan")}, "eps must be > 0"),
    ({"eps": 0.3, "steps": 0}, "steps must be an integer >= 1"),
    ({"eps": 0.3, "restarts": 1.5}, "restarts must be an integer >= 1"),
    ({"eps": 0.3, "losses": ()}, "losses must be distinct names among ce, margin"),
    ({"eps": 0.3, "losses": ("ce", "ce")}, "losses must be distinct"),
    ({"eps": 0.3, "losses": ("kl",)}, "losses must be distinct names among ce, margin, got \\('kl',\\)")])
def test_strongest_pgd_refuses_bad_settings_before_attacking(kwargs, words):
    x = np.zeros((4, 28, 28, 1), np.float32)
    y = np.zeros(4, int)
    with pytest.raises(ValueError, match=f"evaluation.strongest_pgd: {words}"):
        evaluation.strongest_pgd(_pixel_classifier, x, y, progress=False, **kwargs)
    with pytest.raises(ValueError, match=words):
        evaluation.strongest_pgd_threat_model(n_images=4, **kwargs)
    with pytest.raises(ValueError, match="evaluation.strongest_pgd: 4 images but 3 labels"):
        evaluation.strongest_pgd(_pixel_classifier, x, y[:3], eps=0.3)
