"""The zoo's model cache under a class's faults: killed saves, damaged files, two kernels, read-only folders.

Every test uses a tiny recipe (one dense layer, one epoch on the quick-mode sample: about a second) so the
faults, not the training, take the time. Tests that need a second process start one (``python -c``).
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from helpers import config, data, evaluation, models, zoo

REPO = Path(__file__).resolve().parent.parent

TINY = textwrap.dedent('''
    import os, time
    import helpers  # noqa: F401
    import tensorflow as tf
    from helpers import models, training, zoo

    def train(hp, train_ds, verbose):
        time.sleep(float(os.environ.get("TINY_SLEEP", "0")))   # long enough for a second kernel to ask
        model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(),
                                     tf.keras.layers.Dense(10)], name="tiny")
        history = training.train_classifier(model, train_ds, hp.replace(epochs=1), verbose=0)
        return model, {"history": history.history}

    zoo.register("tiny", zoo.Recipe(train, "one dense layer, one epoch (tests only)"))
''')


def _register_tiny():
    namespace = {}
    exec(TINY, namespace)                       # the same recipe as the subprocesses'


_register_tiny()


def _in_subprocess(code: str, tmp_path: Path, env: dict | None = None) -> subprocess.Popen:
    """A Python process that registers the tiny recipe, then runs ``code``; its output is piped."""
    script = tmp_path / f"run_{os.getpid()}_{abs(hash(code)) % 10**8}.py"
    script.write_text(TINY + "\n" + textwrap.dedent(code))
    full_env = dict(os.environ, ADVLAB_QUICK="1", PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=full_env, cwd=str(tmp_path))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty artifacts folder of its own."""
    folder = tmp_path / "artifacts"
    monkeypatch.setenv("ADVLAB_ARTIFACTS", str(folder))
    zoo._UNSAVED.clear()
    zoo._ANNOUNCED.clear()          # a kernel says what it loaded once per model: start as a fresh kernel
    return folder


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "models").iterdir()) if (folder / "models").is_dir() else []


def test_a_truncated_model_file_is_named_and_trained_again(cache, capsys):
    zoo.get("tiny")
    keras_file = zoo.path("tiny").with_suffix(".keras")
    keras_file.write_bytes(keras_file.read_bytes()[: keras_file.stat().st_size // 2])     # cut short
    capsys.readouterr()
    model = zoo.get("tiny")
    out = capsys.readouterr().out
    assert f"{keras_file} cannot be read" in out and "training 'tiny'" in out and "saved 'tiny'" in out
    x, y = data.load_normalized("test", limit=50, verbose=False)
    assert model(x).shape == (50, 10)
    zoo._ANNOUNCED.clear()                                             # in a new kernel,
    zoo.get("tiny")                                                    # the new copy loads
    assert "loaded 'tiny'" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["broken json", "not an object", "json missing", "model missing"])
def test_broken_or_missing_metadata_never_blocks_the_model(cache, capsys, damage):
    zoo.get("tiny")
    where = zoo.path("tiny")
    if damage == "broken json":
        where.with_suffix(".json").write_text('{"name": "tiny", ')
    elif damage == "not an object":
        where.with_suffix(".json").write_text("[1, 2]")
    elif damage == "json missing":
        where.with_suffix(".json").unlink()
    else:
        where.with_suffix(".keras").unlink()
    capsys.readouterr()
    zoo.get("tiny")
    out = capsys.readouterr().out
    assert "training 'tiny'" in out and "saved 'tiny'" in out
    if damage != "json missing":                  # a missing commit mark is an unfinished save: no message owed
        assert str(where.with_suffix(".json")) in out and "will be trained again" in out
    assert zoo.metadata("tiny")["name"] == "tiny"


def test_metadata_that_does_not_match_the_recipe_is_not_served(cache, capsys):
    zoo.get("tiny")
    where = zoo.path("tiny").with_suffix(".json")
    meta = json.loads(where.read_text())
    meta["hparams"]["epochs"] = 99
    meta["test_accuracy"] = 1.0
    where.write_text(json.dumps(meta))
    capsys.readouterr()
    assert zoo.metadata("tiny")["test_accuracy"] < 1.0                 # retrained, not the edited record
    out = capsys.readouterr().out
    assert "hparams differ" in out and "training 'tiny'" in out


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["writing the model", "before the metadata"])
def test_a_kernel_killed_while_saving_leaves_a_clean_cache(cache, tmp_path, capsys, moment):
    zoo.get("tiny")                                 # an older good copy is there: the killed save replaces it
    old_meta = zoo.metadata("tiny")
    killer = {
        "writing the model": '''
            import tensorflow as tf
            def half_then_die(self, path, *a, **k):
                with open(path, "wb") as f:
                    f.write(b"PK" + b"\\0" * 1000)          # the first bytes of a .keras (zip) file
                os.kill(os.getpid(), 9)
            tf.keras.Model.save = half_then_die
        ''',
        "before the metadata": '''
            real_replace = os.replace
            def die_on_json(src, dst):
                if str(dst).endswith(".json") and os.path.basename(os.path.dirname(str(dst))) == "models":
                    os.kill(os.getpid(), 9)                  # the model's record, not the data's identity
                real_replace(src, dst)
            models.os.replace = die_on_json
        ''',
    }[moment]
    proc = _in_subprocess(textwrap.dedent(killer) + "\nzoo.get('tiny', retrain=True)\n", tmp_path)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == -9, out                                  # killed, as a kernel would be
    assert not zoo.path("tiny").with_suffix(".json").exists()          # no commit mark: the entry is absent
    capsys.readouterr()
    zoo.get("tiny")
    out = capsys.readouterr().out
    assert "training 'tiny'" in out and "saved 'tiny'" in out and "Error" not in out
    assert zoo.metadata("tiny")["saved_at"] >= old_meta["saved_at"]
    assert not [f for f in _files(cache) if ".tmp" in f]               # the killed save's leftovers are gone


@pytest.mark.slow
def test_two_kernels_asking_for_the_same_model_train_it_once(cache, tmp_path):
    code = '''
        model = zoo.get("tiny")
        print("predictions", model.predict(tf.zeros((1, 28, 28, 1)), verbose=0).round(4).tolist())
    '''
    env = {"TINY_SLEEP": "10"}
    first = _in_subprocess(code, tmp_path, env)
    second = _in_subprocess(code, tmp_path, env)
    outs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    trained = [o for o in outs if "zoo: training 'tiny'" in o]
    waited = [o for o in outs if "zoo: training 'tiny'" not in o]
    assert len(trained) == 1 and len(waited) == 1, outs
    assert "waiting for process" in waited[0] and "loaded 'tiny'" in waited[0], waited[0]
    predictions = [o.split("predictions")[1].strip() for o in outs]
    assert predictions[0] == predictions[1]                            # the same model, not two


def _make_read_only(folder: Path) -> None:
    """Make ``folder`` and everything under it read-only, also for root (who ignores permission bits)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if not config.writable(folder) and not config.writable(folder / "models"):
        return
    if shutil.which("chattr"):
        subprocess.run(["chattr", "-R", "+i", str(folder)], capture_output=True)
    if config.writable(folder / "models"):
        pytest.skip("cannot make a folder read-only here (root without chattr)")


def _make_writable(folder: Path) -> None:
    if shutil.which("chattr"):
        subprocess.run(["chattr", "-R", "-i", str(folder)], capture_output=True)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture
def shared_and_own(tmp_path, monkeypatch):
    """An instructor's folder holding the tiny model, made read-only, then a student's own empty folder."""
    zoo._UNSAVED.clear()
    shared, own = tmp_path / "course", tmp_path / "student"
    monkeypatch.setenv("ADVLAB_ARTIFACTS", str(shared))
    zoo.get("tiny", verbose=0)
    _make_read_only(shared)
    yield shared, own
    _make_writable(shared)


def test_models_are_read_from_a_read_only_shared_folder_and_written_to_ones_own(shared_and_own, monkeypatch,
                                                                              capsys):
    shared, own = shared_and_own
    monkeypatch.setenv("ADVLAB_ARTIFACTS", os.pathsep.join([str(shared), str(own)]))
    zoo._ANNOUNCED.clear()                         # a student's kernel
    zoo.get("tiny")
    assert "loaded 'tiny'" in capsys.readouterr().out and str(shared) in zoo.stored_path("tiny").as_posix()
    assert config.artifacts_dir() == own
    zoo.get("tiny", retrain=True)                                      # a new model goes to the student's folder
    assert (own / "models" / (zoo.cache_key("tiny") + ".json")).is_file()


def test_with_no_writable_folder_the_trained_model_is_returned_with_a_warning(shared_and_own, monkeypatch):
    shared, _ = shared_and_own
    monkeypatch.setenv("ADVLAB_ARTIFACTS", str(shared))
    monkeypatch.setenv("ADVLAB_SEED", "1")                             # a model the shared folder does not have
    with pytest.warns(UserWarning, match="could not be saved.*ADVLAB_ARTIFACTS"):
        model = zoo.get("tiny")
    x, _ = data.load_normalized("test", limit=5, verbose=False)
    assert model(x).shape == (5, 10)
    assert zoo.metadata("tiny")["seed"] == 1 and zoo.is_stored("tiny")     # kept in this kernel
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert zoo.get("tiny", verbose=0) is model                     # no second training in this kernel
    with pytest.raises(PermissionError, match="Add a folder of your own"):
        config.artifacts_dir()


def test_the_cache_key_follows_the_data_not_its_folder_or_file_time(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    with np.load(data.SAMPLE_PATH) as d:
        arrays = {k: d[k][:100] for k in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(folder / "mnist.npz", **arrays)
    monkeypatch.setenv("ADVLAB_DATA_DIR", str(folder))
    first = zoo.cache_key("base")
    assert zoo.cache_key("base") == first                              # stable while nothing changes
    os.utime(folder / "mnist.npz", ns=(10**9, 10**9))                  # touched: the same digits, the same key
    assert zoo.cache_key("base") == first
    moved = tmp_path / "elsewhere"
    shutil.copytree(folder, moved)
    monkeypatch.setenv("ADVLAB_DATA_DIR", str(moved))                  # another folder: the same key
    assert zoo.cache_key("base") == first
    monkeypatch.setenv("ADVLAB_DATA_DIR", str(folder))
    arrays["y_train"] = arrays["y_train"][::-1].copy()                 # another file under the same name
    np.savez(folder / "mnist.npz", **arrays)
    os.utime(folder / "mnist.npz", ns=(1, 1))
    assert zoo.cache_key("base") != first
    monkeypatch.setenv("ADVLAB_DATA_DIR", str(folder / "mnist.npz"))
    with pytest.raises(NotADirectoryError, match="is a file, not a folder.*set ADVLAB_DATA_DIR"):
        zoo.cache_key("base")


def test_atomic_save_leaves_no_temporary_files_and_replaces_the_old_model(tmp_path):
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
    models.save_model(model, tmp_path / "m", {"name": "first"})
    models.save_model(model, tmp_path / "m", {"name": "second"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]
    assert models.load_model(tmp_path / "m")[1]["name"] == "second"
    (tmp_path / "m.keras").write_bytes(b"not a model")
    with pytest.raises(models.BrokenModelFile, match=r"m\.keras cannot be read.*retrain=True"):
        models.load_model(tmp_path / "m")


def test_every_model_a_lesson_asks_for_is_in_the_pretraining_list():
    import re

    for notebook in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        lesson = notebook.name[:2]
        source = "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
                           if c["cell_type"] == "code")
        asked = set(re.findall(r'zoo\.(?:get|metadata)\("([a-z0-9_]+)"\)', source))
        asked |= set(re.findall(r'"(capstone[a-z0-9_]*)"', source))
        if "zoo.BN_RUNS" in source:                       # lesson 08 loads its fine-tuning runs by label
            asked |= {name for name, _ in zoo.BN_RUNS.values()}
        listed = set(zoo.LESSON_MODELS.get(lesson, ())) | set(zoo.LESSON_MODELS_FULL.get(lesson, ()))
        assert asked <= listed, f"lesson {lesson} asks for {sorted(asked - listed)}, missing from zoo.LESSON_MODELS"
    assert set(zoo.lesson_models("full")) <= set(zoo.names())
    assert set(zoo.lesson_models("quick")) < set(zoo.lesson_models("full"))


def test_pretrain_trains_what_is_missing_and_skips_what_is_stored(cache, capsys):
    from helpers import pretrain

    assert zoo.pretrain(["tiny"], verbose=0) == {"tiny": "trained"}
    assert zoo.pretrain(["tiny"], verbose=0) == {"tiny": "stored"}
    assert pretrain.main(["--mode", "quick", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "quick mode: " in listing and "capstone_trades" in listing and "not trained yet" in listing
    with pytest.raises(SystemExit):
        pretrain.main(["--only", "no_such_model"])


def test_lesson_08s_runs_are_distinct_zoo_models_with_the_qas_loop():
    names_ = [name for name, _ in zoo.BN_RUNS.values()]
    assert len(set(names_)) == len(names_) == 8 and set(names_) <= set(zoo.names())
    settings = [json.dumps(zoo.settings(name), sort_keys=True) for name in names_]
    assert len(set(settings)) == len(settings), "two runs with the same settings would be one model"
    assert all(zoo.settings(name)["eps"] == 0.01 for name in names_)
    assert zoo.settings("bn_clean")["adversarial"] is False
    assert zoo.settings("bn_groupnorm")["source"] == "resnet_gn_source"


# --------------------------------------------------------------------------- the cache's first key format


def _as_legacy(cache: Path, **meta_changes) -> Path:
    """Move the stored tiny model under the key the cache's first format gave it, with that format's metadata."""
    where = zoo.path("tiny")
    old = where.with_name(meta_changes.pop("key", zoo.legacy_cache_key("tiny")))
    source, folder = data.resolve_source()
    meta = dict(json.loads(where.with_suffix(".json").read_text()), source=source, data_folder=folder,
                data_identity=data.legacy_source_identity(source, folder), cache_key=old.name)
    meta.update(meta_changes)
    where.with_suffix(".keras").rename(old.with_suffix(".keras"))
    where.with_suffix(".json").unlink()
    old.with_suffix(".json").write_text(json.dumps(meta))
    return old


def test_a_model_saved_under_the_old_key_is_adopted_without_training(cache, capsys):
    trained = zoo.get("tiny")
    old = _as_legacy(cache)
    zoo._ANNOUNCED.clear()
    capsys.readouterr()
    assert not zoo.path("tiny").with_suffix(".keras").exists() and zoo.is_stored("tiny")
    model = zoo.get("tiny")
    out = capsys.readouterr().out
    assert "training" not in out and f"{old.name} (the cache's old key)" in out and zoo.path("tiny").name in out
    x, _ = data.load_normalized("test", limit=20, verbose=False)
    np.testing.assert_allclose(model(x).numpy(), trained(x).numpy(), atol=1e-6)
    assert zoo.metadata("tiny")["adopted_from"] == old.name and zoo.path("tiny").with_suffix(".keras").is_file()


@pytest.mark.parametrize("change", ["data changed", "recipe changed"])
def test_an_old_key_that_cannot_be_confirmed_is_trained_once_more_and_says_why(cache, capsys, change):
    zoo.get("tiny")
    if change == "data changed":
        old = _as_legacy(cache, key="tiny-quick-sample-0badc0de", data_identity="sample:0123456789abcdef")
    else:
        old = _as_legacy(cache, recipe_version=99)
    zoo._ANNOUNCED.clear()
    capsys.readouterr()
    zoo.get("tiny")
    out = capsys.readouterr().out
    assert "training 'tiny'" in out and "saved 'tiny'" in out
    if change == "data changed":          # the same recipe on moved or changed data: the message says why
        assert f"{old.name} was saved under the cache's old key" in out and "trained once more" in out
    else:                                 # another recipe: not this model at all, nothing to explain
        assert "old key" not in out


# --------------------------------------------------------------------------- the shipped models


@pytest.fixture
def shipped(cache, tmp_path, monkeypatch):
    """The tiny model trained in full mode (on a data folder holding the sample's digits) and shipped to a
    folder of its own."""
    monkeypatch.setattr(zoo, "SHIPPED_DIR", tmp_path / "shipped")
    (tmp_path / "mnist").mkdir()
    with np.load(data.SAMPLE_PATH) as d:
        np.savez(tmp_path / "mnist" / "mnist.npz", **{k: d[k] for k in ("x_train", "y_train", "x_test", "y_test")})
    monkeypatch.setenv("ADVLAB_DATA_DIR", str(tmp_path / "mnist"))
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    trained = zoo.get("tiny", verbose=0)
    meta = zoo.metadata("tiny")
    models.save_weights_only(trained, zoo.SHIPPED_DIR / zoo.cache_key("tiny"), meta)
    shutil.rmtree(cache)                                               # nothing in the artifacts now
    zoo._UNSAVED.clear()
    zoo._ANNOUNCED.clear()
    return trained, meta


def test_a_shipped_model_is_served_in_full_mode_when_its_recipe_matches(shipped, capsys, monkeypatch):
    trained, meta = shipped
    capsys.readouterr()
    model = zoo.get("tiny")
    out = capsys.readouterr().out
    assert "training" not in out and "(shipped with the course)" in out
    x, y = data.load_normalized("test", verbose=False)
    assert abs(evaluation.accuracy(model, x, y) - meta["test_accuracy"]) <= 0.001         # float16 weights
    assert zoo.is_shipped(zoo.stored_path("tiny")) and zoo.metadata("tiny")["test_accuracy"] == meta["test_accuracy"]
    with pytest.raises(PermissionError, match="shipped with the course.*read-only"):
        zoo.update_metadata("tiny", note=1)
    assert not (config.artifacts_dir() / "models").exists() or not list((config.artifacts_dir() / "models").glob("*"))


def test_a_shipped_model_is_never_served_in_quick_mode_or_for_another_recipe(shipped, monkeypatch):
    monkeypatch.setenv("ADVLAB_QUICK", "1")
    assert not zoo.is_stored("tiny")
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    assert zoo.is_stored("tiny")
    where = zoo.SHIPPED_DIR / zoo.cache_key("tiny")
    meta = json.loads(where.with_suffix(".json").read_text())
    where.with_suffix(".json").write_text(json.dumps(dict(meta, recipe_version=meta["recipe_version"] + 1)))
    assert not zoo.is_stored("tiny")                                   # its record says another recipe


def test_a_damaged_shipped_model_is_named_and_trained_instead(shipped, capsys):
    where = zoo.SHIPPED_DIR / zoo.cache_key("tiny")
    where.with_suffix(".npz").write_bytes(b"not a zip")
    capsys.readouterr()
    zoo.get("tiny")
    out = capsys.readouterr().out
    assert f"the shipped model {where.with_suffix('.npz')} cannot be read" in out and "training 'tiny'" in out


def test_weights_only_round_trips_and_refuses_an_unknown_dtype(tmp_path):
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
    x, _ = data.load_normalized("test", limit=20, verbose=False)
    for dtype, tolerance in (("float32", 0.0), ("float16", 1e-2)):
        npz = models.save_weights_only(model, tmp_path / dtype, {"name": "m"}, dtype=dtype)
        loaded, meta = models.load_weights_only(tmp_path / dtype)
        assert meta["weights_dtype"] == dtype and meta["name"] == "m" and npz.stat().st_size > 0
        np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=tolerance)
    assert (tmp_path / "float16.npz").stat().st_size < 0.6 * (tmp_path / "float32.npz").stat().st_size
    with pytest.raises(ValueError, match="float16"):
        models.save_weights_only(model, tmp_path / "m", {}, dtype="int8")


def test_ship_keeps_float32_where_a_weight_overflows_float16(shipped, tmp_path, monkeypatch):
    import tensorflow as tf

    huge = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(),
                                tf.keras.layers.Dense(10)], name="tiny")
    weights = huge.get_weights()
    huge.set_weights([weights[0], weights[1] + 1e5])                   # beyond float16's 65504
    monkeypatch.setattr(models, "load_model", lambda where: (huge, {}))
    monkeypatch.setattr(zoo, "_stored_entry", lambda name, skip=(): (tmp_path / "tiny-full-x", {"name": "tiny"}))
    monkeypatch.setattr(zoo, "SHIP_ROBUST_IMAGES", 50)
    monkeypatch.setattr(data, "MNIST_IDENTITY", data.source_identity(*data.resolve_source()))   # stands for MNIST
    row = zoo.ship("tiny", tmp_path / "out")
    assert row["dtype"] == "float32" and row["clean_shipped"] == row["clean_float32"]
    assert zoo.shipped_table(tmp_path / "out").count("| `tiny` |") == 1


def test_ship_keeps_float16_when_accuracy_holds_and_refuses_quick_mode(shipped, tmp_path, monkeypatch):
    trained, _ = shipped
    monkeypatch.setattr(zoo, "_stored_entry", lambda name, skip=(): (tmp_path / "tiny-full-y", {"name": "tiny"}))
    monkeypatch.setattr(models, "load_model", lambda where: (trained, {}))
    monkeypatch.setattr(zoo, "SHIP_ROBUST_IMAGES", 50)
    monkeypatch.setattr(data, "MNIST_IDENTITY", data.source_identity(*data.resolve_source()))   # stands for MNIST
    row = zoo.ship("tiny", tmp_path / "out")
    assert row["dtype"] == "float16" and abs(row["clean_shipped"] - row["clean_float32"]) <= zoo.SHIP_TOLERANCE
    assert json.loads((tmp_path / "out" / "tiny-full-y.json").read_text())["shipped"] == row
    assert row["clean_sample_shipped"] > 0.5
    monkeypatch.setattr(data, "MNIST_IDENTITY", "mnist-0000000000000000")
    with pytest.raises(ValueError, match="is not full MNIST"):
        zoo.ship("tiny", tmp_path / "out")
    monkeypatch.setenv("ADVLAB_QUICK", "1")
    with pytest.raises(ValueError, match="only full-mode models"):
        zoo.ship("tiny", tmp_path / "out")
