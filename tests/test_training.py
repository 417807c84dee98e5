import functools

import numpy as np
import pytest
import tensorflow as tf

from helpers import attacks, config, data, evaluation, models, training


@pytest.fixture(scope="module")
def small_train():
    hp = config.hparams().replace(batch_size=100)
    split = data.load_mnist_arrays("train", limit=2000, verbose=False)
    return hp, data.make_pipeline(data.as_dataset(split), hp, training=True)


def test_fgsm_trainer_crafts_exactly_fgsm(base_model, test_batch):
    x, y = test_batch[0][:64], test_batch[1][:64]
    trainer = training.AdversarialTrainer(base_model, method="fgsm", eps=0.2)
    np.testing.assert_allclose(trainer.adversarial_batch(tf.constant(x), tf.constant(y), eps=0.2).numpy(),
                               attacks.fgsm(base_model, x, y, eps=0.2).numpy(), atol=1e-6)


@pytest.mark.parametrize("method", list(training.METHODS))
def test_adversarial_batches_stay_in_the_ball_and_range(base_model, test_batch, method):
    x, y = test_batch[0][:64], test_batch[1][:64]
    trainer = training.AdversarialTrainer(base_model, method=method, eps=0.3, steps=3)
    x_adv = trainer.adversarial_batch(tf.constant(x), tf.constant(y), eps=0.3).numpy()
    assert np.abs(x_adv - x).max() <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    assert evaluation.accuracy(base_model, x_adv, y) < evaluation.accuracy(base_model, x, y) - 0.1


def test_eps_warmup_ramps_linearly():
    trainer = training.AdversarialTrainer(models.build_base_model(), eps=0.3, warmup_steps=10)
    trainer.compile(optimizer=tf.keras.optimizers.Adam())
    assert float(trainer.current_eps()) == pytest.approx(0.03)
    trainer.optimizer.iterations.assign(4)
    assert float(trainer.current_eps()) == pytest.approx(0.15)
    trainer.optimizer.iterations.assign(50)
    assert float(trainer.current_eps()) == pytest.approx(0.3)


def _batchnorm_model(units=32):
    inputs = tf.keras.Input((28, 28, 1))
    h = tf.keras.layers.BatchNormalization()(tf.keras.layers.Dense(units)(tf.keras.layers.Flatten()(inputs)))
    return tf.keras.Model(inputs, tf.keras.layers.Dense(10)(tf.keras.layers.ReLU()(h)))


def test_attack_mode_is_explicit_for_batchnorm_models(test_batch):
    model = _batchnorm_model()
    x, y = tf.constant(test_batch[0][:32]), tf.constant(test_batch[1][:32])
    inference = training.AdversarialTrainer(model, method="fgsm", eps=0.1).adversarial_batch(x, y, eps=0.1)
    batch_stats = training.AdversarialTrainer(model, method="fgsm", eps=0.1,
                                              attack_training_mode=True).adversarial_batch(x, y, eps=0.1)
    assert not np.allclose(inference.numpy(), batch_stats.numpy())


@pytest.mark.parametrize("kwargs, words", [
    ({"method": "free"}, "unknown method 'free'"), ({"mix": 1.5}, "mix"), ({"eps": -0.1}, "eps"),
    ({"steps": 0}, "steps"), ({"method": "fgsm", "step_ratio": 2.0}, "'fgsm' steps by eps and takes no step_ratio"),
    ({"method": "pgd", "alpha": 0.1}, "'pgd' takes step_size or step_ratio, not alpha"),
    ({"method": "fast", "step_size": 0.1}, "'fast' takes alpha or step_ratio, not step_size")])
def test_bad_trainer_settings_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        training.AdversarialTrainer(models.build_base_model(), **kwargs)


def _one_batch(test_batch, n=32):
    return tf.data.Dataset.from_tensor_slices((test_batch[0][:n], test_batch[1][:n])).batch(n)


@pytest.mark.parametrize("method", list(training.METHODS))
def test_every_method_of_the_table_trains_a_step_with_its_own_attack_and_loss(test_batch, method):
    model = _tiny_model()
    start = model.get_weights()
    trainer = training.AdversarialTrainer(model, method=method, eps=0.2, steps=2)
    trainer.compile(optimizer=tf.keras.optimizers.SGD(0.1))
    history = trainer.fit(_one_batch(test_batch), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), start))
    spec = training.METHODS[method]
    x, y = tf.constant(test_batch[0][:32]), tf.constant(test_batch[1][:32])
    assert trainer.steps == (2 if spec.multi_step else 1)
    assert float(trainer.attack_step(tf.constant(0.2))) == pytest.approx(float(spec.default_step(0.2, trainer.steps)))
    logits = model(x, training=True), model(x + 0.1, training=True)
    assert float(trainer.objective(y, *logits)) == pytest.approx(float(spec.loss(trainer, y, *logits)))


def test_an_unknown_method_is_refused_with_the_names_of_the_table():
    names = ", ".join(training.METHODS)
    assert names == "fgsm, fast, pgd, trades, mart"
    with pytest.raises(ValueError, match=f"unknown method 'free'; use one of {names}$"):
        training.AdversarialTrainer(_tiny_model(), method="free")
    with pytest.raises(ValueError, match="start='blocks' needs an L-inf method that takes it: 'pgd', 'trades', 'mart'"):
        training.AdversarialTrainer(_tiny_model(), method="fast", start="blocks")


def test_a_new_method_is_one_entry_of_the_table(monkeypatch, test_batch):
    x, y = tf.constant(test_batch[0][:32]), tf.constant(test_batch[1][:32])
    monkeypatch.setitem(training.METHODS, "pgd_again", training.METHODS["pgd"])   # a copy under a new name
    weights = {}
    for name in ("pgd", "pgd_again"):
        model = _tiny_model()
        tf.random.set_seed(4)
        trainer = training.AdversarialTrainer(model, method=name, eps=0.2, steps=2, warmup_steps=2)
        trainer.compile(optimizer=tf.keras.optimizers.SGD(0.1))
        trainer.fit(_one_batch(test_batch), epochs=1, verbose=0)
        weights[name] = model.get_weights()
    for a, b in zip(weights["pgd"], weights["pgd_again"]):                      # trains exactly as its original
        np.testing.assert_array_equal(a, b)

    calls = []

    def noise_attack(trainer, x, y, eps, step):                                 # a method of its own: random signs
        calls.append("attack")
        return attacks.project(x + eps * tf.sign(tf.random.normal(tf.shape(x))), x, eps, trainer.norm)

    def adversarial_ce(trainer, y, logits_clean, logits_adv):
        calls.append("loss")
        return trainer.cross_entropy(y, logits_adv)

    monkeypatch.setitem(training.METHODS, "noise", training.Method(
        noise_attack, adversarial_ce, default_step=lambda eps, steps: eps, step_argument=None, multi_step=False,
        blocks=False, reference="a test"))
    model = _tiny_model()
    start = model.get_weights()
    trainer, history = training.train_adversarial(model, _one_batch(test_batch), config.hparams(), epochs=2,
                                                  verbose=0, method="noise", eps=0.2)
    assert {"attack", "loss"} <= set(calls) and len(history.history["loss"]) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), start))
    x_adv = trainer.adversarial_batch(x, y, eps=0.2).numpy()
    assert np.allclose(np.abs(x_adv - x.numpy())[(x.numpy() > 0.2) & (x.numpy() < 0.8)], 0.2, atol=1e-6)
    with pytest.raises(ValueError, match="use one of fgsm, fast, pgd, trades, mart, pgd_again, noise$"):
        training.AdversarialTrainer(model, method="free")


def test_pgd_training_learns_and_shares_weights(small_train):
    hp, train = small_train
    config.set_seeds(0)
    model = models.build_base_model(hp)
    trainer, history = training.train_adversarial(model, train, hp, epochs=2, verbose=0, method="pgd",
                                                  eps=0.1, steps=3, mix=0.5)
    assert trainer.base_model is model
    assert set(history.history) >= {"loss", "accuracy", "adv_accuracy", "epoch_seconds"}
    assert history.history["loss"][1] < history.history["loss"][0]
    x, y = data.load_normalized("test", limit=500, verbose=False)
    assert evaluation.accuracy(model, x, y) > 0.6  # 2 epochs on 2,000 images: it learned


def test_soft_labels_are_probabilities_that_flatten_with_temperature(base_model, test_batch):
    x = test_batch[0][:50]
    cold, hot = training.soft_labels(base_model, x, 1.0), training.soft_labels(base_model, x, 100.0)
    np.testing.assert_allclose(cold.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(hot.sum(1), 1.0, atol=1e-5)
    assert hot.max(1).mean() < cold.max(1).mean()
    assert np.array_equal(hot.argmax(1), cold.argmax(1))


def test_distillation_gives_a_student_whose_softmax_saturates(base_model, test_batch):
    hp = config.hparams().replace(batch_size=100)
    x_train, y_train = data.load_normalized("train", limit=2000, verbose=False)
    _, student, info = training.distill(lambda: models.build_base_model(hp), x_train, y_train, hp,
                                        temperature=100.0, epochs=2, verbose=0)
    assert info["temperature"] == 100.0 and len(info["history"]["loss"]) == 2
    x, y = test_batch
    assert evaluation.accuracy(student, x, y) > 0.6  # 2 short epochs: it learns, not well
    spread = lambda m: float(np.mean(np.ptp(m(x[:200], training=False).numpy(), axis=1)))  # noqa: E731
    assert spread(student) > 5 * spread(base_model)
    _, grad = attacks.input_gradient(student, tf.constant(x[:200]), tf.constant(y[:200]))
    _, grad_base = attacks.input_gradient(base_model, tf.constant(x[:200]), tf.constant(y[:200]))
    zero = lambda g: float(np.mean(np.abs(g.numpy()).reshape(200, -1).max(1) == 0))  # noqa: E731
    assert zero(grad) > zero(grad_base) + 0.3
    with pytest.raises(ValueError, match="temperature"):
        training.distill(lambda: models.build_base_model(hp), x_train, y_train, hp, temperature=0.0)


def test_one_cycle_rises_to_its_peak_then_falls_to_zero():
    schedule = training.OneCycle(100, 5e-3, peak_fraction=0.4)
    values = np.array([float(schedule(s)) for s in range(100)])
    assert values.max() == pytest.approx(5e-3, rel=0.03) and 37 <= values.argmax() <= 40
    assert np.all(np.diff(values[:39]) > 0) and np.all(np.diff(values[40:]) < 0)
    assert values[-1] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        training.OneCycle(0, 1e-3)


def test_weight_average_is_the_moving_average_of_every_step_and_replaces_the_weights():
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 64)
    model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
    model.compile(tf.keras.optimizers.SGD(0.5), tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    initial, seen = model.get_weights(), []
    record = tf.keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(model.get_weights()))
    average = training.WeightAverage(decay=0.6)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False, callbacks=[record, average])
    assert len(seen) == 8 and average.updates == 8
    expected = initial
    for n, weights in enumerate(seen):
        d = min(0.6, (1 + n) / (10 + n))
        expected = [d * e + (1 - d) * w for e, w in zip(expected, weights)]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for last, raw in zip(average.final_weights, seen[-1]):
        np.testing.assert_array_equal(last, raw)
    assert not np.allclose(model.get_weights()[0], seen[-1][0])      # the average is not the last step
    with pytest.raises(ValueError, match="decay"):
        training.WeightAverage(decay=1.0)


def test_weight_average_averages_the_base_model_of_an_adversarial_trainer(small_train):
    hp, pipeline = small_train
    model = models.build_capstone_cnn()
    average = training.WeightAverage(decay=0.9)
    training.train_adversarial(model, pipeline.take(3), hp, epochs=1, verbose=0, method="fast", eps=0.1,
                               callbacks=[average])
    assert average.updates == 3
    for kept, averaged in zip(model.get_weights(), average.average_weights()):   # the plain model holds the average
        np.testing.assert_array_equal(kept, averaged)
    changed = [not np.allclose(a, b) for a, b in zip(model.get_weights(), average.final_weights)]
    assert any(changed)


def test_capstone_recipe_with_weight_average_keeps_the_average_and_reports_the_raw_weights(small_train):
    from helpers import zoo

    hp, pipeline = small_train
    made = []

    class Recorded(training.WeightAverage):            # the recipe's own callback, kept to compare with
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "WeightAverage", Recorded)
        train = zoo.capstone_recipe(dict(zoo.CAPSTONE, method="fast", steps=1, eps=0.1, weight_average=0.9))
        model, info = train(hp.replace(epochs=1), pipeline.take(4), 0)
    (average,) = made
    assert average.decay == 0.9 and average.updates == 4
    for kept, averaged in zip(model.get_weights(), average.average_weights()):     # the model kept is the average
        np.testing.assert_array_equal(kept, averaged)
    assert any(not np.allclose(kept, raw) for kept, raw in zip(model.get_weights(), average.final_weights))
    raw_model = tf.keras.models.clone_model(model)
    raw_model.set_weights(average.final_weights)                                  # the last raw weights' accuracy
    x_test, y_test = data.load_normalized("test", verbose=False)
    assert info["raw_final_test_accuracy"] == evaluation.accuracy(raw_model, x_test, y_test)
    assert zoo.settings("capstone_trades_smallcnn_avg")["weight_average"] == 0.999
    _, plain = zoo.capstone_recipe(dict(zoo.CAPSTONE, method="fast", steps=1, eps=0.1))(
        hp.replace(epochs=1), pipeline.take(4), 0)
    assert "raw_final_test_accuracy" not in plain


def test_capstone_cnn_matches_wong_et_al_and_grows_with_width():
    assert models.build_capstone_cnn().count_params() == 166_406
    assert models.build_capstone_cnn(width=2).count_params() > 3 * 166_406
    with pytest.raises(ValueError, match="width"):
        models.build_capstone_cnn(width=0)


def test_trades_smallcnn_matches_zhang_et_al_and_the_zoo_builds_each_architecture():
    from helpers import zoo

    model = models.build_trades_cnn()
    assert model.count_params() == 312_202
    pools = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.MaxPool2D)]
    assert len(pools) == 2 and pools[-1].output.shape[1:] == (4, 4, 64)
    assert model(np.zeros((3, 28, 28, 1), np.float32)).shape == (3, 10)
    built = zoo.build_capstone_network(zoo.settings("capstone_trades_smallcnn"))
    assert built.count_params() == 312_202
    assert zoo.build_capstone_network(zoo.CAPSTONE).count_params() == 166_406     # no key: the Wong CNN
    with pytest.raises(ValueError, match="architecture"):
        zoo.build_capstone_network(dict(zoo.CAPSTONE, architecture="vgg"))
    for bad in (0, -1, 1.01):
        with pytest.raises(ValueError, match="width"):
            zoo.build_capstone_network(dict(zoo.CAPSTONE, architecture="trades_smallcnn", width=bad))
    with pytest.raises(ValueError, match="width"):
        zoo.build_capstone_network(dict(zoo.CAPSTONE, width=1.5))                # the Wong CNN: whole widths only










def test_capstone_recipe_trains_the_network_with_its_dropout(small_train):
    from helpers import zoo

    hp, pipeline = small_train
    train = zoo.capstone_recipe(dict(zoo.CAPSTONE, architecture="trades_smallcnn", dropout=0.5, method="fast",
                                     steps=1, eps=0.1))
    model, _ = train(hp.replace(epochs=1), pipeline.take(2), 0)    # the trainer would refuse a dropout keyword
    assert [layer.rate for layer in model.layers if isinstance(layer, tf.keras.layers.Dropout)] == [0.5]






def test_trades_batches_stay_in_the_ball_and_raise_the_kl(base_model, test_batch):
    x, y = tf.constant(test_batch[0][:64]), tf.constant(test_batch[1][:64])
    trainer = training.AdversarialTrainer(base_model, method="trades", eps=0.3, steps=5, beta=6.0)
    x_adv = trainer.adversarial_batch(x, y, eps=0.3).numpy()
    assert np.abs(x_adv - x.numpy()).max() <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    p = tf.nn.softmax(base_model(x))
    kl_adv = float(tf.reduce_mean(training.kl_divergence(p, base_model(x_adv))))
    kl_noise = float(tf.reduce_mean(training.kl_divergence(p, base_model(attacks.random_point(x, 0.3, "inf")))))
    assert kl_adv > 5 * kl_noise
    with pytest.raises(ValueError, match="beta"):
        training.AdversarialTrainer(base_model, method="trades", beta=-1)


def test_mart_loss_is_the_boosted_cross_entropy_plus_the_weighted_kl():
    rng = np.random.default_rng(0)
    clean, adv = rng.normal(size=(6, 10)).astype("float32"), rng.normal(size=(6, 10)).astype("float32")
    y = np.array([0, 3, 9, 3, 5, 1])
    softmax = lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True)  # noqa: E731
    p, q = softmax(clean.astype("float64")), softmax(adv.astype("float64"))
    rows = np.arange(6)
    wrong = q.copy()
    wrong[rows, y] = -1
    boosted = -np.log(q[rows, y]) - np.log(1.0001 - wrong.max(-1))
    kl = (p * (np.log(p) - np.log(q))).sum(-1)
    expected = boosted.mean() + 6.0 * (kl * (1.0000001 - p[rows, y])).mean()
    got = float(training.mart_loss(tf.constant(y), tf.constant(clean), tf.constant(adv), 6.0))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # A clean prediction that is already right and sure leaves almost only the boosted cross-entropy.
    sure = np.full((1, 10), -20.0, "float32")
    sure[0, 2] = 20.0
    alone = float(training.mart_loss(tf.constant([2]), tf.constant(sure), tf.constant(adv[:1]), 6.0))
    q0 = softmax(adv[:1].astype("float64"))[0]
    np.testing.assert_allclose(alone, -np.log(q0[2]) - np.log(1.0001 - np.delete(q0, 2).max()), rtol=1e-4)
    # The weight 1 - p_clean[y] and the KL's p_clean are not stopped (the authors' code): the gradient with respect
    # to the clean logits is the NumPy expression's, by central differences.
    def numpy_loss(z):
        pz = softmax(z)
        return (boosted.mean() + 6.0 * ((pz * (np.log(pz) - np.log(q))).sum(-1) * (1.0000001 - pz[rows, y])).mean())
    z = tf.Variable(clean.astype("float64"))
    with tf.GradientTape() as tape:
        loss = training.mart_loss(tf.constant(y), z, tf.constant(adv.astype("float64")), 6.0)
    grad = tape.gradient(loss, z).numpy()
    numeric = np.zeros_like(grad)
    for i, j in np.ndindex(*grad.shape):
        step = np.zeros_like(grad)
        step[i, j] = 1e-6
        numeric[i, j] = (numpy_loss(clean + step) - numpy_loss(clean - step)) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_mart_batches_raise_the_cross_entropy(base_model, test_batch):
    x, y = tf.constant(test_batch[0][:64]), tf.constant(test_batch[1][:64])
    trainer = training.AdversarialTrainer(base_model, method="mart", eps=0.3, steps=5)
    x_adv = trainer.adversarial_batch(x, y, eps=0.3)
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(ce(y, base_model(x_adv))) > 2 * float(ce(y, base_model(attacks.random_point(x, 0.3, "inf"))))
    # One step is the sign of the cross-entropy's gradient (not the KL's, TRADES') at TRADES' noisy start.
    one = training.AdversarialTrainer(base_model, method="mart", eps=0.1, steps=1)
    tf.random.set_seed(3)
    x_one = one.adversarial_batch(x, y, eps=0.1).numpy()
    tf.random.set_seed(3)
    start = attacks.project(x + 0.001 * tf.random.normal(tf.shape(x)), x, 0.1, "inf")
    with tf.GradientTape() as tape:
        tape.watch(start)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=base_model(start))
    expected = attacks.project(start + 0.25 * tf.sign(tape.gradient(loss, start)), x, 0.1, "inf").numpy()
    np.testing.assert_allclose(x_one, expected, atol=1e-6)
    trades = training.AdversarialTrainer(base_model, method="trades", eps=0.1, steps=1)
    tf.random.set_seed(3)
    assert np.abs(trades.adversarial_batch(x, y, eps=0.1).numpy() - expected).max() > 0.1


def test_mart_training_learns_through_fit(small_train, test_batch):
    hp, pipeline = small_train
    x, y = test_batch[0][:200], test_batch[1][:200]
    model = models.build_capstone_cnn()
    before = evaluation.accuracy(model, x, y)
    trainer, history = training.train_adversarial(model, pipeline, hp, epochs=2, verbose=0, method="mart", eps=0.1,
                                                  steps=3, learning_rate=1e-3)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert evaluation.accuracy(model, x, y) > max(before + 0.3, 0.6)


def test_trades_training_learns_and_the_monitor_keeps_the_best_epoch(small_train, test_batch):
    hp, pipeline = small_train
    x, y = test_batch[0][:200], test_batch[1][:200]
    model = models.build_capstone_cnn()
    watch = functools.partial(attacks.pgd, eps=0.1, steps=5)
    monitor = training.RobustAccuracyMonitor(x, y, watch, restore_best=True)
    _, history = training.train_adversarial(model, pipeline, hp, epochs=3, verbose=0, method="trades", eps=0.1,
                                            steps=3, learning_rate=2e-3, callbacks=[monitor])
    scores = history.history["val_robust_accuracy"]
    assert len(scores) == 3 and monitor.best == max(scores) and monitor.best_epoch == int(np.argmax(scores))
    assert evaluation.accuracy(model, x, y) > 0.7
    robust_now = evaluation.robust_accuracy(model, x, y, watch, progress=False)
    assert robust_now == pytest.approx(monitor.best, abs=0.06)     # the best epoch's weights are back


def test_capstone_variants_register_and_record_their_early_stopping(small_train):
    from helpers import zoo

    # Each variant's settings and epochs against its spec: tests/test_experiments.py.
    assert len({zoo.cache_key(n) for n in ["capstone", *zoo.CAPSTONE_VARIANTS]}) == 1 + len(zoo.CAPSTONE_VARIANTS)
    zoo.register_capstone_variant("test_short_trades", "a test", epochs=3, method="trades", beta=1.0)
    assert zoo.hparams("test_short_trades").epochs == 3 and zoo.settings("test_short_trades")["beta"] == 1.0
    assert zoo.hparams("test_short_trades").batch_size == zoo.hparams("capstone").batch_size
    zoo.register_capstone_variant("test_two_modes", "a test", epochs=(2, 10), method="trades")
    assert zoo.hparams("test_two_modes").epochs == (2 if config.quick_mode() else 10)
    with pytest.raises(ValueError, match="epochs"):
        zoo.register_capstone_variant("test_bad_epochs", "a test", epochs=(1, 2, 3))

    hp, pipeline = small_train
    config.set_seeds()
    train = zoo.capstone_recipe(dict(zoo.CAPSTONE, method="fast", steps=1, eps=0.1, early_stopping=True))
    model, info = train(hp.replace(epochs=2), pipeline, 0)
    scores = info["history"]["val_robust_accuracy"]
    assert len(scores) == 2 and info["best_epoch"] == int(np.argmax(scores)) + 1
    assert info["optimizer_steps"] == 2 * int(pipeline.cardinality().numpy())
    assert model.count_params() == models.build_capstone_cnn().count_params()


def test_step_ratio_scales_the_attack_step_with_the_current_eps(base_model, test_batch):
    x, y = tf.constant(test_batch[0][:16]), tf.constant(test_batch[1][:16])
    trainer = training.AdversarialTrainer(base_model, method="fast", eps=0.3, step_ratio=2.0, warmup_steps=10)
    trainer.compile(optimizer=tf.keras.optimizers.SGD(0.0))
    for eps in (0.05, 0.3):                 # a step of 2 eps from a random start ends on the ball's surface
        delta = np.abs(trainer.adversarial_batch(x, y, eps=eps).numpy() - test_batch[0][:16])
        assert delta.max() <= eps + 1e-6
        moved = delta[(test_batch[0][:16] > eps) & (test_batch[0][:16] < 1 - eps)]
        assert np.mean(np.isclose(moved, eps, atol=1e-5)) > 0.9
    with pytest.raises(ValueError, match="step_ratio"):
        training.AdversarialTrainer(base_model, method="fast", alpha=0.3, step_ratio=2.0)


def test_fast_steps_of_two_eps_or_more_give_one_batch_that_is_not_fgsms(base_model, test_batch):
    # From a random start in the ball, any step >= 2 eps clips to eps * sign(gradient at that start):
    # the same batch for every such step, yet not FGSM's, whose gradient is taken at the clean image.
    x, y = tf.constant(test_batch[0][:32]), tf.constant(test_batch[1][:32])
    batches = {}
    for ratio in (2.0, 3.0):
        tf.random.set_seed(7)
        trainer = training.AdversarialTrainer(base_model, method="fast", eps=0.3, step_ratio=ratio)
        batches[ratio] = trainer.adversarial_batch(x, y, eps=0.3).numpy()
    np.testing.assert_allclose(batches[2.0], batches[3.0], atol=1e-6)
    fgsm = attacks.fgsm(base_model, test_batch[0][:32], test_batch[1][:32], eps=0.3).numpy()
    assert np.mean(np.abs(batches[2.0] - fgsm) > 1e-3) > 0.01


def _tiny_model(seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((28, 28, 1))
    h = tf.keras.layers.Conv2D(4, 5, strides=2, activation="relu")(inputs)
    h = tf.keras.layers.Flatten()(h)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(10)(h))


def test_awp_perturbs_each_kernel_by_gamma_of_its_norm_uphill(test_batch):
    x, y = tf.constant(test_batch[0][:64]), tf.constant(test_batch[1][:64])
    model = _tiny_model()
    trainer = training.AdversarialTrainer(model, method="fgsm", eps=0.1, mix=0.5, awp_gamma=0.01)
    x_adv = trainer.adversarial_batch(x, y, eps=0.1)
    pairs = trainer.weight_perturbation(x, y, x_adv)
    kernels = [v for v in model.trainable_variables if v.shape.rank >= 2]
    assert [v.name for v, _ in pairs] == [v.name for v in kernels] and len(kernels) < len(model.trainable_variables)
    for variable, delta in pairs:
        assert float(tf.norm(delta)) == pytest.approx(0.01 * float(tf.norm(variable)), rel=1e-4)
    before = float(trainer.objective(y, model(x, training=True), model(x_adv, training=True)))
    for variable, delta in pairs:
        variable.assign_add(delta)
    after = float(trainer.objective(y, model(x, training=True), model(x_adv, training=True)))
    assert after > before
    with pytest.raises(ValueError, match="awp_gamma"):
        training.AdversarialTrainer(model, awp_gamma=-0.1)
    with pytest.raises(ValueError, match="awp_gamma"):
        training.AdversarialTrainer(model, awp_gamma=1.0)


def test_awp_applies_the_perturbed_weights_gradient_to_the_restored_weights(test_batch):
    x, y = tf.constant(test_batch[0][:64]), tf.constant(test_batch[1][:64])
    lr, gamma = 0.1, 0.02
    reference = _tiny_model()
    start = reference.get_weights()
    probe = training.AdversarialTrainer(reference, method="fgsm", eps=0.1, mix=0.5, awp_gamma=gamma)
    x_adv = probe.adversarial_batch(x, y, eps=0.1)
    pairs = probe.weight_perturbation(x, y, x_adv)
    for variable, delta in pairs:
        variable.assign_add(delta)
    with tf.GradientTape() as tape:
        loss = probe.objective(y, reference(x, training=True), reference(x_adv, training=True))
    grads = tape.gradient(loss, reference.trainable_variables)
    expected = [w - lr * g.numpy() for w, g in zip(start, grads)]

    model = _tiny_model()
    trainer = training.AdversarialTrainer(model, method="fgsm", eps=0.1, mix=0.5, awp_gamma=gamma)
    trainer.compile(optimizer=tf.keras.optimizers.SGD(lr))
    trainer.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(64), epochs=1, verbose=0)   # compiled step
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, atol=1e-5)
    plain = _tiny_model()                     # without AWP the step differs: the gradient is taken at w itself
    plain_trainer = training.AdversarialTrainer(plain, method="fgsm", eps=0.1, mix=0.5)
    plain_trainer.compile(optimizer=tf.keras.optimizers.SGD(lr))
    plain_trainer.train_step((x, y))
    assert max(np.abs(a - b).max() for a, b in zip(plain.get_weights(), model.get_weights())) > 1e-4
    frozen = _tiny_model()                    # a zero learning rate leaves the weights exactly where they were
    frozen_trainer = training.AdversarialTrainer(frozen, method="trades", eps=0.1, steps=2, awp_gamma=gamma)
    frozen_trainer.compile(optimizer=tf.keras.optimizers.SGD(0.0))
    frozen_trainer.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), epochs=1, verbose=0)
    for got, want in zip(frozen.get_weights(), start):
        np.testing.assert_array_equal(got, want)


def test_awp_leaves_batchnorm_statistics_to_the_training_pass(test_batch):
    x, y = tf.constant(test_batch[0][:32]), tf.constant(test_batch[1][:32])
    model = _batchnorm_model(16)
    trainer = training.AdversarialTrainer(model, method="fgsm", eps=0.1, awp_gamma=0.01)
    before = [v.numpy() for v in model.non_trainable_variables]
    trainer.weight_perturbation(x, y, trainer.adversarial_batch(x, y, eps=0.1))
    for variable, value in zip(model.non_trainable_variables, before):
        np.testing.assert_array_equal(variable.numpy(), value)
    model(x, training=True)                   # while a training-mode pass does move them
    assert any(not np.array_equal(v.numpy(), b) for v, b in zip(model.non_trainable_variables, before))


@pytest.mark.parametrize("method", ["pgd", "trades", "mart"])
def test_blocks_start_puts_whole_squares_at_the_corners_of_the_ball(base_model, test_batch, method):
    x, y = tf.constant(test_batch[0][:64]), tf.constant(test_batch[1][:64])
    far = {}
    for start in (None, "blocks"):
        # one tiny step: the batch is (almost) the start point
        trainer = training.AdversarialTrainer(base_model, method=method, eps=0.3, steps=1, step_size=1e-3, start=start)
        x_adv = trainer.adversarial_batch(x, y, eps=0.3).numpy()
        assert np.abs(x_adv - x.numpy()).max() <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
        far[start] = np.mean(np.abs(x_adv - x.numpy()) > 0.3 - 2e-3)
    # TRADES and MART start within 0.001 N(0, 1) of x; PGD uniformly in the ball, where few pixels land at a corner
    assert far["blocks"] > 0.1 and far[None] < 0.02
    # the blocks are as large as the eps of the moment (the warm-up's), not the trainer's final eps
    trainer = training.AdversarialTrainer(base_model, method=method, eps=0.3, steps=1, step_size=1e-3, start="blocks")
    small = trainer.adversarial_batch(x, y, eps=0.1).numpy() - x.numpy()
    assert np.abs(small).max() <= 0.1 + 1e-6 and np.mean(np.abs(small) > 0.1 - 2e-3) > 0.1


def test_blocks_start_needs_a_multi_step_linf_method(base_model):
    for method in ("fgsm", "fast"):
        with pytest.raises(ValueError, match="blocks"):
            training.AdversarialTrainer(base_model, method=method, start="blocks")
    with pytest.raises(ValueError, match="blocks"):
        training.AdversarialTrainer(base_model, method="pgd", norm="2", start="blocks")
    with pytest.raises(ValueError, match="unknown start"):
        training.AdversarialTrainer(base_model, method="pgd", start="square")
