"""Bad images and labels at every public entry: each stops with a message that says what is wrong and the fix."""
import functools
import warnings

import numpy as np
import pytest
import tensorflow as tf

from helpers import attacks, batchnorm, config, data, evaluation, inputs, models, nsl, plotting, referee, training


@pytest.fixture(scope="module")
def tiny():
    """A small untrained logits model and 8 real test digits (bad inputs are refused before any training)."""
    model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
    x, y = data.load_normalized("test", limit=8, verbose=False)
    return model, x, y


# Each fault: (images from the good x, labels from the good y, the words the message must hold).
FAULTS = {
    "no channel axis": (lambda x: x[..., 0], None, r"without a channel axis; add one with x\[\.\.\., None\]"),
    "raw uint8 pixels": (lambda x: (x * 255).astype(np.uint8), None, "raw pixels.*divide by 255"),
    "0..255 floats": (lambda x: x * 255, None,
                      r"in \[0, 1\], found values in \[0, 255\]: did you forget to normalise\? divide by 255"),
    "a NaN pixel": (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 3, np.nan, x).astype(np.float32),
                    None, "1 pixel value.*NaN or infinite"),
    "an empty batch": (lambda x: x[:0], lambda y: y[:0], "empty"),
    "one image without a batch": (lambda x: x[0], None, r"one image of shape \(28, 28, 1\).*x\[None\]"),
    "one-hot labels": (None, lambda y: np.eye(10, dtype=np.float32)[y], r"one-hot.*y\.argmax\(axis=1\)"),
    "float labels": (None, lambda y: y.astype(np.float32), r"integer class indices.*y\.astype\(int\)"),
    "too few labels": (None, lambda y: y[:5], "8 images but 5 labels"),
    "labels out of range": (None, lambda y: y + 10, r"labels must be in 0\.\.9"),
}


@functools.lru_cache(maxsize=1)
def _bn_model():
    return models.build_small_resnet(normalization="batch")


# Every public entry that takes images (and labels), as name -> call(model, x, y).
ENTRIES = {
    "attacks.fgsm": lambda m, x, y: attacks.fgsm(m, x, y, eps=0.1),
    "attacks.pgd": lambda m, x, y: attacks.pgd(m, x, y, eps=0.1, steps=2),
    "attacks.cw_l2": lambda m, x, y: attacks.cw_l2(m, x, y, binary_search_steps=1, max_iterations=2),
    "attacks.ead": lambda m, x, y: attacks.ead(m, x, y, binary_search_steps=1, max_iterations=2),
    "evaluation.accuracy": lambda m, x, y: evaluation.accuracy(m, x, y),
    "evaluation.robust_accuracy": lambda m, x, y: evaluation.robust_accuracy(
        m, x, y, functools.partial(attacks.fgsm, eps=0.1), progress=False),
    "evaluation.success_rate": lambda m, x, y: evaluation.success_rate(m, x, x, y),
    "evaluation.checklist": lambda m, x, y: evaluation.checklist(m, x, y, progress=False),
    "evaluation.input_gradients": lambda m, x, y: evaluation.input_gradients(m, x, y),
    "evaluation.strongest_pgd": lambda m, x, y: evaluation.strongest_pgd(m, x, y, eps=0.1, steps=1, restarts=1,
                                                                         progress=False),
    "referee.robust_accuracy": lambda m, x, y: referee.robust_accuracy(m, x, y, eps=0.1),
    "referee.autoattack": lambda m, x, y: referee.autoattack(m, x, y, eps=0.1),
    "nsl.seed_tutorial_perturb": lambda m, x, y: nsl.seed_tutorial_perturb(m, x, y, config.hparams()),
    "training.adversarial_finetune": lambda m, x, y: training.adversarial_finetune(m, x, y, steps=1, batch_size=2,
                                                                                   verbose=0),
    "plotting.prediction_grid": lambda m, x, y: plotting.prediction_grid(x, y, {"m": y}),
    "batchnorm.batch_statistics": lambda m, x, y: batchnorm.batch_statistics(_bn_model(), x),
}
LABEL_FAULTS = {"one-hot labels", "float labels", "too few labels", "labels out of range"}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("entry", list(ENTRIES))
def test_every_entry_names_each_fault_and_its_fix(tiny, entry, fault):
    model, x, y = tiny
    make_x, make_y, message = FAULTS[fault]
    if entry.startswith("batchnorm") and (fault in LABEL_FAULTS or fault in ("raw uint8 pixels", "0..255 floats")):
        pytest.skip("batchnorm takes no labels and measures any input range (lesson 08's low-contrast images)")
    if entry.startswith("plotting") and fault in ("raw uint8 pixels", "no channel axis"):
        pytest.skip("plots draw uint8 digits and (n, 28, 28) arrays as they are")
    bad_x = make_x(x) if make_x else x
    bad_y = make_y(y) if make_y else y
    with pytest.raises(ValueError, match=message) as caught:
        ENTRIES[entry](model, bad_x, bad_y)
    assert str(caught.value).startswith(entry), str(caught.value)        # the message names the function


def test_channel_less_images_after_good_batches_raise_instead_of_killing_the_kernel(tiny):
    model, x, y = tiny
    attacks.pgd(model, x, y, eps=0.1, steps=2)          # a proper call first: the compiled graph exists
    with pytest.raises(ValueError, match="channel axis"):
        attacks.pgd(model, x[..., 0], y, eps=0.1, steps=2)
    assert attacks.pgd(model, x, y, eps=0.1, steps=2).shape == x.shape        # still alive and well


def test_float64_images_in_range_are_accepted_as_float32(tiny):
    model, x, y = tiny
    assert evaluation.accuracy(model, x.astype(np.float64), y) == evaluation.accuracy(model, x, y)
    x_adv = attacks.fgsm(model, x.astype(np.float64), y, eps=0.1)
    assert x_adv.dtype == tf.float32


def test_a_model_ending_in_softmax_is_named_in_a_warning():
    soft = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(),
                                tf.keras.layers.Dense(10, activation="softmax")], name="probabilities")
    x, y = data.load_normalized("test", limit=4, verbose=False)
    with pytest.warns(UserWarning, match="'probabilities' ends in a softmax.*expect logits"):
        attacks.fgsm(soft, x, y, eps=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # once per model, not on every batch
        attacks.fgsm(soft, x, y, eps=0.1)
    assert not inputs.ends_in_softmax(models.build_base_model())


def test_plots_accept_uint8_digits_and_refuse_nan():
    raw = data.load_mnist_arrays("test", limit=4, verbose=False).images
    assert plotting.image_grid(raw) is not None
    with pytest.raises(ValueError, match="plotting.image_grid.*NaN"):
        plotting.image_grid(np.full((2, 28, 28), np.nan, np.float32))


def test_distill_names_bad_labels_before_training():
    x, y = data.load_normalized("test", limit=8, verbose=False)
    from helpers import config

    with pytest.raises(ValueError, match="training.distill.*one-hot"):
        training.distill(models.build_base_model, x, np.eye(10)[y], config.hparams())


# Every public entry that takes an L-inf radius, called with eps=8 (8 meant as 8/255): name -> call(model, x, y, eps).
EPS_ENTRIES = {
    "attacks.fgsm": lambda m, x, y, e: attacks.fgsm(m, x, y, eps=e),
    "attacks.pgd": lambda m, x, y, e: attacks.pgd(m, x, y, eps=e, steps=2),
    "evaluation.strongest_pgd": lambda m, x, y, e: evaluation.strongest_pgd(m, x, y, eps=e, steps=1, restarts=1,
                                                                            progress=False),
    "evaluation.checklist": lambda m, x, y, e: evaluation.checklist(m, x, y, eps=e, progress=False),
    "evaluation.accuracy_vs_epsilon": lambda m, x, y, e: evaluation.accuracy_vs_epsilon(
        {"m": m}, x, y, {"FGSM": lambda eps: functools.partial(attacks.fgsm, eps=eps)}, [0.0, e], progress=False),
    "referee.robust_accuracy": lambda m, x, y, e: referee.robust_accuracy(m, x, y, eps=e),
    "referee.square": lambda m, x, y, e: referee.square(m, x, y, eps=e),
    "referee.autoattack": lambda m, x, y, e: referee.autoattack(m, x, y, eps=e),
    "referee.apgd_survivors": lambda m, x, y, e: referee.apgd_survivors(m, x, y, eps=e),
    "referee.apgd_targeted": lambda m, x, y, e: referee.apgd_targeted(m, x, y, eps=e),
    "training.AdversarialTrainer": lambda m, x, y, e: training.AdversarialTrainer(m, method="pgd", eps=e),
    "training.adversarial_finetune": lambda m, x, y, e: training.adversarial_finetune(m, x, y, steps=1, batch_size=2,
                                                                                      eps=e, verbose=0),
    "HParams.adv_step_size": lambda m, x, y, e: config.hparams().replace(adv_step_size=e),
}


@pytest.mark.parametrize("entry", list(EPS_ENTRIES))
def test_an_linf_eps_above_1_is_refused_with_the_divide_by_255_fix(tiny, entry):
    model, x, y = tiny
    with pytest.raises(ValueError, match=r"L-inf eps of 8 is more than the whole pixel range.*eps=8/255 \(0\.0314\)") \
            as caught:
        EPS_ENTRIES[entry](model, x, y, 8)
    assert str(caught.value).startswith(entry), str(caught.value)        # the message names the function
    if not entry.startswith(("referee", "evaluation.checklist")):       # eps 1, the whole range, is allowed
        EPS_ENTRIES[entry](model, x, y, 1.0)


def test_an_l2_eps_above_1_is_a_radius_like_any_other(tiny):
    model, x, y = tiny
    x_adv = attacks.pgd(model, x, y, eps=2.0, norm="2", steps=2).numpy()
    assert np.sqrt(((x_adv - x) ** 2).sum(axis=(1, 2, 3))).max() <= 2.0 + 1e-4
    with pytest.raises(ValueError, match="eps must be >= 0 and finite"):
        inputs.epsilon(-0.1, where="here")
    with pytest.raises(ValueError, match="eps must be > 0 and finite"):
        inputs.epsilon(0.0, where="here", positive=True)
