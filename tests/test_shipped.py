"""The full-mode models shipped with the course (shipped_models/, written by `make models-full`): each loads,
keeps the accuracy its record states, and is the model the zoo would train for full MNIST today."""
import json
import os

import pytest

from lesson_runs import FULL_DATA_DIR
from helpers import data, evaluation, models, zoo

FULL_MNIST_IDENTITY = data.MNIST_IDENTITY

SHIPPED = sorted(zoo.SHIPPED_DIR.glob("*-full-*.json"))


def test_the_shipped_folder_holds_lessons_02_to_08_in_at_most_25_mb_with_its_table():
    names = [json.loads(p.read_text())["name"] for p in SHIPPED]
    assert sorted(names) == sorted(zoo.shipped_models()), "run make models-full to ship what is missing"
    total = sum(p.stat().st_size for p in zoo.SHIPPED_DIR.iterdir())
    assert total <= 25e6, f"the shipped folder holds {total / 1e6:.1f} MB"
    assert (zoo.SHIPPED_DIR / "README.md").read_text() == zoo.shipped_table(), \
        "shipped_models/README.md is generated: python -m helpers.pretrain --mode full --ship rewrites it"


@pytest.mark.parametrize("meta_path", SHIPPED, ids=lambda p: p.stem.split("-")[0])
def test_each_shipped_model_is_what_the_zoo_would_train_for_full_mnist_today(meta_path, monkeypatch):
    meta = json.loads(meta_path.read_text())
    assert meta["data_identity"] == FULL_MNIST_IDENTITY and meta["mode"] == "full"
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    monkeypatch.setattr(data, "resolve_source", lambda *a, **k: ("local", "/anywhere"))
    monkeypatch.setattr(data, "source_identity", lambda source, folder: FULL_MNIST_IDENTITY)
    assert zoo.cache_key(meta["name"]) == meta_path.stem, \
        f"{meta['name']}'s recipe changed since it shipped: run make models-full"
    where = zoo.stored_path(meta["name"])
    assert where is not None and zoo.is_shipped(where)


@pytest.mark.parametrize("meta_path", SHIPPED, ids=lambda p: p.stem.split("-")[0])
def test_each_shipped_model_loads_with_the_accuracy_its_record_states(meta_path, monkeypatch):
    model, meta = models.load_weights_only(meta_path.with_suffix(""))
    row = meta["shipped"]

    def accuracy(x, y):               # lesson 08's source models read their own domain, 0.01 * (x - 0.5)
        if row["clean_domain"] != "[0, 1]":
            return evaluation.accuracy(model, zoo.source_domain(x), y, unit_range=False)
        return evaluation.accuracy(model, x, y)

    assert meta["weights_dtype"] == row["dtype"] and row["clean_shipped"] >= row["clean_float32"] - 0.001 - 1e-9
    if FULL_DATA_DIR:                 # the whole test split, where the machine has full MNIST
        monkeypatch.setenv("ADVLAB_QUICK", "0")                    # quick mode would take its first 2,000
        x, y = data.load_normalized("test", source="local", data_dir=FULL_DATA_DIR, verbose=False)
        assert data.source_identity("local", FULL_DATA_DIR) == FULL_MNIST_IDENTITY
        assert len(y) == row["test_examples"]
        assert abs(accuracy(x, y) - row["clean_shipped"]) < 1e-4
    else:                             # the sample's 2,000 test images, everywhere
        x, y = data.load_normalized("test", source="sample", verbose=False)
        assert abs(accuracy(x, y) - row["clean_sample_shipped"]) < 1e-4


def test_a_class_without_full_mnist_is_never_served_a_shipped_model(monkeypatch):
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    monkeypatch.setattr(data, "network_reachable", lambda *a, **k: False)
    monkeypatch.setattr(data, "tfds_prepared", lambda: False)
    monkeypatch.delenv("ADVLAB_DATA_DIR", raising=False)
    assert os.environ.get("ADVLAB_QUICK") == "0"
    for name in zoo.shipped_models():              # full mode on the sample: another identity, nothing matches
        where = zoo.stored_path(name)
        assert where is None or not zoo.is_shipped(where)
