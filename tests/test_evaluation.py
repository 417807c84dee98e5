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


def test_art_referee_agrees_with_our_pgd(base_model, test_batch):
    x, y = test_batch[0][:100], test_batch[1][:100]
    ours = evaluation.robust_accuracy(base_model, x, y, functools.partial(attacks.pgd, eps=0.1, steps=40, restarts=2),
                                      progress=False)
    apgd = evaluation.art_robust_accuracy(base_model, x, y, eps=0.1, attack="apgd", max_iter=40)
    assert apgd <= ours + 0.03  # APGD is at least about as strong as our PGD
    assert ours <= apgd + 0.05  # and ours is not far weaker
    with pytest.raises(ValueError, match="unknown attack"):
        evaluation.art_robust_accuracy(base_model, x, y, eps=0.1, attack="deepfool")


def test_seed_tutorial_perturb_is_one_clipped_sign_step(base_model, test_batch):
    from helpers import config

    x, y = test_batch[0][:64], test_batch[1][:64]
    hp = config.hparams()
    perturbed = evaluation.seed_tutorial_perturb(base_model, x, y, hp)
    assert perturbed.dtype == np.float32 and perturbed.min() >= 0 and perturbed.max() <= 1
    assert np.abs(perturbed - x).max() == pytest.approx(hp.adv_step_size, abs=1e-6)
    fgsm = attacks.fgsm(base_model, x, y, eps=hp.adv_step_size).numpy()
    assert np.mean(np.isclose(perturbed, fgsm, atol=1e-5)) > 0.99  # NSL's step is FGSM of the base model
    acc = evaluation.seed_tutorial_accuracy(base_model, {"base": base_model}, x, y, hp)
    assert acc["base"] == evaluation.accuracy(base_model, perturbed, y)


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
    dead = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(),
                                tf.keras.layers.Dense(10, activation="relu", bias_initializer=tf.constant_initializer(-1e3))])
    assert evaluation.zero_gradient_fraction(dead, x, y) == 1.0
    # and one sign-gradient step of PGD leaves the ignored half exactly where it was
    x_adv = attacks.fgsm(half, x, y, eps=0.3).numpy()
    assert np.array_equal(x_adv.reshape(50, -1)[:, :392], x.reshape(50, -1)[:, :392])
    with pytest.raises(ValueError, match="loss"):
        evaluation.zero_gradient_fraction(half, x, y, loss="kl")
    with pytest.raises(ValueError, match="labels"):
        evaluation.zero_gradient_fraction(half, x, y[:10])


def test_art_square_attack_is_gradient_free_and_finds_what_a_masked_gradient_hides(base_model, test_batch):
    x, y = test_batch[0][:60], test_batch[1][:60]
    clean = evaluation.accuracy(base_model, x, y)
    square = evaluation.art_robust_accuracy(base_model, x, y, eps=0.2, attack="square", max_iter=300)
    assert square < clean - 0.3
    # behind a zero gradient (a rounding layer's), PGD cannot move from its random start; Square, which only
    # queries the model, still can
    rounded = tf.keras.Sequential([tf.keras.Input((28, 28, 1)),
                                   tf.keras.layers.Lambda(lambda t: 0.0 * t + tf.stop_gradient(tf.round(t * 4) / 4)),
                                   base_model])
    pgd = evaluation.robust_accuracy(rounded, x, y, functools.partial(attacks.pgd, eps=0.2, steps=20), progress=False)
    square_rounded = evaluation.art_robust_accuracy(rounded, x, y, eps=0.2, attack="square", max_iter=300)
    assert pgd > clean - 0.1 and square_rounded < pgd - 0.5


def test_autoattack_credits_each_image_to_the_first_of_its_attacks_that_broke_it(base_model, test_batch):
    x, y = test_batch[0][:12], test_batch[1][:12].copy()
    y[0] = (y[0] + 1) % 10                                  # one image the model gets wrong before any attack
    names = ["APGD-CE", "APGD-DLR", "DeepFool", "Square"]

    def check(model, result):
        assert list(result["found_by"]) == names and result["images"] == 12
        first = result["first_broken_by"]
        assert result["misclassified_clean"] == np.sum(first == -2) >= 1 and first[0] == -2
        assert [result["found_by"][n] for n in names] == [np.sum(first == i) for i in range(4)]
        standing = 12 - result["misclassified_clean"] - sum(result["found_by"].values())
        assert result["accuracy"] == pytest.approx(standing / 12) == pytest.approx(np.mean(first == -1))
        assert np.array_equal(evaluation.predict_labels(model, x) != y, first == -2)
        adv_right = evaluation.predict_labels(model, result["x_adv"]) == y
        assert np.array_equal(adv_right, first == -1)
        assert np.array_equal(result["x_adv"][first < 0], x[first < 0])      # left as they were
        assert np.abs(result["x_adv"] - x).max() <= 0.2 / (1 - 1e-4) + 1e-6
        assert result["x_adv"].min() >= 0 and result["x_adv"].max() <= 1

    plain = evaluation.autoattack(base_model, x, y, eps=0.2)
    check(base_model, plain)
    assert plain["found_by"]["APGD-CE"] >= 12 - plain["misclassified_clean"] - 1   # a standard CNN falls at once
    # behind a zero gradient, Auto-PGD moves only by its random starts and DeepFool not at all; Square, which
    # only queries the model, breaks what they leave
    rounded = tf.keras.Sequential([tf.keras.Input((28, 28, 1)),
                                   tf.keras.layers.Lambda(lambda t: 0.0 * t + tf.stop_gradient(tf.round(t * 4) / 4)),
                                   base_model])
    masked = evaluation.autoattack(rounded, x, y, eps=0.2)
    check(rounded, masked)
    assert masked["found_by"]["DeepFool"] == 0
    assert masked["found_by"]["APGD-CE"] + masked["found_by"]["APGD-DLR"] <= 3    # 0 of 11 when measured
    assert masked["found_by"]["Square"] >= 8                                     # 11 of 11 when measured
    with pytest.raises(ValueError, match="labels"):
        evaluation.autoattack(base_model, x, y[:5], eps=0.2)
    with pytest.raises(ValueError, match="eps"):
        evaluation.autoattack(base_model, x, y, eps=0.0)


def test_input_gradients_match_the_attack_helper(base_model, test_batch):
    x, y = test_batch[0][:30], test_batch[1][:30]
    for loss in ("ce", "margin"):
        _, expected = attacks.input_gradient(base_model, tf.constant(x), tf.constant(y), loss)
        np.testing.assert_allclose(evaluation.input_gradients(base_model, x, y, loss=loss, batch_size=8),
                                   expected.numpy(), rtol=1e-5, atol=1e-7)
