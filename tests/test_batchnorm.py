"""BatchNormalization diagnostics and fixes (helpers/batchnorm.py), the small ResNet, and lesson 08's loop."""
import numpy as np
import pytest
import tensorflow as tf

from helpers import batchnorm, data, evaluation, models, plotting, training, zoo


def one_bn_model(momentum=0.99):
    """Input (4 channels) -> BatchNormalization: the layer's inputs are the images themselves."""
    inputs = tf.keras.Input((3, 3, 4))
    return tf.keras.Model(inputs, tf.keras.layers.BatchNormalization(momentum=momentum)(inputs))


def images_with(mean, std, n=400, seed=0):
    return (np.random.default_rng(seed).normal(mean, std, (n, 3, 3, 4))).astype(np.float32)


def test_batchnorm_layers_found_in_nested_models_and_missing_ones_refused():
    resnet = models.build_small_resnet()
    assert len(batchnorm.batchnorm_layers(resnet)) == 10
    outer = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), resnet, tf.keras.layers.Activation("linear")])
    assert len(batchnorm.batchnorm_layers(outer)) == 10
    with pytest.raises(ValueError, match="no BatchNormalization"):
        batchnorm.drift(models.build_small_resnet(normalization="group"), np.zeros((4, 28, 28, 1), np.float32))


def test_batch_statistics_are_the_data_statistics_and_leave_moving_statistics_alone():
    model = one_bn_model()
    x = images_with(3.0, 2.0)
    (mean, var), = batchnorm.batch_statistics(model, x, batch_size=100)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1, 2)), atol=1e-4)
    np.testing.assert_allclose(var, x.var(axis=(0, 1, 2)), rtol=1e-3)
    layer = batchnorm.batchnorm_layers(model)[0]
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), 1.0)
    assert "call" not in vars(layer), "the recording wrapper must be removed"


def test_drift_measures_the_gap_and_reestimate_closes_it():
    model = one_bn_model()
    x = images_with(3.0, 2.0)
    row = batchnorm.drift(model, x).iloc[0]        # fresh layer: moving mean 0, variance 1
    assert row.mean_shift == pytest.approx(1.5, rel=0.05)                   # |0 - 3| / 2
    assert row.variance_ratio == pytest.approx(0.25, rel=0.05)              # 1 / 4
    after = batchnorm.reestimate(model, x).iloc[0]
    assert after.mean_shift < 1e-3 and after.variance_ratio == pytest.approx(1.0, abs=1e-3)
    out = model(x, training=False).numpy()
    assert abs(out.mean()) < 0.05 and out.std() == pytest.approx(1.0, abs=0.05)


def test_set_momentum_through_the_keras_api_changes_how_fast_statistics_follow():
    model = one_bn_model()
    assert batchnorm.set_momentum(model, 0.0) == 1
    x = images_with(5.0, 1.0, n=64)
    model(x, training=True)
    np.testing.assert_allclose(batchnorm.batchnorm_layers(model)[0].moving_mean.numpy(), x.mean(axis=(0, 1, 2)),
                               atol=1e-4)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="momentum"):
            batchnorm.set_momentum(model, bad)


def test_freeze_makes_training_mode_use_the_fixed_moving_statistics():
    model = one_bn_model()
    assert batchnorm.freeze(model) == 1
    x = images_with(5.0, 1.0, n=64)
    np.testing.assert_allclose(model(x, training=True).numpy(), model(x, training=False).numpy(), atol=1e-5)
    np.testing.assert_array_equal(batchnorm.batchnorm_layers(model)[0].moving_mean.numpy(), 0.0)


def test_predict_in_training_mode_uses_batch_statistics_without_changing_the_model():
    model = one_bn_model()
    x = images_with(5.0, 1.0, n=64)
    logits = batchnorm.predict_in_training_mode(model, x)
    assert abs(logits.mean()) < 0.05                                 # normalised with the batch's own mean
    assert model(x, training=False).numpy().mean() > 4               # moving statistics untouched: mean 0, var 1
    np.testing.assert_array_equal(batchnorm.batchnorm_layers(model)[0].moving_mean.numpy(), 0.0)


def test_small_resnet_variants_and_argument_errors():
    counts = {n: models.build_small_resnet(normalization=n).count_params() for n in models.NORMALIZATIONS}
    assert counts == {"batch": 43_418, "group": 42_938, None: 42_698}
    assert models.build_small_resnet()(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)
    with pytest.raises(ValueError, match="normalization"):
        models.build_small_resnet(normalization="layer")
    with pytest.raises(ValueError, match="widths"):
        models.build_small_resnet(widths=())


@pytest.fixture(scope="module")
def stale_resnet():
    """A small ResNet briefly trained on MNIST, whose moving variances are then made 400 times too small."""
    x, y = data.load_normalized("train", limit=1024, verbose=False)
    tf.keras.utils.set_random_seed(0)
    model = models.build_small_resnet()
    training.adversarial_finetune(model, x, y, steps=120, adversarial=False, verbose=0,
                                  optimizer=tf.keras.optimizers.Adam(1e-3))
    batchnorm.reestimate(model, x[:500])
    for layer in batchnorm.batchnorm_layers(model):
        layer.moving_variance.assign(layer.moving_variance / 400.0)
    return model, x, y


def copy_of(model):
    clone = tf.keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


@pytest.mark.slow
def test_the_seeds_loop_breaks_on_stale_statistics_and_one_mode_fixes_it(stale_resnet):
    model, x, y = stale_resnet
    x_test, y_test = data.load_normalized("test", limit=300, verbose=False)

    def monitor(m):
        return {"accuracy": evaluation.accuracy(m, x_test, y_test),
                "finite": all(bool(np.isfinite(v.numpy()).all()) for v in m.weights)}

    pitfall = training.adversarial_finetune(copy_of(model), x, y, steps=40, evaluate_every=20, monitor=monitor,
                                            verbose=0)
    repaired = copy_of(model)
    batchnorm.reestimate(repaired, x[:500])          # fix 3b: statistics that fit the data, then the same loop
    fixed = training.adversarial_finetune(repaired, x, y, steps=40, evaluate_every=20, monitor=monitor, verbose=0)
    assert list(pitfall.columns) == ["step", "loss", "seconds", "accuracy", "finite"]
    assert list(pitfall["step"]) == [0, 20, 40]
    assert pitfall["accuracy"].iloc[-1] < 0.3
    assert fixed["accuracy"].iloc[-1] > 0.6 and fixed["finite"].all()
    assert fixed["accuracy"].iloc[-1] > pitfall["accuracy"].iloc[-1] + 0.3


def test_adversarial_finetune_rejects_bad_arguments():
    model = models.build_small_resnet()
    x, y = np.zeros((8, 28, 28, 1), np.float32), np.zeros(8, np.int64)
    with pytest.raises(ValueError, match="steps"):
        training.adversarial_finetune(model, x, y, steps=0)
    with pytest.raises(ValueError, match="labels"):
        training.adversarial_finetune(model, x, y[:4], steps=1, batch_size=4)
    with pytest.raises(ValueError, match="eps"):
        training.adversarial_finetune(model, x, y, steps=1, batch_size=4, eps=-0.1)


def test_source_domain_is_a_low_contrast_copy_and_the_pretrained_models_are_registered():
    x = np.array([0.0, 0.5, 1.0], np.float32)
    np.testing.assert_allclose(zoo.source_domain(x), [-0.005, 0.0, 0.005])
    assert {"resnet_source", "resnet_gn_source"} <= set(zoo.names())


def test_step_curves_draw_one_panel_per_column_and_skip_missing_columns():
    import pandas as pd

    runs = {"a": pd.DataFrame({"step": [0, 1], "acc": [0.1, 0.5], "ratio": [0.01, 1.0]}),
            "b": pd.DataFrame({"step": [0, 1], "acc": [0.1, 0.9]})}
    fig = plotting.step_curves(runs, {"acc": "accuracy", "ratio": "ratio"}, log_panels=("ratio",))
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1
    assert fig.axes[1].get_yscale() == "log"
    with pytest.raises(ValueError):
        plotting.step_curves({}, {"acc": "accuracy"})


def test_watch_reports_both_modes_and_drift_without_changing_the_statistics():
    model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Conv2D(4, 3),
                                 tf.keras.layers.BatchNormalization(), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(10)])
    x = np.random.default_rng(0).uniform(size=(40, 28, 28, 1)).astype(np.float32)
    y = np.arange(40) % 10
    before = [w.numpy().copy() for w in model.weights]
    row = batchnorm.watch(model, x, y)
    assert set(row) == {"inference_accuracy", "training_mode_accuracy", "variance_ratio", "mean_shift",
                        "finite_weights"}
    assert 0 <= row["inference_accuracy"] <= 1 and row["finite_weights"] is True
    expected = np.mean(np.argmax(model(x, training=False).numpy(), -1) == y)
    assert row["inference_accuracy"] == pytest.approx(expected)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))
    model.layers[-1].kernel.assign(np.full(model.layers[-1].kernel.shape, np.nan, np.float32))
    assert batchnorm.watch(model, x, y)["finite_weights"] is False
    plain = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
    assert "variance_ratio" not in batchnorm.watch(plain, x, y)
    with pytest.raises(ValueError, match="255"):
        batchnorm.watch(model, x * 255, y)
