"""The course's named models: ``zoo.get("base")`` loads one from artifacts/ or trains it.

This is the only module that decides "load or train", so every notebook can
run alone in a fresh kernel: the first notebook that needs a model trains
and saves it, later ones load it in a second.

A saved model lives at ``<artifacts>/models/<name>-<mode>-<hash>.keras``
beside a ``.json`` of its metadata. The hash covers the mode (quick/full),
the data by its content (a hash of the arrays, wherever they were read
from), the seed, the recipe's version, its hyper-parameters and settings, so
a quick-mode model trained on the sample is never mistaken for a full-mode
one trained on full MNIST, nor a model of one MNIST for one of another; the
same MNIST in another folder or from ``tensorflow_datasets`` gives the same
key. Full-mode models shipped with the course (``shipped_models/``, weights
only) are read after every artifacts folder.

What a class can count on:

- Saves are atomic (:func:`models.save_model`): a kernel killed while saving
  leaves no half model behind; a damaged entry is named and trained again.
- On load, the metadata is checked against the recipe; a mismatch trains again,
  it never serves.
- Two kernels asking for the same untrained model: one trains, the other waits
  (a file lock) and then loads it.
- ``ADVLAB_ARTIFACTS`` may name several folders (:func:`config.artifacts_dirs`):
  models are read from the first that has them and written to the first
  writable one; with none writable the model is still returned, with a warning.
- :data:`LESSON_MODELS` and :func:`pretrain` (``make models``) train every
  lesson's models ahead of a class.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import socket
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from filelock import FileLock, Timeout

from . import attacks, batchnorm, config, data, evaluation, models, nsl, training
from .config import HParams
from .progress import bar as progress_bar


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to make one named model.

    ``train(hparams, train_ds, verbose)`` returns ``(model, info)``: a
    plain Keras model that outputs logits, and a dict of facts to store
    (e.g. epoch times). ``hparams(base)`` gives the hyper-parameters this
    recipe uses, starting from the mode's defaults. ``version``: raise it
    when a change to the training code changes the model, so that saved
    copies are trained again (it is part of the cache key).
    """

    train: Callable[[HParams, tf.data.Dataset, int], tuple[tf.keras.Model, dict]]
    description: str
    hparams: Callable[[HParams], HParams] = lambda h: h
    settings: dict = dataclasses.field(default_factory=dict)
    version: int = 1


_RECIPES: dict[str, Recipe] = {}


def register(name: str, recipe: Recipe) -> None:
    """Add a named model to the zoo (later modules and notebooks may add their own)."""
    _RECIPES[name] = recipe


def names() -> list[str]:
    """The names the zoo knows."""
    return sorted(_RECIPES)


def describe() -> dict[str, str]:
    """Name -> one-line description, for every model the zoo knows."""
    return {n: _RECIPES[n].description for n in names()}


def _recipe(name: str) -> Recipe:
    if name not in _RECIPES:
        raise KeyError(f"the zoo has no model named {name!r}; it knows {', '.join(names())}")
    return _RECIPES[name]


def hparams(name: str) -> HParams:
    """The hyper-parameters the model ``name`` is trained with in the current mode."""
    return _recipe(name).hparams(config.hparams())


def settings(name: str) -> dict:
    """The settings that define the model ``name`` (part of its cache key), without training or loading it."""
    return dict(_recipe(name).settings)


def _identity(name: str) -> dict:
    """Everything that changes the model ``name``, as stored in its metadata and hashed into its cache key.

    The data enters by its content (:func:`data.source_identity`), not by where it was read from: the same
    MNIST in another folder, copied, touched, or served by ``tensorflow_datasets`` gives the same key.
    """
    recipe = _recipe(name)
    source, folder = data.resolve_source()
    return json.loads(json.dumps({
        "mode": config.mode(), "data_identity": data.source_identity(source, folder), "seed": config.seed(),
        "recipe_version": recipe.version, "hparams": recipe.hparams(config.hparams()).to_dict(),
        "settings": recipe.settings}, default=str))


def cache_key(name: str) -> str:
    """``<name>-<mode>-<hash>``: what identifies one trained model on disk (the hash of :func:`_identity`)."""
    identity = _identity(name)
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    return f"{name}-{identity['mode']}-{digest}"


def _models_dir(folder: Path) -> Path:
    return folder / "models"


def path(name: str) -> Path:
    """Where the model ``name`` is (or will be) written, without suffix: in the first writable artifacts folder."""
    return _models_dir(config.artifacts_dir()) / cache_key(name)


def _candidates(name: str) -> list[Path]:
    key = cache_key(name)
    return [_models_dir(folder) / key for folder in config.artifacts_dirs()]


def stored_path(name: str) -> Path | None:
    """Where a complete saved copy of ``name`` whose metadata matches its recipe is, in the first folder that
    has one; ``None`` when there is none."""
    entry = _stored_entry(name)
    return entry[0] if entry else None


def is_stored(name: str) -> bool:
    """True when ``name`` has a good saved copy for this mode and data (or one this process holds)."""
    return cache_key(name) in _UNSAVED or stored_path(name) is not None


# Models trained in this process that could not be saved (no writable folder): key -> (model, metadata).
_UNSAVED: dict[str, tuple[tf.keras.Model, dict]] = {}


def _mismatch(meta: dict, identity: dict) -> list[str]:
    """The fields of the recipe's identity that the stored metadata does not match."""
    return [k for k, v in identity.items() if meta.get(k) != v]


def _stored_entry(name: str, skip: tuple[Path, ...] = ()) -> tuple[Path, dict] | None:
    """``(path, metadata)`` of the first complete saved copy of ``name`` whose metadata matches its recipe.

    Looks in every artifacts folder, then (a copy saved under the cache's first key format, adopted when its
    data checks out: :func:`_adopt_legacy`), then in the shipped folder (full mode only). A copy that cannot be
    read, or whose metadata does not match the recipe, is named and skipped (and un-committed, where the
    folder can be written, so that the model is trained again in its place).
    """
    identity = _identity(name)
    for where in _candidates(name):
        if where in skip or not where.with_suffix(".json").is_file():
            continue                      # absent, or a save that never finished (no commit mark)
        try:
            if not where.with_suffix(".keras").is_file():
                raise models.BrokenModelFile(f"{where.with_suffix('.json')} has no model file beside it")
            meta = models.read_metadata(where)
            wrong = _mismatch(meta, identity)
            if wrong:
                raise models.BrokenModelFile(f"{where.with_suffix('.json')} was saved by a different recipe or "
                                             f"data ({', '.join(wrong)} differ)")
        except models.BrokenModelFile as error:
            _skip(name, where, error)
            continue
        return where, meta
    adopted = _adopt_legacy(name, identity)
    if adopted is not None and adopted[0] not in skip:
        return adopted
    shipped = _shipped_entry(name, identity)
    if shipped is not None and shipped[0] not in skip:
        return shipped
    return None


# --------------------------------------------------------------------------- the shipped models

# Full-mode models trained once by `make models-full` and shipped with the course (weights only, see
# models.save_weights_only), read after every artifacts folder and never written by a lesson.
SHIPPED_DIR = config.REPO_ROOT / "shipped_models"


def _shipped_entry(name: str, identity: dict) -> tuple[Path, dict] | None:
    """The shipped copy of ``name`` when it matches the recipe and data exactly (full mode only), else None."""
    if config.mode() != "full":
        return None
    where = SHIPPED_DIR / cache_key(name)
    if not (where.with_suffix(".json").is_file() and where.with_suffix(".npz").is_file()):
        return None
    try:
        meta = models.read_metadata(where)
    except models.BrokenModelFile as error:
        _announce(f"shipped:{where}", f"zoo: {error}; the shipped {name!r} is not used")
        return None
    if _mismatch(meta, identity):
        return None
    return where, meta


def is_shipped(where: Path) -> bool:
    """True when a stored path is in the shipped folder (read-only: weights only, written by make models-full)."""
    return Path(where).parent.resolve() == SHIPPED_DIR.resolve()


# The check a shipped copy passes before float16 is kept: clean accuracy on the whole test split, and accuracy
# under this attack on the first SHIP_ROBUST_IMAGES test images, each within SHIP_TOLERANCE of the float32 model's.
SHIP_TOLERANCE = 0.001          # 0.1 point
SHIP_ROBUST_IMAGES = 1000
SHIP_STEPS = 10
SHIP_DEFAULT_EPS = 0.1          # for a model whose recipe names no epsilon (base, nsl, distilled)


def ship_threat_model(eps: float | None) -> str:
    """The attack :func:`ship` measures robust accuracy with, for a model trained at ``eps`` (None: no attack)."""
    if eps is None:
        return "not attacked: a model of lesson 08's pretraining domain, checked on clean images of that domain"
    return (f"L-inf eps {eps:g}, PGD-{SHIP_STEPS} on the cross-entropy, no random start, 1 restart, the first "
            f"{SHIP_ROBUST_IMAGES:,} test images")


def ship(name: str, folder: Path | None = None) -> dict:
    """Copy the stored full-mode ``name`` into ``folder`` (default :data:`SHIPPED_DIR`) as weights only.

    float16 (half the bytes) when every weight stays within float16's range and both clean accuracy (whole test
    split) and robust accuracy (:func:`ship_threat_model`: PGD-10 at the epsilon of the model's recipe, or 0.1)
    stay within 0.1 point of the float32 model's; else float32. Lesson 08's source models are checked in their
    own input domain, clean only. Returns the row of the shipped table: name, file, dtype, bytes, and both
    accuracies of both models (fractions 0..1). Refuses quick mode and data that is not MNIST.
    """
    if config.mode() != "full":
        raise ValueError("zoo.ship: only full-mode models are shipped (set ADVLAB_QUICK=0)")
    source, data_folder = data.resolve_source()
    if data.source_identity(source, data_folder) != data.MNIST_IDENTITY:
        where_from = f"{source}, {data_folder}" if data_folder else source
        raise ValueError(f"zoo.ship: the data found ({where_from}) is not full MNIST "
                         f"({data.MNIST_IDENTITY}); only models of full MNIST are shipped: set ADVLAB_DATA_DIR")
    entry = _stored_entry(name)
    if entry is None or is_shipped(entry[0]):
        raise FileNotFoundError(f"zoo.ship: {name!r} has no trained full-mode copy in "
                                f"{', '.join(map(str, config.artifacts_dirs()))}; train it first (make models-full)")
    where, meta = entry
    model, _ = models.load_model(where)
    x, y = data.load_normalized("test", verbose=False)
    own_domain = "pretraining_domain" in meta             # lesson 08's source models: 0.01 * (x - 0.5)
    eps = None if own_domain else float(meta.get("settings", {}).get("eps", SHIP_DEFAULT_EPS))

    def clean_accuracy(m, images, labels):
        if own_domain:
            return evaluation.accuracy(m, source_domain(images), labels, unit_range=False)
        return evaluation.accuracy(m, images, labels)

    def measured(m):
        if own_domain:
            return clean_accuracy(m, x, y), None
        x_few, y_few = x[:SHIP_ROBUST_IMAGES], y[:SHIP_ROBUST_IMAGES]
        adversarial = attacks.pgd(m, x_few, y_few, eps=eps, steps=SHIP_STEPS, random_start=False)
        return evaluation.accuracy(m, x, y), evaluation.accuracy(m, adversarial.numpy(), y_few)

    def moved(a, b):
        return 0.0 if a is None else abs(a - b)

    clean32, robust32 = measured(model)
    target = Path(folder or SHIPPED_DIR) / where.name
    shipped = {key: value for key, value in meta.items() if key != "cache_key"}
    shipped["cache_key"] = where.name
    floating = [w for w in model.get_weights() if np.issubdtype(w.dtype, np.floating)]
    float16 = "beyond float16's range"
    for dtype in ("float16", "float32"):
        if dtype == "float16" and not all(np.abs(w).max(initial=0) <= np.finfo(np.float16).max for w in floating):
            continue                                   # a weight beyond float16's range (65504)
        npz = models.save_weights_only(model, target, shipped, dtype=dtype)
        shipped_model = models.load_weights_only(target)[0]
        clean, robust = measured(shipped_model)
        if dtype == "float16":
            float16 = {"clean": clean, "robust": robust}
        if dtype == "float32" or max(abs(clean - clean32), moved(robust, robust32)) <= SHIP_TOLERANCE + 1e-9:
            break
    x_sample, y_sample = data.load_normalized("test", source="sample", verbose=False)
    row = {"name": name, "file": npz.name, "dtype": dtype, "bytes": npz.stat().st_size,
           "clean_float32": clean32, "clean_shipped": clean, "robust_float32": robust32, "robust_shipped": robust,
           "eps": eps, "threat_model": ship_threat_model(eps), "test_examples": len(y), "float16": float16,
           "clean_domain": meta.get("pretraining_domain", "[0, 1]"),
           # what a test can check without full MNIST: the shipped weights on the sample's 2,000 test images
           "clean_sample_shipped": clean_accuracy(shipped_model, x_sample, y_sample)}
    models.write_metadata(target, dict(models.read_metadata(target), shipped=row))
    return row


# --------------------------------------------------------------------------- the cache's first key format

# Until 2026-12 a key named the data by its source and where it was (``<name>-<mode>-<source>-<hash>``, the
# hash over the folder and the files' sizes and times). Such a copy is adopted, copied under the new key, when
# the data it names is still there, unchanged; otherwise the model is trained once more, and the zoo says why.
_LEGACY_FIELDS = ("mode", "seed", "recipe_version", "hparams", "settings")


def legacy_cache_key(name: str) -> str:
    """The key ``name`` had under the cache's first format, for the data resolved now:
    ``<name>-<mode>-<source>-<hash>``, the hash over the identity with the source, its folder and
    :func:`data.legacy_source_identity` in place of the content hash."""
    identity = _identity(name)
    source, folder = data.resolve_source()
    old = dict(identity, source=source, data_folder=folder, data_identity=data.legacy_source_identity(source, folder))
    digest = hashlib.sha1(json.dumps(old, sort_keys=True).encode()).hexdigest()[:8]
    return f"{name}-{identity['mode']}-{source}-{digest}"


def _legacy_copies(name: str) -> list[Path]:
    found = []
    for folder in config.artifacts_dirs():
        for meta_path in sorted(_models_dir(folder).glob(f"{name}-{config.mode()}-*-*.json")):
            parts = meta_path.stem[len(name) + 1:].split("-")
            if len(parts) == 3 and parts[1] in ("sample", "local", "tfds"):
                found.append(meta_path.with_suffix(""))
    return found


def _adopt_legacy(name: str, identity: dict) -> tuple[Path, dict] | None:
    """A copy of ``name`` under the first key format whose recipe and data are confirmed, as ``(path, meta)``,
    copied under the current key where a folder can be written (else used where it is); None if none."""
    for old in _legacy_copies(name):
        try:
            meta = models.read_metadata(old)
        except models.BrokenModelFile:
            continue
        if not old.with_suffix(".keras").is_file() or any(meta.get(k) != identity[k] for k in _LEGACY_FIELDS):
            continue
        source, folder = data.resolve_source()
        if meta.get("source") != source:
            continue                      # a copy for other data (the sample, say, where this is full MNIST)
        confirmed = old.name == legacy_cache_key(name) and meta.get("data_folder") == folder \
            and meta.get("data_identity") == data.legacy_source_identity(source, folder)
        if not confirmed:
            _announce(f"legacy:{old}", f"zoo: {old.name} was saved under the cache's old key, which named the "
                                       "data by its folder and file times; that data has moved or changed since, so "
                                       f"the copy cannot be confirmed. {name!r} is trained once more, under the new "
                                       "key, which names the data by its content.")
            continue
        adopted = dict(meta, **identity, cache_key=cache_key(name), adopted_from=old.name)
        where = path(name)
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            models._write_atomically(where.with_suffix(".keras"),
                                     lambda tmp: tmp.write_bytes(old.with_suffix(".keras").read_bytes()))
            models.write_metadata(where, adopted)
        except OSError:
            return old, adopted           # a read-only folder: use the old copy where it is
        _announce(f"legacy:{old}", f"zoo: {old.name} (the cache's old key) is {name!r} for the same data: "
                                   f"kept as {where.name}")
        return where, adopted
    return None


def _skip(name: str, where: Path, error: Exception) -> None:
    print(f"zoo: {error}. Skipping it: {name!r} will be trained again.")
    with contextlib.suppress(OSError):
        where.with_suffix(".json").unlink(missing_ok=True)   # un-commit it, so nobody reads it again


def _load_stored(name: str, verbose: int) -> tf.keras.Model | None:
    """The saved ``name`` from the first folder with a good copy (see :func:`_stored_entry`); ``None`` if none."""
    key = cache_key(name)
    if key in _UNSAVED:
        return _UNSAVED[key][0]
    broken: tuple[Path, ...] = ()
    while (entry := _stored_entry(name, skip=broken)) is not None:
        where, meta = entry
        try:
            model, _ = (models.load_weights_only if is_shipped(where) else models.load_model)(where)
        except (models.BrokenModelFile, FileNotFoundError) as error:
            if not is_shipped(where):
                _skip(name, where, error)
            else:
                print(f"zoo: {error}; the shipped {name!r} is not used")
            broken += (where,)
            continue
        if verbose:
            shipped = " (shipped with the course)" if is_shipped(where) else ""
            _announce(key, f"zoo: loaded {name!r} ({config.mode()} mode, {_SOURCE_WORDS.get(meta.get('source'), '?')}) "
                           f"from {_shown(where.parent)}{shipped}")
        return model
    return None


# What a lesson says about a model, once per kernel: a lesson that asks for a model twice (lesson 08 loads each
# run, then reads its table) prints one line for it, not two.
_ANNOUNCED: set[str] = set()
_SOURCE_WORDS = {"sample": "the MNIST sample", "local": "full MNIST from ADVLAB_DATA_DIR",
                 "tfds": "full MNIST from tensorflow_datasets"}


def _announce(key: str, line: str) -> None:
    if key not in _ANNOUNCED:
        _ANNOUNCED.add(key)
        print(line)


def _shown(folder: Path) -> str:
    """A folder as a lesson prints it: relative to the repository when inside it (``artifacts/models``)."""
    try:
        return str(folder.resolve().relative_to(config.REPO_ROOT))
    except ValueError:
        return str(folder)


_LOCKS: dict[str, FileLock] = {}


def _lock_path(name: str) -> Path:
    """The lock file of ``name``: in the first writable artifacts folder, else the system's temporary folder."""
    key = cache_key(name)
    for folder in config.artifacts_dirs():
        if config.writable(_models_dir(folder)):
            return _models_dir(folder) / f"{key}.lock"
    return Path(tempfile.gettempdir()) / f"advlab-{key}.lock"


@contextlib.contextmanager
def _training_lock(name: str, verbose: int):
    """Hold the lock of ``name`` while training and saving it; say whom we wait for when another holds it.

    ``filelock`` locks with the operating system (``fcntl``/``msvcrt``): a process that dies releases its
    lock, so a killed kernel never blocks the class. Re-entrant within one process.
    """
    where = _lock_path(name)
    lock = _LOCKS.setdefault(str(where), FileLock(str(where)))
    owner = where.with_suffix(".owner")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = owner.read_text().strip() if owner.is_file() else "another process"
        print(f"zoo: waiting for {holder}, which is training {name!r}; it will be loaded when saved "
              f"(lock {where})")
        lock.acquire()
    try:
        if lock.lock_counter == 1:
            with contextlib.suppress(OSError):
                owner.write_text(f"process {os.getpid()} on {socket.gethostname()} "
                                 f"(since {time.strftime('%H:%M:%S')})")
        yield
    finally:
        if lock.lock_counter == 1:
            with contextlib.suppress(OSError):
                owner.unlink(missing_ok=True)
        lock.release()


def get(name: str, *, retrain: bool = False, verbose: int = 1) -> tf.keras.Model:
    """The trained model ``name``: loaded from the artifacts folders if there, trained and saved otherwise.

    ``retrain=True`` trains even when a saved copy exists. Prints one line
    saying which happened. Use :func:`metadata` for what was measured.
    """
    recipe = _recipe(name)
    if not retrain:
        model = _load_stored(name, verbose)
        if model is not None:
            return model
    with _training_lock(name, verbose):
        if not retrain:                   # another kernel may have trained it while we waited
            model = _load_stored(name, verbose)
            if model is not None:
                return model
        hp = recipe.hparams(config.hparams())
        config.set_seeds()
        if verbose:
            print(f"zoo: training {name!r} now ({config.mode()} mode): no saved copy in "
                  f"{', '.join(_shown(f) for f in config.artifacts_dirs())}. `make models` trains every lesson's "
                  "models ahead of class.")
        train_split = data.load_mnist_arrays("train", verbose=verbose > 0)
        train_ds = data.make_pipeline(data.as_dataset(train_split), hp, training=True)
        start = time.perf_counter()
        model, info = recipe.train(hp, train_ds, verbose)
        info = dict(info, train_seconds=round(time.perf_counter() - start, 1), train_examples=len(train_split),
                    data_source=train_split.source)
        store(name, model, info, verbose=verbose)
    return model


def store(name: str, model: tf.keras.Model, info: dict, *, verbose: int = 1) -> dict:
    """Save ``model`` as the zoo's ``name`` for this mode and data (e.g. one a notebook trained by hand).

    Measures clean test accuracy, saves model and metadata (``info`` plus
    name, mode, data identity, hyper-parameters, seed) atomically in the first
    writable artifacts folder, and returns the metadata. With no writable
    folder (or a failed save) it warns, keeps the model for this process only,
    and still returns the metadata. The caller must have trained ``model`` the
    way the recipe ``name`` does.
    """
    recipe = _recipe(name)
    info = dict(info)
    epoch_seconds = info.get("history", {}).get("epoch_seconds")
    if "train_seconds" not in info and epoch_seconds:
        info["train_seconds"] = round(float(sum(epoch_seconds)), 1)
    x_test, y_test = data.load_normalized("test", verbose=False)
    source, folder = data.resolve_source()
    meta = {
        "name": name, "description": recipe.description, "test_examples": len(y_test),
        "test_accuracy": evaluation.accuracy(model, x_test, y_test), **_jsonable(info), **_identity(name),
        "source": source, "data_folder": folder, "cache_key": cache_key(name),
    }
    with _training_lock(name, verbose):
        try:
            where = path(name)
            models.save_model(model, where, meta)
        except OSError as error:
            _UNSAVED[cache_key(name)] = (model, meta)
            warnings.warn(f"zoo: {name!r} was trained but could not be saved ({error}). It is kept in this "
                          f"kernel only and will be trained again in the next one. To keep it, add a writable "
                          f"folder at the end of ADVLAB_ARTIFACTS (e.g. ADVLAB_ARTIFACTS="
                          f"{os.pathsep.join(map(str, config.artifacts_dirs()))}{os.pathsep}~/advlab-artifacts).",
                          stacklevel=2)
            return meta
    _UNSAVED.pop(cache_key(name), None)
    if verbose:
        took = f", trained in {meta['train_seconds']:.0f} s" if "train_seconds" in meta else ""
        _ANNOUNCED.add(meta["cache_key"])         # trained and saved here: a later load in this kernel says nothing
        print(f"zoo: saved {name!r} ({config.mode()} mode{took}) to {_shown(where.parent)}")
    return meta


def _jsonable(value):
    """Keras histories hold NumPy floats: turn them (and nested containers) into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def update_metadata(name: str, **fields) -> dict:
    """Add ``fields`` to the stored metadata of the model ``name`` (a measurement made after training, such
    as the seconds of one epoch of standard training timed the same day); returns the metadata.

    Raises ``FileNotFoundError`` when ``name`` has no stored model for this mode and data.
    """
    key = cache_key(name)
    if key in _UNSAVED:
        _UNSAVED[key][1].update(_jsonable(fields))
        return dict(_UNSAVED[key][1])
    where = stored_path(name)
    if where is None:
        raise FileNotFoundError(f"zoo: no stored model {name!r} for this mode and data in "
                                f"{', '.join(map(str, config.artifacts_dirs()))}")
    if is_shipped(where):
        raise PermissionError(f"zoo: {name!r} is the copy shipped with the course ({where}), which is read-only; "
                              f"train it into your artifacts (zoo.get({name!r}, retrain=True)) to add measurements")
    with _training_lock(name, verbose=0):
        meta = dict(models.read_metadata(where), **_jsonable(fields))
        models.write_metadata(where, meta)
    return meta


def metadata(name: str) -> dict:
    """The stored metadata of the model ``name``, checked against its recipe (trains it first if needed)."""
    for _ in range(3):
        key = cache_key(name)
        if key in _UNSAVED:
            return dict(_UNSAVED[key][1])
        entry = _stored_entry(name)
        if entry is not None:
            return entry[1]
        get(name)
    raise RuntimeError(f"zoo: {name!r} was trained but its metadata cannot be read back from "
                       f"{', '.join(map(str, config.artifacts_dirs()))}")


# --------------------------------------------------------------------------- the recipes

def _train_base(hp: HParams, train_ds: tf.data.Dataset, verbose: int):
    model = models.build_base_model(hp)
    history = training.train_classifier(model, train_ds, hp, verbose=verbose)
    return model, {"history": history.history}


def _train_nsl(hp: HParams, train_ds: tf.data.Dataset, verbose: int):
    model = models.build_base_model(hp)
    _, history = nsl.train(model, train_ds.map(data.convert_to_dictionaries), hp, verbose=verbose)
    return model, {"history": history.history}


def _optimizer_steps(train_ds: tf.data.Dataset, hp: HParams) -> int:
    """The number of optimiser steps of a whole training run: batches per epoch x epochs."""
    return int(train_ds.cardinality().numpy()) * hp.epochs


def _adversarial(**settings):
    """A recipe function for :class:`training.AdversarialTrainer` with these settings.

    ``warmup_fraction`` ramps eps over that fraction of all optimiser steps.
    """
    def train(hp: HParams, train_ds: tf.data.Dataset, verbose: int):
        kwargs = dict(settings)
        kwargs["warmup_steps"] = int(round(kwargs.pop("warmup_fraction", 0.0) * _optimizer_steps(train_ds, hp)))
        model = models.build_base_model(hp)
        _, history = training.train_adversarial(model, train_ds, hp, verbose=verbose, **kwargs)
        return model, {"history": history.history, "warmup_steps": kwargs["warmup_steps"]}
    return train


register("base", Recipe(_train_base, "the NSL tutorial's CNN, standard training"))
register("nsl", Recipe(_train_nsl, "the base CNN with NSL adversarial regularisation "
                                   "(multiplier 0.2, step 0.2, L-inf), as in the NSL tutorial"))
_FGSM_AT = dict(method="fgsm", eps=0.3, mix=0.5)
_FAST_AT = dict(method="fast", eps=0.3, alpha=0.375, mix=1.0)
_PGD_AT = dict(method="pgd", eps=0.3, steps=7, mix=1.0, warmup_fraction=0.3)
register("fgsm_at", Recipe(_adversarial(**_FGSM_AT), "the base CNN, FGSM adversarial training "
                           "(L-inf eps 0.3, half clean and half adversarial loss)", settings=_FGSM_AT))
register("fast_at", Recipe(_adversarial(**_FAST_AT), "the base CNN, fast adversarial training "
                           "(FGSM from a random start, L-inf eps 0.3, step 0.375; Wong et al. 2020)",
                           settings=_FAST_AT))
register("pgd_at", Recipe(_adversarial(**_PGD_AT), "the base CNN, PGD adversarial training "
                          "(L-inf eps 0.3, 7 steps, eps ramped over the first 30% of steps; Madry et al. 2018)",
                          settings=_PGD_AT))


def _train_distilled(hp: HParams, train_ds: tf.data.Dataset, verbose: int):
    x, y = data.load_normalized("train", verbose=False)
    _, student, info = training.distill(lambda: models.build_base_model(hp), x, y, hp,
                                              temperature=_DISTILLED["temperature"], verbose=verbose)
    return student, info


_DISTILLED = dict(temperature=100.0)
register("distilled", Recipe(_train_distilled, "the base CNN, defensive distillation at temperature 100 "
                             "(teacher and student of the same architecture; Papernot et al. 2016), "
                             "deployed at temperature 1", settings=_DISTILLED))


# --------------------------------------------------------------------------- lesson 08: a "pretrained" ResNet

SOURCE_CONTRAST = 0.01


def source_domain(images):
    """Lesson 08's pretraining domain: the digits at 1/100 of their contrast, centred on 0.

    ``0.01 * (x - 0.5)`` for images ``x`` in [0, 1]: the same digits with very
    different pixel statistics, as ImageNet photographs differ from the
    traffic signs of the Q&A's question. Works on arrays and tensors.
    """
    return SOURCE_CONTRAST * (images - 0.5)


def _pretrained_resnet(normalization: str):
    def train(hp: HParams, train_ds: tf.data.Dataset, verbose: int):
        model = models.build_small_resnet(normalization=normalization)
        source = train_ds.map(lambda x, y: (source_domain(x), y))
        history = training.train_classifier(model, source, hp, verbose=verbose)
        info = {"history": history.history, "pretraining_domain": f"{SOURCE_CONTRAST} * (x - 0.5)"}
        if normalization == "batch":
            # A converged pretrained model's moving statistics fit its own data exactly.
            sample = np.concatenate([x.numpy() for x, _ in source.take(max(1, 2000 // hp.batch_size))])
            batchnorm.reestimate(model, sample)
        x_test, y_test = data.load_normalized("test", verbose=False)
        info["source_domain_test_accuracy"] = evaluation.accuracy(model, source_domain(x_test), y_test,
                                                                    unit_range=False)
        return model, info
    return train


def _pretrain_epochs(h):
    return h.replace(epochs=2)

register("resnet_source", Recipe(_pretrained_resnet("batch"), "a small ResNet with BatchNormalization "
                                 f"(momentum 0.99), trained on low-contrast digits {SOURCE_CONTRAST} * (x - 0.5) "
                                 "for 2 epochs: "
                                 "lesson 08's stand-in for an ImageNet-pretrained network", hparams=_pretrain_epochs,
                                 settings={"normalization": "batch", "contrast": SOURCE_CONTRAST}))
register("resnet_gn_source", Recipe(_pretrained_resnet("group"), "the same small ResNet with GroupNormalization "
                                    "(4 groups) instead of BatchNormalization, trained the same way",
                                    hparams=_pretrain_epochs,
                                    settings={"normalization": "group", "contrast": SOURCE_CONTRAST}))


# --------------------------------------------------------------------------- lesson 08: its fine-tuning runs

BN_WATCHED = 250     # lesson 08 watches its runs on the first 250 test images


def bn_steps() -> int:
    """Lesson 08's budget: optimiser steps of fine-tuning (batch 32) per run, 300 in quick mode, 600 in full."""
    return 300 if config.quick_mode() else 600


def _bn_run(source: str, prepare: str, **finetune):
    """A recipe for one of lesson 08's runs: a fresh copy of ``source``, prepared, then
    :func:`training.adversarial_finetune` for :func:`bn_steps` steps (times ``steps_factor``), watched with
    :func:`batchnorm.watch`. The run's table is kept in the metadata (``history``, one list per column)."""
    def train(hp: HParams, train_ds: tf.data.Dataset, verbose: int):
        x, y = data.load_normalized("train", verbose=False)
        x_watch, y_watch = data.load_normalized("test", limit=BN_WATCHED, verbose=False)
        pretrained = get(source)
        model = tf.keras.models.clone_model(pretrained)
        model.set_weights(pretrained.get_weights())
        if prepare in ("reestimate", "freeze"):
            batchnorm.reestimate(model, x[:2000])
        if prepare == "freeze":
            batchnorm.freeze(model)
        if prepare == "momentum":
            batchnorm.set_momentum(model, 0.5)
        settings = dict(finetune)
        steps = bn_steps() * settings.pop("steps_factor", 1)
        config.set_seeds()
        table = training.adversarial_finetune(model, x, y, steps=steps, verbose=verbose,
                                              monitor=lambda m: batchnorm.watch(m, x_watch, y_watch), **settings)
        return model, {"history": table.to_dict(orient="list"), "steps": steps, "watched_images": BN_WATCHED}
    return train


# Lesson 08's label for a run -> its zoo name, and what defines it (the FGSM epsilon is the Q&A's 0.01).
_BN_LOOP = dict(batch_size=32, eps=0.01)
BN_RUNS: dict[str, tuple[str, dict]] = {
    "pitfall": ("bn_pitfall", dict(source="resnet_source", prepare="none", evaluate_every=25)),
    "clean fine-tuning": ("bn_clean", dict(source="resnet_source", prepare="none", evaluate_every=25,
                                           adversarial=False)),
    "GroupNorm, same loop": ("bn_groupnorm", dict(source="resnet_gn_source", prepare="none", evaluate_every=25)),
    "1. batch 16, twice the steps": ("bn_fix_small_batches", dict(source="resnet_source", prepare="none",
                                                                  evaluate_every=50, batch_size=16, steps_factor=2)),
    "2. momentum 0.5": ("bn_fix_momentum", dict(source="resnet_source", prepare="momentum", evaluate_every=50)),
    "3a. attack and loss in training mode": ("bn_fix_training_mode", dict(
        source="resnet_source", prepare="none", evaluate_every=50, attack_training_mode=True,
        loss_training_mode=True)),
    "3b. re-estimate statistics first": ("bn_fix_reestimate", dict(source="resnet_source", prepare="reestimate",
                                                                   evaluate_every=50)),
    "4. re-estimate, then freeze BN": ("bn_fix_freeze", dict(source="resnet_source", prepare="freeze",
                                                             evaluate_every=50)),
}
for _label, (_name, _settings) in BN_RUNS.items():
    _all = {**_BN_LOOP, **_settings}
    register(_name, Recipe(_bn_run(**_all), f"lesson 08's run {_label!r}: {_all['source']} fine-tuned with the Q&A's "
                           "FGSM loop (L-inf 0.01, SGD 1e-3 Nesterov), watched on the first 250 test images",
                           settings=_all))


def bn_history(name: str):
    """The watched table of lesson 08's run ``name`` (training it first if needed), as a DataFrame."""
    import pandas as pd

    get(name)
    return pd.DataFrame(metadata(name)["history"])


# --------------------------------------------------------------------------- lesson 09: the capstone robust model

CAPSTONE = dict(method="pgd", eps=0.3, steps=10, mix=1.0, warmup_fraction=0.3, width=1, peak_learning_rate=5e-3)


CAPSTONE_ARCHITECTURES = ("wong", "trades_smallcnn")


def build_capstone_network(settings: dict) -> tf.keras.Model:
    """The untrained network of a capstone-family recipe's ``settings``.

    ``architecture``: ``"wong"`` (the default when absent: :func:`models.build_capstone_cnn`,
    ``width`` times wider, a whole number) or ``"trades_smallcnn"`` (:func:`models.build_trades_cnn`,
    ``width`` times wider, fractions such as 1.5 allowed, with its ``activation``: ``"relu"`` when
    absent, or ``"silu"``, and its ``dropout`` rate between the dense layers: 0 when absent).
    """
    architecture, width = settings.get("architecture", "wong"), settings.get("width", 1)
    activation, dropout = settings.get("activation", "relu"), settings.get("dropout", 0.0)
    if architecture not in CAPSTONE_ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; use one of {', '.join(CAPSTONE_ARCHITECTURES)}")
    if architecture == "wong":
        if activation != "relu" or dropout:
            raise ValueError(f"the wong network takes activation='relu' and no dropout, got activation={activation!r}, "
                             f"dropout={dropout!r}")
        return models.build_capstone_cnn(width)
    return models.build_trades_cnn(activation=activation, dropout=dropout, width=width)


def _capstone_hparams(h: HParams) -> HParams:
    return h.replace(batch_size=100, epochs=8 if config.quick_mode() else 40)


def capstone_recipe(settings: dict):
    """A recipe function for the capstone family: the capstone CNN, one-cycle Adam, eps warm-up.

    ``settings`` are :data:`CAPSTONE`'s keys plus any :class:`training.AdversarialTrainer`
    argument; ``early_stopping=True`` adds a :class:`training.RobustAccuracyMonitor`
    (PGD-20 at the same eps on the first 500 training images) that keeps the best epoch;
    ``weight_average=decay`` adds a :class:`training.WeightAverage` (the model kept is the
    average; the last raw weights' clean test accuracy goes into the metadata to compare);
    ``shift_pixels=n`` moves every training image by a random offset of up to ``n`` pixels
    per axis on every pass (:func:`data.random_shift`).
    """
    def train(hp: HParams, train_ds: tf.data.Dataset, verbose: int):
        kwargs = dict(settings)
        model = build_capstone_network(kwargs)
        for network_key in ("width", "architecture", "activation", "dropout"):
            kwargs.pop(network_key, None)
        peak = kwargs.pop("peak_learning_rate")
        fraction, early = kwargs.pop("warmup_fraction"), kwargs.pop("early_stopping", False)
        decay = kwargs.pop("weight_average", None)
        train_ds = data.random_shift(train_ds, kwargs.pop("shift_pixels", 0))
        total = _optimizer_steps(train_ds, hp)
        average = training.WeightAverage(decay) if decay else None
        monitor = None
        if early:
            x_watch, y_watch = data.load_normalized("train", limit=500, verbose=False)
            watch = functools.partial(attacks.pgd, eps=kwargs["eps"], steps=20)
            monitor = training.RobustAccuracyMonitor(x_watch, y_watch, watch, restore_best=True)
        callbacks = [c for c in (average, monitor) if c is not None]
        _, history = training.train_adversarial(model, train_ds, hp, verbose=verbose,
                                                learning_rate=training.OneCycle(total, peak),
                                                warmup_steps=int(round(fraction * total)), callbacks=callbacks,
                                                **kwargs)
        info = {"history": history.history, "optimizer_steps": total}
        if monitor:
            info["best_epoch"] = monitor.best_epoch + 1
        if average:
            averaged = model.get_weights()
            model.set_weights(average.final_weights)
            x_test, y_test = data.load_normalized("test", verbose=False)
            info["raw_final_test_accuracy"] = evaluation.accuracy(model, x_test, y_test)
            model.set_weights(averaged)
        return model, info
    return train


def register_capstone_variant(name: str, description: str, *, epochs: int | tuple[int, int] | None = None,
                              **changes) -> None:
    """Add to the zoo the capstone recipe with ``changes`` to :data:`CAPSTONE` (and ``epochs``, if given).

    ``epochs``: one number for both modes, or ``(quick, full)``.
    Example: ``register_capstone_variant("trades_beta1", "TRADES, beta 1", method="trades", beta=1.0)``,
    then ``get("trades_beta1")`` trains it once and loads it afterwards.
    """
    settings = dict(CAPSTONE, **changes)
    hparams = _capstone_hparams
    if isinstance(epochs, tuple) and len(epochs) != 2:
        raise ValueError(f"epochs must be one number or (quick, full), got {epochs!r}")
    if epochs is not None:
        quick, full = epochs if isinstance(epochs, tuple) else (epochs, epochs)
        hparams = lambda h: _capstone_hparams(h).replace(epochs=quick if config.quick_mode() else full)  # noqa: E731
    register(name, Recipe(capstone_recipe(settings), description, hparams=hparams, settings=settings))


_train_capstone = capstone_recipe(CAPSTONE)
register("capstone", Recipe(_train_capstone, "lesson 09's robust model: the Wong et al. (2020) small CNN, PGD-10 "
                            "adversarial training at L-inf eps 0.3 with eps ramped over the first 30% of steps, "
                            "Adam with a one-cycle learning rate peaking at 5e-3, batch 100 "
                            "(40 epochs in full mode, 8 in quick)",
                            hparams=_capstone_hparams, settings=CAPSTONE))

_DEEPER = dict(method="trades", beta=6.0, architecture="trades_smallcnn")   # the deeper network's changes
_DEEPER_EPOCHS = (2, 10)                                                      # (quick, full)
_AVERAGED = dict(_DEEPER, weight_average=0.999)                               # ... with model weight averaging

# The best AutoAttack result so far (full mode); experiments/capstone/ keeps how it was found and the runs after it.
CHAMPION = "capstone_trades_smallcnn_avg12_shift"

# The capstone variants the zoo keeps: lesson 09's comparisons (the capstone recipe with one idea changed each, but
# for the deeper network's runs) and the champion. Each entry: name -> (description, changes to CAPSTONE, epochs),
# epochs being None (the capstone's own) or (quick, full). Research variants live in experiments/capstone/.
CAPSTONE_VARIANTS = {
    "capstone_no_warmup": ("the capstone recipe without the eps warm-up", dict(warmup_fraction=0.0), None),
    "capstone_fgsm": ("the capstone recipe with plain FGSM adversarial training (one step of eps from the clean "
                      "image, no random start: the attack of Goodfellow et al. 2015, on adversarial examples only) "
                      "and early stopping on PGD-20 accuracy",
                      dict(method="fgsm", steps=1, early_stopping=True), None),
    "capstone_fast": ("the capstone recipe with fast adversarial training (FGSM from a random start, step 1.25 "
                      "times the current eps; Wong et al. 2020) and early stopping on PGD-20 accuracy",
                      dict(method="fast", steps=1, early_stopping=True), None),
    "capstone_trades": ("the capstone recipe with TRADES (Zhang et al. 2019; KL inner maximisation, PGD-10, "
                        "beta 6) instead of PGD's cross-entropy", dict(method="trades", beta=6.0), None),
    "capstone_wide": ("the capstone recipe on the CNN twice as wide (4x the parameters)", dict(width=2), None),
    # Three changes (network, method, epochs): about 16x the capstone CNN's compute per image, so 10 epochs.
    "capstone_trades_smallcnn": ("TRADES (beta 6, PGD-10) on TRADES' own deeper MNIST CNN with max pooling "
                                 "(Zhang et al. 2019; 312k parameters), 10 epochs in full mode (2 in quick)",
                                 _DEEPER, _DEEPER_EPOCHS),
    "capstone_trades_smallcnn_avg": ("capstone_trades_smallcnn with model weight averaging (an exponential moving "
                                     "average of the weights, decay 0.999; Gowal et al. 2020)",
                                     _AVERAGED, _DEEPER_EPOCHS),
    CHAMPION: ("the champion: capstone_trades_smallcnn_avg for 12 epochs in full mode (2 in quick), every training "
               "image moved by a random offset of up to 2 pixels per axis on every pass",
               dict(_AVERAGED, shift_pixels=2), (2, 12)),
}
for _name, (_description, _changes, _epochs) in CAPSTONE_VARIANTS.items():
    register_capstone_variant(_name, _description, epochs=_epochs, **_changes)


# --------------------------------------------------------------------------- every lesson's models, for a class

# Lesson -> the zoo models it asks for, in quick mode; LESSON_MODELS_FULL adds what full mode asks for besides.
# Lessons 02 and 04 train "base" and "nsl" by hand and store them; the zoo trains them the same way.
_NSL_AND_AT = ("base", "nsl", "fgsm_at", "fast_at", "pgd_at")
LESSON_MODELS: dict[str, tuple[str, ...]] = {
    "02": ("base",),
    "03": ("base",),
    "04": _NSL_AND_AT,
    "05": ("base", "nsl", "pgd_at"),
    "06": ("base", "nsl", "pgd_at"),
    "07": ("base", "distilled"),
    "08": ("resnet_source", "resnet_gn_source", *(name for name, _ in BN_RUNS.values())),
    "09": ("base", "capstone", "capstone_no_warmup", "capstone_fgsm", "capstone_fast", "capstone_trades"),
}
LESSON_MODELS_FULL: dict[str, tuple[str, ...]] = {
    "09": ("capstone_wide", "capstone_trades_smallcnn", "capstone_trades_smallcnn_avg"),
}


# The lessons whose full-mode models ship with the course (shipped_models/); lesson 09's capstones train in
# parts (benchmarks/capstone.py) and are not shipped yet.
SHIPPED_LESSONS = ("02", "03", "04", "05", "06", "07", "08")


def shipped_models() -> list[str]:
    """The full-mode models ``make models-full`` ships: every model of :data:`SHIPPED_LESSONS`, once each."""
    return list(dict.fromkeys(n for lesson in SHIPPED_LESSONS for n in (*LESSON_MODELS.get(lesson, ()),
                                                                        *LESSON_MODELS_FULL.get(lesson, ()))))


def shipped_table(folder: Path | None = None) -> str:
    """The shipped folder's README: one row per shipped model, from the ``shipped`` record in its metadata."""
    folder = Path(folder or SHIPPED_DIR)
    rows = []
    for meta_path in sorted(folder.glob("*-full-*.json")):
        row = json.loads(meta_path.read_text()).get("shipped")
        if row:
            rows.append(row)
    order = {name: i for i, name in enumerate(shipped_models())}
    rows.sort(key=lambda r: (order.get(r["name"], len(order)), r["name"]))
    total = sum(r["bytes"] for r in rows)
    with_records = total + sum(p.stat().st_size for p in folder.glob("*-full-*.json"))
    lines = [
        "# The full-mode models shipped with the course",
        "",
        "Written by `make models-full` (`python -m helpers.pretrain --mode full --ship`); do not edit by hand.",
        "Weights only (no optimiser state), beside their metadata; the zoo reads this folder last, in full mode",
        "only, and serves a model only when its recipe and data (full MNIST, by content) match its cache key.",
        "",
        f"{len(rows)} models: {total / 1e6:.1f} MB of weights, {with_records / 1e6:.1f} MB with their records.",
        f"Clean accuracy: the whole test split ({rows[0]['test_examples'] if rows else 0:,} images). Robust accuracy:",
        f"L-inf, PGD-{SHIP_STEPS} on the cross-entropy, no random start, 1 restart, the first "
        f"{SHIP_ROBUST_IMAGES:,} test images, at the row's eps",
        "(the epsilon of the model's own recipe, or 0.1 for a model trained without one). Lesson 08's two source",
        "models are checked on clean images of their own pretraining domain, 0.01 * (x - 0.5), and not attacked.",
        "float16 is kept only where both accuracies stay within 0.1 point of the float32 model's (on 1,000 images",
        "one image is 0.1 point); the last column says what float16 gave where it was not kept. These numbers check",
        "that the shipped weights are the trained model; they are not robustness claims (`distilled` masks its",
        "gradients, so PGD on the cross-entropy overstates it: lesson 07).",
        "",
        "| model | lessons | weights | size | clean, float32 | clean, shipped | eps | robust, float32 "
        "| robust, shipped | float16, not kept |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def pct(value, digits):
        return "not attacked" if value is None else f"{value:.{digits}%}"

    for r in rows:
        lessons = ", ".join(lesson for lesson, names_ in LESSON_MODELS.items() if r["name"] in names_)
        tried = r.get("float16")
        rejected = ("" if r["dtype"] == "float16" else tried if isinstance(tried, str)
                    else f"clean {tried['clean']:.2%}, robust {pct(tried['robust'], 1)}")
        lines.append(f"| `{r['name']}` | {lessons} | {r['dtype']} | {r['bytes'] / 1e3:.0f} kB | "
                     f"{r['clean_float32']:.2%} | {r['clean_shipped']:.2%} | "
                     f"{'' if r.get('eps') is None else format(r['eps'], 'g')} | {pct(r['robust_float32'], 1)} | "
                     f"{pct(r['robust_shipped'], 1)} | {rejected} |")
    return "\n".join(lines) + "\n"


def lesson_models(mode: str | None = None) -> list[str]:
    """Every model the lessons ask for in ``mode`` (``"quick"`` or ``"full"``; default: the current mode), once
    each, in lesson order."""
    mode = mode or config.mode()
    if mode not in ("quick", "full"):
        raise ValueError(f"mode must be 'quick' or 'full', got {mode!r}")
    wanted = [n for names_ in LESSON_MODELS.values() for n in names_]
    if mode == "full":
        wanted += [n for names_ in LESSON_MODELS_FULL.values() for n in names_]
    return list(dict.fromkeys(wanted))


TRAIN_SECONDS = Path(__file__).resolve().parent / "train_seconds.json"


def expected_seconds(names_: list[str], mode: str | None = None) -> float | None:
    """How long training ``names_`` took on the course's reference machine (2 CPU cores), in seconds, from
    ``helpers/train_seconds.json`` (``python -m helpers.pretrain --record-times`` writes it); None if unknown."""
    mode = mode or config.mode()
    try:
        recorded = json.loads(TRAIN_SECONDS.read_text())[mode]
    except (OSError, KeyError, ValueError):
        return None
    if any(name not in recorded for name in names_):
        return None
    return float(sum(recorded[name] for name in names_))


def missing(lesson: str) -> list[str]:
    """The models lesson ``lesson`` (``"08"``) loads that have no saved copy for this mode and data yet."""
    if not (isinstance(lesson, str) and len(lesson) == 2 and lesson.isdigit()):
        raise ValueError(f"zoo: a lesson is named by its two digits, such as '08'; got {lesson!r}")
    wanted = list(LESSON_MODELS.get(lesson, ())) + (list(LESSON_MODELS_FULL.get(lesson, ()))
                                                    if config.mode() == "full" else [])
    return [name for name in dict.fromkeys(wanted) if not is_stored(name)]


def announce_training(lesson: str) -> str | None:
    """One line, before a lesson starts, when some of its models must be trained first: how many, the expected
    wait, and the command that trains them ahead. Printed and returned; None (and nothing printed) when all are
    saved."""
    todo = missing(lesson)
    if not todo:
        return None
    seconds = expected_seconds(todo)
    wait = (f"about {max(1, round(seconds / 60))} minute{'s' if round(seconds / 60) > 1 else ''} on 2 CPU cores"
            if seconds else "a while on a CPU")
    line = (f"lesson {lesson}: {len(todo)} of its models {'is' if len(todo) == 1 else 'are'} not trained yet "
            f"({', '.join(todo)}); training {'it' if len(todo) == 1 else 'them'} now takes {wait}, once. "
            "`make models` trains every lesson's models ahead of class.")
    print(line)
    return line


def record_train_seconds(mode: str = "quick") -> dict:
    """Write the training seconds of every lesson model saved for ``mode`` into ``helpers/train_seconds.json``."""
    import platform

    previous = json.loads(TRAIN_SECONDS.read_text()) if TRAIN_SECONDS.is_file() else {}
    seconds = {}
    for name in lesson_models(mode):
        entry = _stored_entry(name)
        if entry and "train_seconds" in entry[1]:
            seconds[name] = round(float(entry[1]["train_seconds"]), 1)
    previous[mode] = seconds
    previous[f"{mode}_measured"] = (f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPU cores "
                                    f"(python -m helpers.pretrain --record-times)")
    TRAIN_SECONDS.write_text(json.dumps(previous, indent=1, sort_keys=True) + "\n")
    return seconds


def pretrain(names_: list[str] | None = None, *, verbose: int = 1) -> dict[str, str]:
    """Train (or find) every model of :func:`lesson_models` in the current mode, so a class starts without
    waiting. Returns name -> ``"stored"`` (already there), ``"trained"`` or ``"not saved"``."""
    outcome = {}
    todo = names_ or lesson_models()
    for name in progress_bar(todo, desc=f"{config.mode()}-mode models", unit="model", disable=not verbose):
        if is_stored(name):
            outcome[name] = "stored"
            continue
        get(name, verbose=verbose)
        outcome[name] = "trained" if stored_path(name) else "not saved"
    return outcome
