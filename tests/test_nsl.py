import numpy as np
import pytest

from helpers import attacks, config, data, evaluation, models, nsl


@pytest.fixture(scope="module")
def small_train():
    hp = config.hparams().replace(batch_size=100)
    split = data.load_mnist_arrays("train", limit=2000, verbose=False)
    return hp, data.make_pipeline(data.as_dataset(split), hp, training=True)


def test_config_is_the_seed_tutorials_and_takes_overrides():
    hp = config.hparams()
    cfg = nsl.adv_config(hp)
    assert cfg.multiplier == 0.2 and cfg.adv_neighbor_config.adv_step_size == 0.2
    assert cfg.adv_neighbor_config.adv_grad_norm.value == "infinity"
    assert nsl.adv_config(hp, adv_step_size=0.1).adv_neighbor_config.adv_step_size == 0.1


def test_wrapper_uses_the_seed_settings_and_trains(small_train):
    hp, train = small_train
    model = models.build_base_model(hp)
    adv_model = nsl.wrap(model, hp)
    cfg = adv_model.adv_config
    assert cfg.multiplier == 0.2 and cfg.adv_neighbor_config.adv_step_size == 0.2
    assert adv_model.base_model is model and adv_model.optimizer is not None
    assert nsl.wrap(model, hp, compile=False).optimizer is None
    before = [w.numpy().copy() for w in model.trainable_weights]
    adv_model, history = nsl.train(model, train.map(data.convert_to_dictionaries), hp, epochs=1, verbose=0)
    assert adv_model.base_model is model
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    assert "scaled_adversarial_loss" in history.history and len(history.history["epoch_seconds"]) == 1


def test_seed_tutorial_perturb_is_one_clipped_sign_step(base_model, test_batch):
    x, y = test_batch[0][:64], test_batch[1][:64]
    hp = config.hparams()
    perturbed = nsl.seed_tutorial_perturb(base_model, x, y, hp)
    assert perturbed.dtype == np.float32 and perturbed.shape == x.shape
    assert perturbed.min() >= 0 and perturbed.max() <= 1
    assert np.abs(perturbed - x).max() == pytest.approx(hp.adv_step_size, abs=1e-6)
    fgsm = attacks.fgsm(base_model, x, y, eps=hp.adv_step_size).numpy()
    assert np.mean(np.isclose(perturbed, fgsm, atol=1e-5)) > 0.99  # NSL's step is FGSM of the base model
    acc = nsl.seed_tutorial_accuracy(base_model, {"base": base_model}, x, y, hp)
    assert acc["base"] == evaluation.accuracy(base_model, perturbed, y)
    assert acc["base"] < evaluation.accuracy(base_model, x, y) - 0.2


def test_seed_tutorial_perturb_checks_its_inputs(base_model, test_batch):
    x, y = test_batch[0][:8], test_batch[1][:8]
    with pytest.raises(ValueError, match="nsl.seed_tutorial_perturb: 8 images but 5 labels"):
        nsl.seed_tutorial_perturb(base_model, x, y[:5], config.hparams())
    with pytest.raises(ValueError, match="nsl.seed_tutorial_perturb: .*divide by 255"):
        nsl.seed_tutorial_perturb(base_model, x * 255, y, config.hparams())


def test_the_tutorials_perturbation_does_not_warn_about_the_label_it_leaves_alone(caplog):
    import logging

    import helpers.nsl as nsl
    from helpers import config, data, models

    x, y = data.load_normalized("test", limit=8, verbose=False)
    with caplog.at_level(logging.WARNING):
        nsl.seed_tutorial_perturb(models.build_base_model(config.hparams()), x, y, config.hparams())
    assert not [r for r in caplog.records if "Cannot perturb" in r.getMessage()]
    assert not logging.getLogger("absl").filters, "the filter is removed once the perturbation is done"
