"""experiments/capstone: the capstone's runs as typed specs, and what the zoo keeps of them."""
import json
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from helpers import data, models, training, zoo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))         # experiments/ is importable from the repository root, not installed
from experiments import capstone  # noqa: E402
from experiments.capstone import SPECS, differences  # noqa: E402

ZOO_KEEPS = ["capstone", *zoo.CAPSTONE_VARIANTS]
WITH_PARENT = [name for name, spec in SPECS.items() if spec.parent is not None]

# The last 8 hex digits of each run's cache key when it was trained, (quick mode on the committed sample,
# full mode on the full MNIST folder below): a spec that drifts by a byte would train a new model.
# Regenerate only on purpose (a new recipe version, a new sample): every saved model trains again.
TRAINED_KEYS = {
    "capstone": ("2f79de4d", "7453adad"),
    "capstone_no_warmup": ("bf782102", "7f9ad038"),
    "capstone_fgsm": ("ea00f168", "d905f38a"),
    "capstone_fast": ("a20f9231", "e6667e29"),
    "capstone_fast_large_step": ("7d344514", "655dd9e8"),
    "capstone_trades": ("1630c0c2", "05954ed7"),
    "capstone_wide": ("f71ea205", "c34fe497"),
    "capstone_trades_smallcnn": ("8dc2197e", "2356dbfb"),
    "capstone_trades_smallcnn_avg": ("7e0dee49", "5ac1dd12"),
    "capstone_trades_smallcnn_silu_avg": ("58f27a39", "010479a2"),
    "capstone_trades_smallcnn_avg12": ("7e0dee49", "c5092c1d"),
    "capstone_trades_smallcnn_avg15": ("7e0dee49", "f774655c"),
    "capstone_trades_smallcnn_avg12_shift": ("7fd8e6aa", "d0b04441"),
    "capstone_trades_smallcnn_avg12_shift_beta9": ("d7c4ed4d", "2049db61"),
    "capstone_trades_smallcnn_avg12_shift_awp": ("fdf9e54f", "67816111"),
    "capstone_trades_smallcnn_avg12_shift_dropout": ("37761195", "eb2ad521"),
    "capstone_trades_smallcnn_w15_shift": ("aaf03c23", "dddcd565"),
    "capstone_trades_smallcnn_shift_steps20": ("f5f14eb6", "69a68fb3"),
    "capstone_trades_smallcnn_shift18": ("7fd8e6aa", "ebde634c"),
    "capstone_smallcnn_shift_mart": ("7d8b3d9a", "20deb3ca"),
    "capstone_trades_smallcnn_avg_eps033": ("6c0cac10", "c79ebf9c"),
}
# Full MNIST's content identity (data.source_identity of the 70,000 images and labels, wherever they are read
# from): part of the full-mode keys' hash. tests/test_shipped.py checks it against the real files where they are.
FULL_MNIST_IDENTITY = data.MNIST_IDENTITY

# The same runs' keys under the cache's first format (before 2026-12), which named the data by its folder and
# its files' sizes and times: zoo.legacy_cache_key still computes them, to adopt the models saved then. That
# they still come out proves the recipes did not move when the key format did.
LEGACY_KEYS = {
    "capstone": ("a7dcbc3c", "2dd6ae2f"),
    "capstone_no_warmup": ("d2d0469f", "a464cc2f"),
    "capstone_fgsm": ("502aeb3d", "3b3eb68c"),
    "capstone_fast": ("28f636b9", "a08375f8"),
    "capstone_fast_large_step": ("12ef9076", "46e2f8d5"),
    "capstone_trades": ("808ae9ed", "c034f027"),
    "capstone_wide": ("b1808f84", "526fe3c3"),
    "capstone_trades_smallcnn": ("d5ab4e20", "ac2c966c"),
    "capstone_trades_smallcnn_avg": ("743c706b", "333b5e80"),
    "capstone_trades_smallcnn_silu_avg": ("f00997e0", "ef542da7"),
    "capstone_trades_smallcnn_avg12": ("743c706b", "1d964211"),
    "capstone_trades_smallcnn_avg15": ("743c706b", "9953e408"),
    "capstone_trades_smallcnn_avg12_shift": ("9937b1c4", "af9bf5c9"),
    "capstone_trades_smallcnn_avg12_shift_beta9": ("1dbb6787", "8b3f36e3"),
    "capstone_trades_smallcnn_avg12_shift_awp": ("6784aede", "71af910c"),
    "capstone_trades_smallcnn_avg12_shift_dropout": ("3986d1d4", "7a1da496"),
    "capstone_trades_smallcnn_w15_shift": ("765c6126", "5cf7a12d"),
    "capstone_trades_smallcnn_shift_steps20": ("520fbe7c", "a78e71cd"),
    "capstone_trades_smallcnn_shift18": ("9937b1c4", "c037a41b"),
    "capstone_smallcnn_shift_mart": ("07b84aac", "a69471b2"),
    "capstone_trades_smallcnn_avg_eps033": ("28531ac2", "22afb6d1"),
}
# The data folder and file identity the full-mode runs were first trained with: part of the first format's
# hash, so the recorded keys need these exact strings. The test fakes the data lookup with them.
FULL_DATA = ("/work/shared/data", "mnist.npz:11490519:1796467374814387382")


@pytest.fixture(scope="module", autouse=True)
def _registered():
    capstone.register()


def _in_mode(monkeypatch, quick: bool):
    monkeypatch.setenv("ADVLAB_QUICK", "1" if quick else "0")


# --------------------------------------------------------------------------- the specs


@pytest.mark.parametrize("name", WITH_PARENT)
def test_each_run_changes_one_idea_of_its_parent_or_declares_why(name):
    spec = SPECS[name]
    changed = differences(spec, SPECS[spec.parent])
    if spec.changes:
        assert set(spec.changes) == set(changed) and len(changed) > 1, (spec.changes, changed)
    else:
        assert len(changed) == 1, f"{name} changes {changed} of {spec.parent}: declare changes= with a reason"


def test_every_run_descends_from_the_capstone_and_every_spec_is_listed():
    assert [name for name, spec in SPECS.items() if spec.parent is None] == ["capstone"]
    for name, spec in SPECS.items():
        seen = {name}
        while spec.parent is not None:                          # parents come first and there is no cycle
            assert spec.parent in SPECS and spec.parent not in seen, name
            seen.add(spec.parent)
            spec = SPECS[spec.parent]
    assert set(TRAINED_KEYS) == set(LEGACY_KEYS) == set(SPECS)
    assert set(ZOO_KEEPS) <= set(SPECS)


@pytest.mark.parametrize("name", ZOO_KEEPS)
def test_the_zoo_models_are_their_specs(monkeypatch, name):
    spec = SPECS[name]
    assert zoo.settings(name) == spec.settings()
    for quick, epochs in zip((True, False), spec.epochs):
        _in_mode(monkeypatch, quick)
        assert zoo.hparams(name).epochs == epochs, (name, quick)


def test_the_zoo_keeps_the_lessons_capstone_models_and_the_champion():
    lessons = [n for n in (*zoo.LESSON_MODELS["09"], *zoo.LESSON_MODELS_FULL["09"]) if n.startswith("capstone")]
    assert sorted(ZOO_KEEPS) == sorted({*lessons, zoo.CHAMPION})
    assert zoo.CHAMPION == "capstone_trades_smallcnn_avg12_shift" and "champion" in zoo.describe()[zoo.CHAMPION]
    assert set(capstone.experiment_names()) == set(SPECS) - set(ZOO_KEEPS)
    assert set(capstone.experiment_names()).isdisjoint(zoo.CAPSTONE_VARIANTS)


def test_settings_leave_out_what_is_unset_and_keep_each_value_s_type():
    root, shifted = SPECS["capstone"].settings(), SPECS[zoo.CHAMPION].settings()
    assert root == {"method": "pgd", "eps": 0.3, "steps": 10, "mix": 1.0, "warmup_fraction": 0.3, "width": 1,
                    "peak_learning_rate": 5e-3}
    assert type(root["width"]) is int                                     # 1.0 would hash to another cache key
    assert set(shifted) - set(root) == {"beta", "architecture", "weight_average", "shift_pixels"}
    assert "epochs" not in shifted and SPECS[zoo.CHAMPION].epochs == (2, 12)


def test_derive_names_the_changes_and_refuses_what_is_not_a_change():
    shifted = SPECS[zoo.CHAMPION]
    beta9 = capstone.derive(shifted, "test_beta9", "a test", trainer={"beta": 9.0})
    assert beta9.parent == zoo.CHAMPION and differences(beta9, shifted) == ["trainer.beta"]
    assert beta9.settings() == dict(shifted.settings(), beta=9.0)
    assert differences(capstone.derive(SPECS["capstone"], "t", "a test", network={"width": 1.0}),
                       SPECS["capstone"]) == ["network.width"]                # 1 -> 1.0: another key, a change
    with pytest.raises(ValueError, match="no field"):
        capstone.derive(shifted, "t", "a test", trainer={"gamma": 0.1})
    with pytest.raises(ValueError, match="changes nothing"):
        capstone.derive(shifted, "t", "a test", trainer={"beta": 6.0})
    with pytest.raises(ValueError, match="changes_reason"):
        capstone.derive(shifted, "t", "a test", trainer={"beta": 9.0}, changes=("trainer.beta",))
    with pytest.raises(ValueError, match="unknown field path"):
        capstone.derive(shifted, "t", "a test", trainer={"beta": 9.0}, changes=("beta",), changes_reason="x")
    for bad in ({"eps": 0.0}, {"method": "free"}, {"steps": 1.5}):
        with pytest.raises(ValueError, match="Trainer"):
            capstone.derive(shifted, "t", "a test", trainer=bad)
    with pytest.raises(ValueError, match="epochs"):
        capstone.derive(shifted, "t", "a test", schedule={"epochs": (2, 12, 3)})
    with pytest.raises(ValueError, match="name"):
        capstone.derive(shifted, "not a name", "a test", trainer={"beta": 9.0})


# --------------------------------------------------------------------------- the zoo trains and loads them


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_run_keeps_the_cache_key_it_was_trained_under(monkeypatch, name):
    _in_mode(monkeypatch, True)
    quick, full = TRAINED_KEYS[name]
    old_quick, old_full = LEGACY_KEYS[name]
    assert zoo.cache_key(name) == f"{name}-quick-{quick}"
    assert zoo.legacy_cache_key(name) == f"{name}-quick-sample-{old_quick}"
    _in_mode(monkeypatch, False)
    monkeypatch.setattr(data, "resolve_source", lambda *a, **k: ("local", FULL_DATA[0]))
    monkeypatch.setattr(data, "source_identity", lambda source, folder: FULL_MNIST_IDENTITY)
    monkeypatch.setattr(data, "legacy_source_identity", lambda source, folder: FULL_DATA[1])
    assert zoo.cache_key(name) == f"{name}-full-{full}"
    assert zoo.legacy_cache_key(name) == f"{name}-full-local-{old_full}"


def test_register_adds_the_research_runs_with_the_capstone_hyper_parameters(monkeypatch):
    names = capstone.register()
    assert names == capstone.experiment_names() == capstone.register()          # again: the same, nothing new
    assert "capstone_fast_large_step" in names and set(names) <= set(zoo.names())
    for quick in (True, False):
        _in_mode(monkeypatch, quick)
        for name in names:
            spec = SPECS[name]
            assert zoo.settings(name) == spec.settings()
            assert zoo.hparams(name) == zoo.hparams("capstone").replace(epochs=spec.epochs[0 if quick else 1])
            assert zoo.describe()[name] == spec.description


def test_register_refuses_a_spec_that_drifted_from_the_zoo_model(monkeypatch):
    drifted = capstone.derive(SPECS["capstone"], "capstone_wide", "a test", network={"width": 3})
    monkeypatch.setitem(SPECS, "capstone_wide", drifted)
    with pytest.raises(ValueError, match="capstone_wide"):
        capstone.register()


def test_a_registered_run_loads_from_the_artifacts_like_any_zoo_model():
    name = "capstone_fast_large_step"
    model = zoo.build_capstone_network(SPECS[name].settings())
    zoo.store(name, model, {"history": {}}, verbose=0)
    assert zoo.is_stored(name)
    loaded = zoo.get(name, verbose=0)
    x = data.load_normalized("test", limit=8, verbose=False)[0]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert zoo.metadata(name)["settings"] == SPECS[name].settings()


# --------------------------------------------------------------------------- what some runs change


def test_the_wider_smallcnn_run_scales_every_layer():
    wide = zoo.build_capstone_network(SPECS["capstone_trades_smallcnn_w15_shift"].settings())
    assert wide.count_params() == 700_282
    convs = [layer.filters for layer in wide.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    dense = [layer.units for layer in wide.layers if isinstance(layer, tf.keras.layers.Dense)]
    assert convs == [48, 48, 96, 96] and dense == [300, 300, 10]
    assert wide(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)


def test_the_twenty_step_run_reaches_the_trainer_and_stays_inside_the_ball(base_model, test_batch):
    spec = SPECS["capstone_trades_smallcnn_shift_steps20"]
    x, y = tf.constant(test_batch[0][:32]), tf.constant(test_batch[1][:32])
    batches = {}
    for settings in (spec.settings(), SPECS[spec.parent].settings()):       # 20 steps, then the parent's 10
        trainer = training.AdversarialTrainer(base_model, method=settings["method"], eps=settings["eps"],
                                              steps=settings["steps"])
        tf.random.set_seed(0)                                                  # the same noisy start
        batches[trainer.steps] = trainer.adversarial_batch(x, y, eps=0.3).numpy()
    assert sorted(batches) == [10, 20] and not np.allclose(batches[20], batches[10], atol=1e-3)
    for x_adv in batches.values():
        assert np.abs(x_adv - x.numpy()).max() <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1


def test_the_dropout_run_adds_trades_dropout_between_the_dense_layers_in_training_mode_only():
    plain = zoo.build_capstone_network(SPECS[zoo.CHAMPION].settings())
    dropped = zoo.build_capstone_network(SPECS["capstone_trades_smallcnn_avg12_shift_dropout"].settings())
    assert dropped.count_params() == plain.count_params() == 312_202
    dropouts = [layer for layer in dropped.layers if isinstance(layer, tf.keras.layers.Dropout)]
    assert len(dropouts) == 1 and dropouts[0].rate == 0.5
    assert not any(isinstance(layer, tf.keras.layers.Dropout) for layer in plain.layers)
    before = dropped.layers[dropped.layers.index(dropouts[0]) - 1]                 # between Dense(200) and Dense(200)
    after = dropped.layers[dropped.layers.index(dropouts[0]) + 1]
    assert isinstance(before, tf.keras.layers.Dense) and isinstance(after, tf.keras.layers.Dense)
    assert before.units == after.units == 200
    dropped.set_weights(plain.get_weights())
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(dropped(x, training=False).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-6)
    tf.keras.utils.set_random_seed(0)
    assert not np.allclose(dropped(x, training=True).numpy(), plain(x, training=True).numpy(), atol=1e-4)
    with pytest.raises(ValueError, match="dropout"):
        models.build_trades_cnn(dropout=1.0)
    with pytest.raises(ValueError, match="dropout"):
        zoo.build_capstone_network(dict(zoo.CAPSTONE, dropout=0.5))


def test_the_silu_run_changes_only_the_activation():
    relu = zoo.build_capstone_network(SPECS["capstone_trades_smallcnn_avg"].settings())
    silu = zoo.build_capstone_network(SPECS["capstone_trades_smallcnn_silu_avg"].settings())
    assert silu.count_params() == relu.count_params() == 312_202
    silu.set_weights(relu.get_weights())
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    assert not np.allclose(silu(x).numpy(), relu(x).numpy())                 # the activation really changed
    conv = next(layer for layer in silu.layers if isinstance(layer, tf.keras.layers.Conv2D))
    z = np.linspace(-4, 4, 9, dtype=np.float32)
    np.testing.assert_allclose(conv.activation(z).numpy(), z / (1 + np.exp(-z)), rtol=1e-5)
    with pytest.raises(ValueError, match="activation"):
        models.build_trades_cnn(activation="tanh")
    with pytest.raises(ValueError, match="activation"):
        zoo.build_capstone_network(dict(zoo.CAPSTONE, activation="silu"))


# --------------------------------------------------------------------------- beside the course, never in it


def test_experiments_stay_out_of_the_helpers_package_and_the_lessons():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert packages == ["helpers"]                                   # pip install -e . installs helpers only
    importing = re.compile(r"^\s*(from|import)\s+experiments\b", re.MULTILINE)
    for path in [*ROOT.glob("helpers/**/*.py"), *ROOT.glob("notebooks/*.ipynb")]:
        text = path.read_text()
        if path.suffix == ".ipynb":
            text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
        assert not importing.search(text), f"{path.relative_to(ROOT)} imports experiments"


def test_the_readme_lists_every_run_as_the_specs_say():
    readme = (ROOT / "experiments" / "capstone" / "README.md").read_text()
    assert capstone.table() in readme, "stale list of runs: python -m experiments.capstone --write"
    assert all(f"`{name}`" in capstone.table() for name in SPECS)
