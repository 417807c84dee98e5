import functools

import numpy as np
import pytest
import tensorflow as tf

from helpers import attacks, evaluation, referee


def _l2(d):
    return np.sqrt((np.asarray(d) ** 2).reshape(len(d), -1).sum(axis=1))


ATTACKS = {
    "fgsm": functools.partial(attacks.fgsm, eps=0.2),
    "fgm_l2": functools.partial(attacks.fgsm, eps=1.5, norm="2"),
    "pgd": functools.partial(attacks.pgd, eps=0.2, steps=5),
    "pgd_l2": functools.partial(attacks.pgd, eps=1.5, steps=5, norm="l2"),
    "pgd_margin_restarts": functools.partial(attacks.pgd, eps=0.2, steps=5, loss="margin", restarts=2),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_contract_ball_range_dtype_and_no_mutation(name, base_model, test_batch):
    x, y = test_batch[0][:64], test_batch[1][:64]
    before = x.copy()
    x_adv = ATTACKS[name](base_model, x, y)
    np.testing.assert_array_equal(x, before)  # input untouched
    x_adv = np.asarray(x_adv)
    assert x_adv.dtype == np.float32 and x_adv.shape == x.shape
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    eps = ATTACKS[name].keywords["eps"]
    if ATTACKS[name].keywords.get("norm", "inf") == "inf":
        assert np.abs(x_adv - x).max() <= eps + 1e-6
    else:
        assert _l2(x_adv - x).max() <= eps + 1e-4
    assert np.abs(x_adv - x).max() > 0  # it did something
    assert evaluation.accuracy(base_model, x_adv, y) < evaluation.accuracy(base_model, x, y)


def test_fgsm_matches_the_adversarial_robustness_toolbox(base_model, test_batch):
    from art.attacks.evasion import FastGradientMethod

    x, y = test_batch
    classifier = referee.art_classifier(base_model)
    for norm, eps in ((np.inf, 0.2), (2, 2.0)):
        ours = attacks.fgsm(base_model, x, y, eps=eps, norm="inf" if norm == np.inf else "2").numpy()
        theirs = FastGradientMethod(classifier, norm=norm, eps=eps, batch_size=500).generate(x, y=y)
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.slow
def test_pgd_accuracy_matches_the_adversarial_robustness_toolbox(base_model, test_batch):
    from art.attacks.evasion import ProjectedGradientDescent

    x, y = test_batch
    classifier = referee.art_classifier(base_model)
    theirs = ProjectedGradientDescent(classifier, norm=np.inf, eps=0.1, eps_step=0.01, max_iter=40,
                                      num_random_init=0, batch_size=500, verbose=False).generate(x, y=y)
    ours = attacks.pgd(base_model, x, y, eps=0.1, steps=40, step_size=0.01, random_start=False).numpy()
    acc_theirs, acc_ours = evaluation.accuracy(base_model, theirs, y), evaluation.accuracy(base_model, ours, y)
    assert abs(acc_theirs - acc_ours) <= 0.01, (acc_ours, acc_theirs)
    assert acc_ours < evaluation.accuracy(base_model, x, y) - 0.1  # the attack bites


def test_pgd_is_at_least_as_strong_as_fgsm(base_model, test_batch):
    x, y = test_batch
    fgsm_acc = evaluation.accuracy(base_model, attacks.fgsm(base_model, x, y, eps=0.2).numpy(), y)
    pgd_acc = evaluation.accuracy(base_model, attacks.pgd(base_model, x, y, eps=0.2, steps=20).numpy(), y)
    assert pgd_acc <= fgsm_acc


def test_restarts_keep_the_best_restart_per_example(base_model, test_batch):
    x, y = test_batch[0][:200], test_batch[1][:200]
    one = attacks.pgd(base_model, x, y, eps=0.15, steps=5, seed=7).numpy()
    again = attacks.pgd(base_model, x, y, eps=0.15, steps=5, seed=7).numpy()
    np.testing.assert_array_equal(one, again)  # seeded runs repeat
    five = attacks.pgd(base_model, x, y, eps=0.15, steps=5, restarts=5, seed=7).numpy()
    fooled_one = evaluation.predict_labels(base_model, one) != y
    fooled_five = evaluation.predict_labels(base_model, five) != y
    assert np.all(fooled_five[fooled_one]), "a restart must never lose an example the first restart fooled"
    assert fooled_five.sum() >= fooled_one.sum()


def test_targeted_pgd_reaches_the_target(base_model, test_batch):
    x, y = test_batch[0][:100], test_batch[1][:100]
    target = (y + 1) % 10
    x_adv = attacks.pgd(base_model, x, target, eps=0.3, steps=40, targeted=True)
    reached = np.mean(evaluation.predict_labels(base_model, x_adv.numpy()) == target)
    assert reached > 0.8


def test_labels_default_to_the_models_predictions(base_model, test_batch):
    x = test_batch[0][:32]
    predictions = evaluation.predict_labels(base_model, x)
    np.testing.assert_array_equal(attacks.fgsm(base_model, x, eps=0.1).numpy(),
                                  attacks.fgsm(base_model, x, predictions, eps=0.1).numpy())


def test_margin_is_the_carlini_wagner_margin():
    logits = tf.constant([[1.0, 5.0, 2.0], [3.0, 0.0, -1.0]])
    np.testing.assert_allclose(attacks.margin(logits, tf.constant([1, 0], tf.int64)).numpy(), [-3.0, -3.0])
    np.testing.assert_allclose(attacks.margin(logits, tf.constant([0, 2], tf.int64)).numpy(), [4.0, 4.0])


def test_the_old_name_random_init_still_works_this_release_and_says_so(base_model, test_batch):
    x, y = test_batch[0][:16], test_batch[1][:16]
    with pytest.warns(FutureWarning, match="random_init is now called random_start"):
        old = attacks.pgd(base_model, x, y, eps=0.1, steps=3, random_init=False).numpy()
    np.testing.assert_array_equal(old, attacks.pgd(base_model, x, y, eps=0.1, steps=3, random_start=False).numpy())


def test_eps_zero_changes_nothing(base_model, test_batch):
    x, y = test_batch[0][:16], test_batch[1][:16]
    np.testing.assert_array_equal(attacks.pgd(base_model, x, y, eps=0.0, steps=3).numpy(), x)


@pytest.mark.parametrize("kwargs,message", [
    ({"eps": -0.1}, "eps must be"),
    ({"eps": 0.1, "norm": "l3"}, "unknown norm"),
    ({"eps": 0.1, "steps": 0}, "steps must be"),
    ({"eps": 0.1, "restarts": 0}, "restarts must be"),
    ({"eps": 0.1, "loss": "hinge"}, "unknown loss"),
    ({"eps": 0.1, "step_size": -1.0}, "step_size"),
    ({"eps": 0.1, "restarts": 3, "random_start": False}, "random_start=True"),
])
def test_bad_arguments_are_refused(base_model, test_batch, kwargs, message):
    x, y = test_batch[0][:4], test_batch[1][:4]
    with pytest.raises(ValueError, match=message):
        attacks.pgd(base_model, x, y, **kwargs)


def test_bad_images_and_labels_are_refused(base_model, test_batch):
    x, y = test_batch[0][:4], test_batch[1][:4]
    with pytest.raises(ValueError, match="raw pixels .*divide by 255"):
        attacks.fgsm(base_model, (x * 255).astype(np.uint8), y, eps=0.1)
    with pytest.raises(ValueError, match=r"in \[0, 1\].*divide by 255"):
        attacks.fgsm(base_model, x * 255, y, eps=0.1)
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        attacks.fgsm(base_model, x, y[:3], eps=0.1)
    with pytest.raises(ValueError, match="integer class indices"):
        attacks.fgsm(base_model, x, y.astype(np.float32), eps=0.1)
    with pytest.raises(ValueError, match="targeted attack needs"):
        attacks.pgd(base_model, x, None, eps=0.1, targeted=True)


def test_robust_accuracy_runs_in_batches_and_names_its_threat_model(base_model, test_batch):
    x, y = test_batch
    attack = functools.partial(attacks.pgd, eps=0.1, steps=5)
    acc, x_adv = evaluation.robust_accuracy(base_model, x, y, attack, batch_size=128, progress=False,
                                            return_adversarial=True)
    assert x_adv.shape == x.shape and acc == evaluation.accuracy(base_model, x_adv, y)
    assert evaluation.threat_model(attack, len(x)) == "L-inf PGD, eps 0.1, 5 steps, 1 restart, 500 images"


# --------------------------------------------------------------------------- C&W L2 and EAD

CW_FAST = dict(binary_search_steps=4, max_iterations=100, learning_rate=0.05, initial_const=1.0)


def _l_norms(x, x_adv):
    delta = (x_adv - x).reshape(len(x), -1)
    return (np.sum(np.abs(delta) > 1e-6, 1), np.abs(delta).sum(1), np.sqrt((delta ** 2).sum(1)))


def test_cw_l2_finds_small_perturbations_that_fool_the_model(base_model, test_batch):
    x, y = test_batch[0][:40].copy(), test_batch[1][:40]
    before = x.copy()
    x_adv = attacks.cw_l2(base_model, x, y, **CW_FAST).numpy()
    np.testing.assert_array_equal(x, before)
    assert x_adv.dtype == np.float32 and x_adv.min() >= 0 and x_adv.max() <= 1
    fooled = evaluation.predict_labels(base_model, x_adv) != y
    assert fooled.mean() >= 0.95
    _, _, l2 = _l_norms(x, x_adv)
    pgd_l2 = _l_norms(x, attacks.pgd(base_model, x, y, eps=0.3, steps=20).numpy())[2]
    assert l2[fooled].mean() < 0.5 * pgd_l2.mean()  # C&W minimises distortion; PGD spends its budget
    np.testing.assert_array_equal(x_adv[~fooled], x[~fooled])  # failures are returned unchanged


def test_cw_l2_targeted_reaches_the_target(base_model, test_batch):
    x, y = test_batch[0][:20], test_batch[1][:20]
    target = (y + 1) % 10
    x_adv = attacks.cw_l2(base_model, x, target, targeted=True, **CW_FAST).numpy()
    assert np.mean(evaluation.predict_labels(base_model, x_adv) == target) >= 0.9


def test_cw_l2_sees_through_a_saturated_softmax(base_model, test_batch):
    x, y = test_batch[0][:20], test_batch[1][:20]
    masked = tf.keras.Sequential([base_model, tf.keras.layers.Rescaling(1e4)])
    assert evaluation.robust_accuracy(masked, x, y, functools.partial(attacks.fgsm, eps=0.1), progress=False) > 0.8
    x_adv = attacks.cw_l2(masked, x, y, **CW_FAST).numpy()
    assert np.mean(evaluation.predict_labels(masked, x_adv) != y) >= 0.95


def test_ead_is_sparser_than_cw(base_model, test_batch):
    x, y = test_batch[0][:30], test_batch[1][:30]
    x_ead = attacks.ead(base_model, x, y, beta=0.01, **CW_FAST).numpy()
    x_cw = attacks.cw_l2(base_model, x, y, **CW_FAST).numpy()
    fooled = evaluation.predict_labels(base_model, x_ead) != y
    assert fooled.mean() >= 0.9 and x_ead.min() >= 0 and x_ead.max() <= 1
    l0_ead, l1_ead, _ = _l_norms(x, x_ead)
    l0_cw, l1_cw, _ = _l_norms(x, x_cw)
    assert l0_ead[fooled].mean() < 0.5 * l0_cw[fooled].mean() and l1_ead[fooled].mean() < l1_cw[fooled].mean()


@pytest.mark.parametrize("kwargs, message", [
    (dict(binary_search_steps=0), "binary_search_steps"),
    (dict(max_iterations=2.5), "max_iterations"),
    (dict(confidence=-1.0), "confidence"),
    (dict(learning_rate=0.0), "learning_rate"),
])
def test_cw_l2_rejects_bad_arguments(base_model, test_batch, kwargs, message):
    with pytest.raises(ValueError, match=message):
        attacks.cw_l2(base_model, test_batch[0][:2], test_batch[1][:2], **kwargs)


def test_ead_rejects_bad_arguments(base_model, test_batch):
    with pytest.raises(ValueError, match="decision_rule"):
        attacks.ead(base_model, test_batch[0][:2], test_batch[1][:2], decision_rule="L2")
    with pytest.raises(ValueError, match="forget to normalise"):
        attacks.ead(base_model, test_batch[0][:2] * 255, test_batch[1][:2])


def test_random_blocks_moves_whole_squares_to_the_corners_of_the_ball():
    x = tf.fill([16, 28, 28, 1], 0.5)
    out = attacks.random_blocks(x, 0.3, blocks=3, min_side=4, max_side=6, seed=1).numpy()
    delta = out - 0.5
    # every pixel is left alone or moved by exactly eps, up or down (0.5 +- 0.3 needs no clipping)
    assert np.all(np.isclose(np.abs(delta), 0.3, atol=1e-6) | np.isclose(delta, 0.0, atol=1e-6))
    moved = np.abs(delta[..., 0]) > 0.1
    # at most three squares of side 4..6 per image, and at least one square of side >= 4 somewhere
    assert moved.sum(axis=(1, 2)).max() <= 3 * 36 and moved.sum(axis=(1, 2)).min() >= 1
    assert np.abs(delta).sum() > 0 and (delta > 0).any() and (delta < 0).any()
    # clipped to [0, 1] on real images, inside the ball
    real = tf.constant(np.random.default_rng(0).uniform(0, 1, (8, 28, 28, 1)).astype(np.float32))
    blocks = attacks.random_blocks(real, 0.3).numpy()
    assert blocks.min() >= 0 and blocks.max() <= 1 and np.abs(blocks - real.numpy()).max() <= 0.3 + 1e-6
    with pytest.raises(ValueError, match="min_side"):
        attacks.random_blocks(real, 0.3, min_side=5, max_side=4)


def test_random_blocks_squares_have_the_sides_asked_for():
    x = tf.fill([200, 28, 28, 1], 0.5)
    moved = np.abs(attacks.random_blocks(x, 0.3, blocks=1, min_side=5, max_side=5, seed=2).numpy() - 0.5)[..., 0] > 0.1
    assert np.all(moved.sum(axis=(1, 2)) == 25)           # one 5x5 square each, inside the image
    rows, cols = np.nonzero(moved[0])
    assert rows.max() - rows.min() == 4 and cols.max() - cols.min() == 4
    # the squares are placed anywhere: over 200 images every row and every column is reached
    assert moved.any(axis=(0, 2)).all() and moved.any(axis=(0, 1)).all()
    # a seed (with the global seed, as for every TensorFlow op) gives the same squares again
    tf.random.set_seed(5)
    first = attacks.random_blocks(x[:8], 0.3, seed=7).numpy()
    tf.random.set_seed(5)
    np.testing.assert_array_equal(first, attacks.random_blocks(x[:8], 0.3, seed=7).numpy())


def test_random_blocks_on_other_shapes_moves_every_channel_alike():
    x = tf.fill([50, 20, 12, 3], 0.5)               # not square, three channels, narrower than max_side
    delta = attacks.random_blocks(x, 0.2, blocks=1, min_side=10, max_side=14, seed=3).numpy() - 0.5
    assert np.all(delta[..., :1] == delta) and np.all(np.isclose(np.abs(delta), 0.2) | (delta == 0))
    moved = np.abs(delta[..., 0]) > 0.1
    heights, widths = moved.any(axis=2).sum(axis=1), moved.any(axis=1).sum(axis=1)
    # one block each, 10 to 14 rows high and as wide, but cut to the 12 columns there are
    assert np.all((heights >= 10) & (heights <= 14)) and np.all((widths >= 10) & (widths <= 12))
    assert np.all(moved.sum(axis=(1, 2)) == heights * widths)
    with pytest.raises(ValueError, match="float"):
        attacks.random_blocks(tf.zeros([1, 28, 28, 1], tf.uint8), 0.3)
