import functools

import numpy as np
import pytest
import tensorflow as tf

from helpers import attacks, evaluation, referee


def _rounded(model):
    """``model`` behind a rounding layer whose gradient is 0 everywhere: PGD cannot move from its random start."""
    return tf.keras.Sequential([tf.keras.Input((28, 28, 1)),
                                tf.keras.layers.Lambda(lambda t: 0.0 * t + tf.stop_gradient(tf.round(t * 4) / 4)),
                                model])


@pytest.mark.slow
def test_art_referee_agrees_with_our_pgd(base_model, test_batch):
    x, y = test_batch[0][:100], test_batch[1][:100]
    ours = evaluation.robust_accuracy(base_model, x, y, functools.partial(attacks.pgd, eps=0.1, steps=40, restarts=2),
                                      progress=False)
    apgd = referee.robust_accuracy(base_model, x, y, eps=0.1, attack="apgd", max_iter=40)
    assert apgd <= ours + 0.03  # APGD is at least about as strong as our PGD
    assert ours <= apgd + 0.05  # and ours is not far weaker
    with pytest.raises(ValueError, match="unknown attack"):
        referee.robust_accuracy(base_model, x, y, eps=0.1, attack="deepfool")


@pytest.mark.slow
def test_art_square_attack_is_gradient_free_and_finds_what_a_masked_gradient_hides(base_model, test_batch):
    x, y = test_batch[0][:60], test_batch[1][:60]
    clean = evaluation.accuracy(base_model, x, y)
    square = referee.robust_accuracy(base_model, x, y, eps=0.2, attack="square", max_iter=300)
    assert square < clean - 0.3
    # behind a zero gradient (a rounding layer's), PGD cannot move from its random start; Square, which only
    # queries the model, still can
    rounded = _rounded(base_model)
    pgd = evaluation.robust_accuracy(rounded, x, y, functools.partial(attacks.pgd, eps=0.2, steps=20), progress=False)
    square_rounded = referee.robust_accuracy(rounded, x, y, eps=0.2, attack="square", max_iter=300)
    assert pgd > clean - 0.1 and square_rounded < pgd - 0.5


@pytest.mark.slow
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

    plain = referee.autoattack(base_model, x, y, eps=0.2)
    check(base_model, plain)
    assert plain["found_by"]["APGD-CE"] >= 12 - plain["misclassified_clean"] - 1   # a standard CNN falls at once
    # behind a zero gradient, Auto-PGD moves only by its random starts and DeepFool not at all; Square, which
    # only queries the model, breaks what they leave
    rounded = _rounded(base_model)
    masked = referee.autoattack(rounded, x, y, eps=0.2)
    check(rounded, masked)
    assert masked["found_by"]["DeepFool"] == 0
    assert masked["found_by"]["APGD-CE"] + masked["found_by"]["APGD-DLR"] <= 3    # 0 of 11 when measured
    assert masked["found_by"]["Square"] >= 8                                     # 11 of 11 when measured
    with pytest.raises(ValueError, match="labels"):
        referee.autoattack(base_model, x, y[:5], eps=0.2)
    with pytest.raises(ValueError, match="eps"):
        referee.autoattack(base_model, x, y, eps=0.0)


def test_referee_refuses_bad_settings_before_running(base_model, test_batch):
    x, y = test_batch[0][:8], test_batch[1][:8]
    for kwargs, words in (({"eps": 0.0}, "eps must be > 0"), ({"eps": float("nan")}, "eps must be > 0"),
                          ({"eps": 0.1, "max_iter": 0}, "max_iter and restarts"),
                          ({"eps": 0.1, "restarts": 1.5}, "max_iter and restarts"),
                          ({"eps": 0.1, "attack": "fgsm"}, "unknown attack 'fgsm'; use one of apgd, autoattack")):
        with pytest.raises(ValueError, match=f"referee.robust_accuracy: {words}"):
            referee.robust_accuracy(base_model, x, y, **kwargs)


def test_art_classifier_is_the_model_with_its_logits_and_gradients(base_model, test_batch):
    x, y = test_batch[0][:16], test_batch[1][:16]
    classifier = referee.art_classifier(base_model)
    np.testing.assert_allclose(classifier.predict(x), base_model(x).numpy(), rtol=1e-5, atol=1e-5)
    _, ours = attacks.input_gradient(base_model, tf.constant(x), tf.constant(y))
    one_hot = np.eye(10)[y]                                   # ART's loss is the mean over the batch
    np.testing.assert_allclose(classifier.loss_gradient(x, one_hot), ours.numpy() / len(x), rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="referee.art_classifier: model must be"):
        referee.art_classifier("not a model")


def test_arts_own_pgd_built_by_the_referee_matches_ours_without_random_start(base_model, test_batch):
    x, y = test_batch[0][:64], test_batch[1][:64]
    theirs = referee.pgd_attack(base_model, eps=0.1, step_size=0.01, steps=20, restarts=0)(x, y)
    ours = attacks.pgd(base_model, x, y, eps=0.1, steps=20, step_size=0.01, random_start=False).numpy()
    assert theirs.shape == x.shape and np.abs(theirs - x).max() <= 0.1 + 1e-6
    acc_theirs, acc_ours = evaluation.accuracy(base_model, theirs, y), evaluation.accuracy(base_model, ours, y)
    assert abs(acc_theirs - acc_ours) <= 2 / 64, (acc_ours, acc_theirs)
    assert referee.art_version().count(".") >= 2          # "1.20.1": what a result's threat model names


def test_only_the_referee_imports_art():
    """CONTRIBUTING.md: the Adversarial Robustness Toolbox is called from helpers/referee.py alone."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    importing = re.compile(r"^\s*(import art\b|from art[\s.])", re.M)
    found = []
    for folder in ("helpers", "benchmarks", "experiments", "tools", "classroom", "notebooks"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix == ".py" and path.name != "referee.py":
                code = path.read_text()
            elif path.suffix == ".ipynb":
                code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                                  if c["cell_type"] == "code")
            else:
                continue
            if importing.search(code):
                found.append(str(path.relative_to(root)))
    assert not found, f"these call ART directly; go through helpers.referee instead: {found}"
    assert importing.search("x = 1\n    from art.attacks import evasion\n")        # the pattern does find one
