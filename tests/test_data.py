import gzip
import json
import os
import struct
import time

import numpy as np
import pytest
import tensorflow as tf

from helpers import config, data


def _write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def tiny_mnist():
    rng = np.random.default_rng(1)
    return {"x_train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), "y_train": np.arange(30) % 10,
            "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), "y_test": (np.arange(20) * 3) % 10}


# --------------------------------------------------------------------------- the shipped sample

@pytest.mark.parametrize("split,size", [("train", 8000), ("test", 2000)])
def test_sample_split_has_tfds_layout(split, size):
    ds = data.load_mnist(split, source="sample", verbose=False)
    spec = ds.element_spec
    assert set(spec) == {"image", "label"}
    assert spec["image"].shape == (28, 28, 1) and spec["image"].dtype == tf.uint8
    assert spec["label"].shape == () and spec["label"].dtype == tf.int64
    arrays = data.load_mnist_arrays(split, source="sample", verbose=False)
    assert len(arrays) == size
    assert np.bincount(arrays.labels, minlength=10).tolist() == [size // 10] * 10
    assert arrays.images.max() > 200 and arrays.images.min() == 0  # real digits, not blank


def test_sample_is_small_and_documented():
    assert data.SAMPLE_PATH.stat().st_size < 3_000_000
    readme = (data.SAMPLE_PATH.parent / "README.md").read_text()
    assert "Attribution-Share Alike 3.0" in readme and "LeCun" in readme


def test_loader_prints_source_and_count(capsys):
    data.load_mnist("test")
    out = capsys.readouterr().out
    assert "2,000 examples" in out and "sample" in out


def test_quick_mode_uses_the_sample_without_touching_the_network(no_network):
    assert data.resolve_source() == ("sample", None)


def test_offline_full_mode_falls_back_to_the_sample_in_seconds(monkeypatch, no_network, capsys):
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    monkeypatch.delenv("ADVLAB_DATA_DIR", raising=False)
    start = time.perf_counter()
    ds = data.load_mnist("test")
    elapsed = time.perf_counter() - start
    assert elapsed < 20, f"offline fallback took {elapsed:.1f} s"
    assert ds.cardinality().numpy() == 2000
    assert "NOT full-MNIST" in capsys.readouterr().out


def test_online_full_mode_chooses_tfds(monkeypatch):
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    monkeypatch.setattr(data, "tfds_prepared", lambda: False)
    monkeypatch.setattr(data, "network_reachable", lambda *a, **k: True)
    assert data.resolve_source() == ("tfds", None)
    monkeypatch.setattr(data, "network_reachable", lambda *a, **k: False)
    assert data.resolve_source() == ("sample", None)


def test_network_check_is_fast_when_blocked(no_network):
    start = time.perf_counter()
    assert data.network_reachable() is False
    assert time.perf_counter() - start < 5


# --------------------------------------------------------------------------- local folders

def test_local_npz_folder_wins_over_everything(tmp_path, tiny_mnist, monkeypatch):
    np.savez(tmp_path / "mnist.npz", **tiny_mnist)
    monkeypatch.setenv("ADVLAB_DATA_DIR", str(tmp_path))
    assert data.resolve_source()[0] == "local"
    arrays = data.load_mnist_arrays("test", verbose=False)
    assert "local folder" in arrays.source
    np.testing.assert_array_equal(arrays.images[..., 0], tiny_mnist["x_test"])
    np.testing.assert_array_equal(arrays.labels, tiny_mnist["y_test"])
    assert arrays.labels.dtype == np.int64


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_local_idx_files_plain_and_gzipped(tmp_path, tiny_mnist, suffix):
    for split, (img, lab) in data.IDX_FILES.items():
        _write_idx(tmp_path / (img + suffix), tiny_mnist[f"x_{split}"])
        _write_idx(tmp_path / (lab + suffix), tiny_mnist[f"y_{split}"])
    arrays = data.load_mnist_arrays("train", data_dir=tmp_path, verbose=False)
    assert arrays.images.shape == (30, 28, 28, 1)
    np.testing.assert_array_equal(arrays.labels, tiny_mnist["y_train"])


def test_quick_mode_caps_a_local_folder(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    big = {"x_train": rng.integers(0, 256, (9000, 28, 28), dtype=np.uint8), "y_train": np.arange(9000) % 10,
           "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), "y_test": np.arange(10)}
    np.savez(tmp_path / "mnist.npz", **big)
    assert len(data.load_mnist_arrays("train", data_dir=tmp_path, verbose=False)) == config.QUICK_SIZES["train"]
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    assert len(data.load_mnist_arrays("train", data_dir=tmp_path, verbose=False)) == 9000


def test_folder_without_mnist_names_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="mnist.npz.*t10k-images-idx3-ubyte"):
        data.load_mnist("test", data_dir=tmp_path)


def test_missing_folder_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_mnist("test", data_dir=tmp_path / "nope")


def test_truncated_idx_file_is_reported(tmp_path, tiny_mnist):
    for split, (img, lab) in data.IDX_FILES.items():
        _write_idx(tmp_path / img, tiny_mnist[f"x_{split}"])
        _write_idx(tmp_path / lab, tiny_mnist[f"y_{split}"])
    path = tmp_path / data.IDX_FILES["test"][0]
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated"):
        data.load_mnist("test", data_dir=tmp_path)


# --------------------------------------------------------------------------- bad input

def test_unknown_split_lists_the_valid_ones():
    with pytest.raises(ValueError, match="train, test"):
        data.load_mnist("validation")


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="valid sources"):
        data.load_mnist("test", source="kaggle")


def test_labels_out_of_range_are_refused(tmp_path, tiny_mnist):
    tiny_mnist["y_test"] = tiny_mnist["y_test"] + 5
    np.savez(tmp_path / "mnist.npz", **tiny_mnist)
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.9"):
        data.load_mnist("test", data_dir=tmp_path)


@pytest.mark.parametrize("images,labels,message", [
    (np.zeros((2, 28, 28), np.float32), np.array([1, 2]), "already normalised"),
    (np.zeros((2, 32, 32), np.uint8), np.array([1, 2]), "shape"),
    (np.zeros((3, 28, 28), np.uint8), np.array([1, 2]), "3 images but 2 labels"),
    (np.zeros((2, 28, 28), np.uint8), np.array([-1, 2]), "0..9"),
])
def test_validate_arrays_explains_bad_input(images, labels, message):
    with pytest.raises(ValueError, match=message):
        data.validate_arrays(images, labels)


def test_normalize_scales_to_unit_range_and_refuses_double_division():
    features = {"image": tf.constant([[[0]], [[255]]], tf.uint8), "label": tf.constant(3, tf.int64)}
    out = data.normalize(features)
    assert out["image"].dtype == tf.float32
    np.testing.assert_allclose(out["image"].numpy().ravel(), [0.0, 1.0])
    assert features["image"].dtype == tf.uint8  # input not mutated
    with pytest.raises(ValueError, match="already normalised"):
        data.normalize(out)
    with pytest.raises(ValueError, match="feature dict"):
        data.normalize(tf.zeros((28, 28, 1), tf.uint8))


def test_normalize_refuses_float_images_inside_a_dataset_map():
    ds = tf.data.Dataset.from_tensor_slices({"image": np.zeros((4, 28, 28, 1), np.float32), "label": np.arange(4)})
    with pytest.raises(ValueError, match="already normalised"):
        ds.map(data.normalize)


# --------------------------------------------------------------------------- pipelines

def test_pipeline_batches_tuples_and_dicts():
    hp = config.hparams().replace(batch_size=50)
    raw = data.load_mnist("test", verbose=False)
    x, y = next(iter(data.make_pipeline(raw, hp, training=False)))
    assert x.shape == (50, 28, 28, 1) and x.dtype == tf.float32 and y.dtype == tf.int64
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    batch = next(iter(data.make_pipeline(raw, hp, training=False, as_dict=True)))
    assert set(batch) == {"image", "label"} and batch["image"].shape == (50, 28, 28, 1)
    np.testing.assert_array_equal(batch["label"], y)  # test pipelines keep their order


def test_training_pipeline_is_shuffled_and_complete():
    hp = config.hparams().replace(batch_size=500)
    raw = data.load_mnist("test", verbose=False)
    labels = np.concatenate([y.numpy() for _, y in data.make_pipeline(raw, hp, training=True)])
    ordered = data.load_mnist_arrays("test", verbose=False).labels
    assert sorted(labels.tolist()) == sorted(ordered.tolist())
    assert not np.array_equal(labels, ordered)


def test_converters_round_trip():
    image, label = tf.zeros((2, 28, 28, 1)), tf.constant([1, 2], tf.int64)
    as_dict = data.convert_to_dictionaries(image, label)
    back = data.convert_to_tuples(as_dict)
    assert back[0] is image and back[1] is label


def test_pipeline_rejects_tuple_datasets():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 28, 28, 1), np.uint8), np.arange(4)))
    with pytest.raises(ValueError, match="dicts"):
        data.make_pipeline(ds, training=False)


def test_load_normalized_gives_attack_ready_arrays():
    x, y = data.load_normalized("test", limit=64, verbose=False)
    assert x.shape == (64, 28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (64,) and y.dtype == np.int64
    with pytest.raises(ValueError, match="limit"):
        data.load_normalized("test", limit=0, verbose=False)


def test_random_shift_moves_each_image_by_its_own_offset_and_keeps_it_whole():
    images = np.zeros((64, 28, 28, 1), np.float32)
    images[:, 8:20, 10:18] = np.random.default_rng(0).random((64, 12, 8, 1))     # inside the 20x20 centre
    labels = np.arange(64)
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
    shifted = data.random_shift(ds, 2, seed=1)
    assert shifted.cardinality() == ds.cardinality()
    offsets = []
    for (x, y), (x0, y0) in zip(shifted, ds):
        assert x.shape == x0.shape and x.dtype == tf.float32
        np.testing.assert_array_equal(y, y0)
        for moved, original in zip(x.numpy(), x0.numpy()):
            np.testing.assert_allclose(moved.sum(), original.sum(), rtol=1e-6)      # nothing cut off
            match = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                     if np.array_equal(np.roll(original, (dy, dx), axis=(0, 1)), moved)]
            assert len(match) == 1                                                 # a pure translation
            offsets.append(match[0])
    assert len(set(offsets)) > 10                                                  # per image, not per batch
    assert {dy for dy, _ in offsets} == {dx for _, dx in offsets} == {-2, -1, 0, 1, 2}
    again = np.concatenate([x.numpy() for x, _ in shifted])                        # a second pass (epoch)
    first = np.concatenate([x.numpy() for x, _ in data.random_shift(ds, 2, seed=1)])
    assert not np.array_equal(again, first)                                       # new offsets every pass


def test_random_shift_zero_is_the_identity_and_bad_sizes_are_refused():
    ds = tf.data.Dataset.from_tensor_slices((np.ones((4, 28, 28, 1), np.float32), np.arange(4))).batch(2)
    assert data.random_shift(ds, 0) is ds
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="max_pixels"):
            data.random_shift(ds, bad)


# --------------------------------------------------------------------------- damaged data files name themselves

def _npz_folder(tmp_path, tiny_mnist, **override):
    np.savez(tmp_path / "mnist.npz", **dict(tiny_mnist, **override))
    return tmp_path / "mnist.npz"


def test_a_truncated_npz_names_the_file(tmp_path, tiny_mnist):
    npz = _npz_folder(tmp_path, tiny_mnist)
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"{npz}.*truncated or damaged"):
        data.load_mnist_arrays("test", data_dir=tmp_path, verbose=False)


def test_an_npz_with_wrong_keys_or_types_names_the_file(tmp_path, tiny_mnist):
    npz = _npz_folder(tmp_path, {"x_train": tiny_mnist["x_train"], "y_train": tiny_mnist["y_train"]})
    with pytest.raises(ValueError, match=f"{npz} lacks x_test, y_test.*found x_train, y_train"):
        data.load_mnist_arrays("test", data_dir=tmp_path, verbose=False)
    _npz_folder(tmp_path, tiny_mnist, x_test=tiny_mnist["x_test"].astype(np.float32) / 255)
    with pytest.raises(ValueError, match=f"{npz}, split 'test': raw MNIST images must be uint8"):
        data.load_mnist_arrays("test", data_dir=tmp_path, verbose=False)
    np.save(tmp_path / "single.npy", tiny_mnist["x_test"])
    (tmp_path / "single.npy").rename(npz)
    with pytest.raises(ValueError, match=f"{npz} holds a single ndarray, not an npz archive"):
        data.load_mnist_arrays("test", data_dir=tmp_path, verbose=False)
    npz.write_text("x_train,y_train\n1,2\n")
    with pytest.raises(ValueError, match=f"{npz} cannot be read"):
        data.load_mnist_arrays("test", data_dir=tmp_path, verbose=False)


def test_a_truncated_gzipped_idx_file_names_the_file(tmp_path, tiny_mnist):
    for split, (img, lab) in data.IDX_FILES.items():
        _write_idx(tmp_path / f"{img}.gz", tiny_mnist[f"x_{split}"])
        _write_idx(tmp_path / f"{lab}.gz", tiny_mnist[f"y_{split}"])
    path = tmp_path / f"{data.IDX_FILES['test'][0]}.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ValueError, match=f"{path} cannot be read.*truncated or damaged"):
        data.load_mnist_arrays("test", data_dir=tmp_path, verbose=False)
    path.write_bytes(b"\x00\x00\x08")          # shorter than any header, and not gzip
    with pytest.raises(ValueError, match=f"{path}"):
        data.load_mnist_arrays("test", data_dir=tmp_path, verbose=False)


def test_a_data_path_that_is_a_file_is_named_as_such(tmp_path, tiny_mnist, monkeypatch):
    npz = _npz_folder(tmp_path, tiny_mnist)
    monkeypatch.setenv("ADVLAB_DATA_DIR", str(npz))
    with pytest.raises(NotADirectoryError, match=f"{npz} is a file, not a folder.*{tmp_path}"):
        data.load_mnist_arrays("test", verbose=False)


# --------------------------------------------------------------------------- the data's identity is its content

def _fresh_identity(source, folder=None):
    """The identity as a new process would compute it (the per-process memo cleared; the file cache kept)."""
    data._IDENTITIES.clear()
    return data.source_identity(source, str(folder) if folder else None)


def _idx_folder(folder, arrays, suffix=".gz"):
    folder.mkdir()
    for split, (img, lab) in data.IDX_FILES.items():
        _write_idx(folder / (img + suffix), arrays[f"x_{split}"])
        _write_idx(folder / (lab + suffix), arrays[f"y_{split}"])
    return folder


def test_the_same_digits_have_one_identity_in_any_folder_or_format_and_after_a_touch(tmp_path, tiny_mnist):
    (tmp_path / "npz").mkdir()
    np.savez(tmp_path / "npz" / "mnist.npz", **tiny_mnist)
    identity = _fresh_identity("local", tmp_path / "npz")
    assert identity.startswith("mnist-") and len(identity) == len("mnist-") + 16
    assert _fresh_identity("local", _idx_folder(tmp_path / "idx", tiny_mnist)) == identity
    os.utime(tmp_path / "npz" / "mnist.npz", ns=(10**9, 10**9))       # copied, touched: the same digits
    assert _fresh_identity("local", tmp_path / "npz") == identity
    assert _fresh_identity("sample") != identity


@pytest.mark.parametrize("change", ["one pixel", "one label", "one image fewer"])
def test_one_changed_pixel_or_label_gives_another_identity(tmp_path, tiny_mnist, change):
    (tmp_path / "a").mkdir()
    np.savez(tmp_path / "a" / "mnist.npz", **tiny_mnist)
    before = _fresh_identity("local", tmp_path / "a")
    changed = {key: value.copy() for key, value in tiny_mnist.items()}
    if change == "one pixel":
        changed["x_test"][3, 14, 14] ^= 1
    elif change == "one label":
        changed["y_train"][0] = (changed["y_train"][0] + 1) % 10
    else:
        changed["x_train"], changed["y_train"] = changed["x_train"][:-1], changed["y_train"][:-1]
    np.savez(tmp_path / "a" / "mnist.npz", **changed)
    assert _fresh_identity("local", tmp_path / "a") != before


def test_tensorflow_datasets_serving_the_same_digits_gives_the_same_identity(tmp_path, tiny_mnist, monkeypatch):
    (tmp_path / "npz").mkdir()
    np.savez(tmp_path / "npz" / "mnist.npz", **tiny_mnist)
    prepared = tmp_path / "tfds" / "mnist-train.tfrecord-00000-of-00001"
    prepared.parent.mkdir()
    prepared.write_bytes(b"stands for the prepared files")
    files = data._backing_files
    monkeypatch.setattr(data, "_backing_files", lambda source, folder: [prepared] if source == "tfds"
                        else files(source, folder))
    monkeypatch.setattr(data, "load_tfds", lambda split: data.MnistSplit(
        *data.validate_arrays(tiny_mnist[f"x_{split}"], tiny_mnist[f"y_{split}"]), "tensorflow_datasets", split))
    assert _fresh_identity("tfds") == _fresh_identity("local", tmp_path / "npz")


def test_the_identity_is_hashed_once_per_set_of_files_and_kept_in_the_artifacts(tmp_path, tiny_mnist, monkeypatch):
    (tmp_path / "a").mkdir()
    np.savez(tmp_path / "a" / "mnist.npz", **tiny_mnist)
    loads = []
    load = data._load_source
    monkeypatch.setattr(data, "_load_source", lambda *args: loads.append(args) or load(*args))
    identity = _fresh_identity("local", tmp_path / "a")
    assert len(loads) == 2                                               # both splits, once
    assert data.source_identity("local", str(tmp_path / "a")) == identity and len(loads) == 2   # this process
    assert _fresh_identity("local", tmp_path / "a") == identity and len(loads) == 2             # another one
    kept = json.loads((config.artifacts_dir() / data.IDENTITY_CACHE).read_text())
    assert identity in kept.values()
    os.utime(tmp_path / "a" / "mnist.npz", ns=(10**9, 10**9))
    assert _fresh_identity("local", tmp_path / "a") == identity and len(loads) == 4          # touched: hashed again
    (config.artifacts_dir() / data.IDENTITY_CACHE).write_text("{not json")                   # a damaged cache
    assert _fresh_identity("local", tmp_path / "a") == identity and len(loads) == 6


def test_a_folder_without_data_files_has_no_identity_to_share(tmp_path):
    assert _fresh_identity("local", tmp_path) == "no data files"
