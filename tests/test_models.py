import json

import numpy as np
import pytest
import tensorflow as tf

from helpers import config, data, models, zoo


def test_seed_architecture_has_93322_parameters():
    assert models.build_base_model(config.HParams()).count_params() == 93_322
    model = models.build_base_model()
    assert model.input_names == ["image"]
    assert model.output_shape == (None, 10)
    assert model.layers[-1].activation is tf.keras.activations.linear  # logits, no softmax


def test_three_keras_apis_build_the_same_function():
    functional = models.build_base_model()
    sequential = models.build_sequential_model()
    subclassed = models.build_subclassed_model()
    assert functional.count_params() == sequential.count_params() == subclassed.count_params()
    sequential.set_weights(functional.get_weights())
    subclassed.set_weights(functional.get_weights())
    x, _ = data.load_normalized("test", limit=8, verbose=False)
    expected = functional(x).numpy()
    np.testing.assert_allclose(sequential(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(subclassed(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(subclassed({"image": x}).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    model = models.build_base_model()
    x, _ = data.load_normalized("test", limit=4, verbose=False)
    path = models.save_model(model, tmp_path / "m", {"name": "m", "test_accuracy": 0.5})
    loaded, meta = models.load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert path.suffix == ".keras" and meta["name"] == "m" and "saved_at" in meta
    with pytest.raises(FileNotFoundError):
        models.load_model(tmp_path / "absent")


def test_cache_key_separates_mode_and_data(monkeypatch, tmp_path):
    quick = zoo.cache_key("base")
    assert quick.startswith("base-quick-")
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    monkeypatch.setattr(data, "network_reachable", lambda *a, **k: False)
    monkeypatch.setattr(data, "tfds_prepared", lambda: False)
    full_sample = zoo.cache_key("base")                                # offline full mode: the sample's digits
    assert full_sample.startswith("base-full-") and full_sample.split("-")[-1] != quick.split("-")[-1]
    with np.load(data.SAMPLE_PATH) as d:
        np.savez(tmp_path / "mnist.npz", **{k: d[k][:100] for k in ("x_train", "y_train", "x_test", "y_test")})
    monkeypatch.setenv("ADVLAB_DATA_DIR", str(tmp_path))
    other_data = zoo.cache_key("base")
    assert other_data.startswith("base-full-") and other_data not in (quick, full_sample)


@pytest.mark.slow
def test_zoo_trains_once_then_loads(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ADVLAB_ARTIFACTS", str(tmp_path))  # an empty cache, whatever ran before
    with pytest.raises(KeyError, match="knows"):
        zoo.get("no_such_model")
    assert "base" in zoo.names()
    model = zoo.get("base")
    first = capsys.readouterr().out
    assert "training 'base'" in first and "saved 'base'" in first
    meta = json.loads(zoo.path("base").with_suffix(".json").read_text())
    assert meta["mode"] == "quick" and "sample" in meta["data_source"] and meta["train_examples"] == 8000
    assert meta["test_accuracy"] > config.THRESHOLDS["base_clean_accuracy"]
    assert len(meta["history"]["loss"]) == config.hparams().epochs
    again = zoo.get("base")
    assert capsys.readouterr().out == ""                 # one line per model in a kernel, not one per call
    zoo._ANNOUNCED.clear()                               # a new kernel
    again = zoo.get("base")
    assert "loaded 'base'" in capsys.readouterr().out
    x, _ = data.load_normalized("test", limit=8, verbose=False)
    np.testing.assert_allclose(again(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    # a measurement made after training joins the stored metadata, which keeps everything else
    updated = zoo.update_metadata("base", standard_epoch_seconds=np.float32(1.25))
    assert updated == zoo.metadata("base") and updated["standard_epoch_seconds"] == 1.25
    assert {k: v for k, v in updated.items() if k != "standard_epoch_seconds"} == meta
    with pytest.raises(FileNotFoundError, match="no stored model"):
        zoo.update_metadata(next(n for n in zoo.names() if n != "base"), standard_epoch_seconds=1.0)


@pytest.mark.slow
def test_a_lesson_says_up_front_when_its_models_must_be_trained_and_how_long_that_takes(capsys, monkeypatch,
                                                                                      tmp_path):
    import helpers

    monkeypatch.setenv("ADVLAB_ARTIFACTS", str(tmp_path))              # nothing trained yet
    helpers.setup("03")
    said = capsys.readouterr().out.splitlines()
    assert len(said) == 2 and said[1].startswith("lesson 03: 1 of its models is not trained yet (base)")
    seconds = zoo.expected_seconds(["base"])
    assert seconds and f"about {max(1, round(seconds / 60))} minute" in said[1] and "make models" in said[1]
    helpers.setup("01")                                                # a lesson without models says nothing more
    assert len(capsys.readouterr().out.splitlines()) == 1
    zoo.get("base", verbose=0)
    assert zoo.announce_training("03") is None and capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="two digits"):
        zoo.missing("3")
