"""MNIST for the lessons: loading from three sources, normalising, batching.

Sources, in the order ``load_mnist(split)`` tries them (``source="auto"``):

1. a local folder, when given as ``data_dir=`` or by ``ADVLAB_DATA_DIR``
   (explicit wins): ``mnist.npz`` (keys ``x_train y_train x_test y_test``)
   or the four IDX files, gzipped or not;
2. in full mode, ``tensorflow_datasets`` (downloads and caches MNIST), but
   only after a quick check (a few seconds at most) that it either has MNIST
   prepared already or can reach its download server; without that check
   TFDS retries for minutes on a machine with no network;
3. the real-MNIST sample committed with the project
   (``helpers/sample_data/``: 8,000 train and 2,000 test images, 800 and
   200 per digit). Quick mode uses it directly, so nothing needs the network.

Every load prints one line naming the source and the number of examples, so
nobody mistakes results on the sample for results on full MNIST.

Elements look exactly like ``tfds.load('mnist')``'s:
``{"image": uint8 (28, 28, 1) in 0..255, "label": int64 in 0..9}``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import gzip
import hashlib
import json
import os
import socket
import struct
from pathlib import Path

import numpy as np
import tensorflow as tf

from . import config
from .config import IMAGE_KEY, LABEL_KEY
from .inputs import NUM_CLASSES

SPLITS = ("train", "test")
SOURCES = ("auto", "local", "tfds", "sample")
SAMPLE_PATH = Path(__file__).resolve().parent / "sample_data" / "mnist_sample.npz"
# The four IDX files of the MNIST distribution, by split (images, labels).
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
TFDS_HOST = ("storage.googleapis.com", 443)


@dataclasses.dataclass
class MnistSplit:
    """One split as NumPy arrays, and where it came from.

    images: uint8, shape (n, 28, 28, 1), values 0..255.
    labels: int64, shape (n,), values 0..9.
    source: a short description, e.g. ``"sample (helpers/sample_data/mnist_sample.npz)"``.
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    split: str

    def __len__(self) -> int:
        return len(self.labels)

    def describe(self) -> str:
        return f"MNIST {self.split}: {len(self):,} examples from {self.source}"


# --------------------------------------------------------------------------- checks

def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits are {', '.join(SPLITS)}")


def validate_arrays(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check raw MNIST arrays and return them as uint8 (n, 28, 28, 1) and int64 (n,).

    Raises ``ValueError`` with the reason for: images that are not uint8
    0..255 (already normalised?), a wrong image shape, labels out of 0..9,
    or a different number of images and labels.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.dtype != np.uint8:
        raise ValueError(f"raw MNIST images must be uint8 in 0..255, got {images.dtype}; "
                         "if they are already normalised to [0, 1], do not normalise them again")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"MNIST images must have shape (n, 28, 28) or (n, 28, 28, 1), got {images.shape}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} with shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"labels must be in 0..{NUM_CLASSES - 1}, found {labels.min()}..{labels.max()}")
    return images, labels.astype(np.int64)


# --------------------------------------------------------------------------- sources

def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:   # a gzip file cut short, or not gzip at all
        raise ValueError(f"{path} cannot be read: {type(error).__name__}: {error} (a truncated or damaged "
                         "file? download it again)") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"{path} is truncated: its header is cut short")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {array.size} bytes")
    return array.reshape(shape)


def _not_a_file(data_dir) -> Path:
    folder = Path(data_dir).expanduser()
    if folder.is_file():
        raise NotADirectoryError(f"the MNIST data path {folder} is a file, not a folder: set ADVLAB_DATA_DIR (or "
                                 f"data_dir=) to the folder that holds it, {folder.parent}")
    return folder


def _check_folder(data_dir) -> Path:
    folder = _not_a_file(data_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST data folder {folder} does not exist (set by ADVLAB_DATA_DIR or data_dir=)")
    return folder


def _read_npz(npz: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """One split's images and labels from an ``mnist.npz``, with an error naming the file for every fault."""
    import zipfile

    keys = (f"x_{split}", f"y_{split}")
    try:
        d = np.load(npz, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ValueError(f"{npz} cannot be read: {type(error).__name__}: {error} (not an npz file, or truncated "
                         "or damaged? copy it again)") from None
    if not isinstance(d, np.lib.npyio.NpzFile):
        raise ValueError(f"{npz} holds a single {type(d).__name__}, not an npz archive with the keys x_train, "
                         "y_train, x_test, y_test")
    try:
        with d:
            missing = [k for k in keys if k not in d.files]
            if missing:
                raise KeyError(f"{npz} lacks {', '.join(missing)} (expected keys x_train, y_train, x_test, y_test;"
                               f" found {', '.join(d.files) or 'none'})")
            raw = d[keys[0]], d[keys[1]]
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:   # a member cut short
        raise ValueError(f"{npz} cannot be read: {type(error).__name__}: {error} (truncated or damaged? copy it "
                         "again)") from None
    try:
        return validate_arrays(*raw)
    except ValueError as error:
        raise ValueError(f"{npz}, split {split!r}: {error}") from None


def _data_files(folder: Path, split: str) -> list[Path]:
    """The files :func:`load_local` reads for ``split``: ``mnist.npz``, else the two IDX files (those found)."""
    npz = folder / "mnist.npz"
    if npz.is_file():
        return [npz]
    return [p for p in (_find_idx(folder, s) for s in IDX_FILES[split]) if p is not None]


def _backing_files(source: str, folder: str | None) -> list[Path]:
    """The files the data of ``source`` is read from (for the identity cache): every data file of both splits."""
    if source == "local":
        return sorted({p for split in SPLITS for p in _data_files(Path(folder), split)}) if Path(folder).is_dir() \
            else []
    if source == "sample":
        return [SAMPLE_PATH]
    import tensorflow_datasets as tfds

    prepared = Path(tfds.builder("mnist", data_dir=_tfds_data_dir()).data_dir)
    return sorted(p for p in prepared.rglob("*") if p.is_file()) if prepared.is_dir() else []


def _load_source(source: str, folder: str | None, split: str) -> MnistSplit:
    if source == "local":
        return load_local(split, folder)
    return load_sample(split) if source == "sample" else load_tfds(split)


def arrays_digest(splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """SHA-256 (first 16 hex digits) of MNIST's arrays: split name, then images (uint8) and labels (int64) with
    their shapes, split by split in a fixed order. The same digits give the same digest whatever file held them."""
    digest = hashlib.sha256()
    for split in sorted(splits):
        images, labels = splits[split]
        images = np.ascontiguousarray(images, dtype=np.uint8)
        labels = np.ascontiguousarray(labels, dtype="<i8")
        digest.update(f"{split}:{images.shape}:{labels.shape};".encode())
        digest.update(images.tobytes())
        digest.update(labels.tobytes())
    return digest.hexdigest()[:16]


# The identity of MNIST itself (LeCun et al.'s 60,000 training and 10,000 test images, as tensorflow_datasets
# and keras.datasets serve them): the data the shipped full-mode models were trained on.
MNIST_IDENTITY = "mnist-3e157d13f57fe386"

# Identities computed in this process, and the file that keeps them between processes (in the first writable
# artifacts folder), both keyed by the backing files' paths, sizes and modification times: a file is hashed
# once, not at every load; a file replaced or touched is hashed again (and gives the same identity if its
# content is the same).
_IDENTITIES: dict[str, str] = {}
IDENTITY_CACHE = "data-identity.json"


def _identity_cache_file() -> Path | None:
    folder = config.artifacts_dir()
    return folder / IDENTITY_CACHE if config.writable(folder) else None


def source_identity(source: str, folder: str | None) -> str:
    """What identifies the data a model was trained on, for the zoo's cache key: ``mnist-<digest>``, a hash of
    both splits' arrays as loaded (:func:`arrays_digest`).

    The same images and labels give the same identity from an ``mnist.npz``, the IDX files or
    ``tensorflow_datasets``, in any folder, after any copy or ``touch``; one changed pixel gives another. The
    hash (a second or two for full MNIST) is computed once per set of files: it is kept by their paths, sizes
    and modification times, in this process and in ``<artifacts>/data-identity.json``.
    """
    files = _backing_files(source, folder)
    if not files:
        return "no data files"
    stamp = f"{source}|" + "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    if stamp in _IDENTITIES:
        return _IDENTITIES[stamp]
    cache = _identity_cache_file()
    saved = {}
    if cache is not None and cache.is_file():
        with contextlib.suppress(OSError, ValueError):
            saved = json.loads(cache.read_text())
    identity = saved.get(stamp) if isinstance(saved, dict) else None
    if not isinstance(identity, str):
        splits = {}
        for split in SPLITS:
            loaded = _load_source(source, folder, split)
            splits[split] = (loaded.images, loaded.labels)
        identity = f"mnist-{arrays_digest(splits)}"
        if cache is not None:
            saved = saved if isinstance(saved, dict) else {}
            saved[stamp] = identity
            with contextlib.suppress(OSError):
                temporary = cache.with_name(f".{cache.name}.{os.getpid()}")
                temporary.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
                os.replace(temporary, cache)
    _IDENTITIES[stamp] = identity
    return identity


def legacy_source_identity(source: str, folder: str | None) -> str:
    """The data identity of the cache's first key format (before 2026-12): file names, sizes and modification
    times for a folder, the sample file's SHA-1, or TFDS's version. The zoo uses it only to recognise models
    saved under that format."""
    if source == "local":
        files = _backing_files(source, folder)
        return ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files) or "no data files"
    if source == "sample":
        return f"sample:{_sha1(SAMPLE_PATH)}"
    from importlib.metadata import version

    return f"tensorflow_datasets {version('tensorflow-datasets')} mnist"


@functools.lru_cache(maxsize=4)
def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12]


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_local(split: str, data_dir: str | os.PathLike) -> MnistSplit:
    """One split from a folder with ``mnist.npz`` or the four IDX files (gzipped or not)."""
    _check_split(split)
    folder = _check_folder(data_dir)
    npz = folder / "mnist.npz"
    if npz.is_file():
        images, labels = _read_npz(npz, split)
        return MnistSplit(images, labels, f"local folder ({npz})", split)
    stems = IDX_FILES[split]
    paths = [_find_idx(folder, s) for s in stems]
    if None in paths:
        wanted = " and ".join(f"{s}[.gz]" for s in stems)
        raise FileNotFoundError(f"{folder} holds neither mnist.npz nor the IDX files {wanted} for the "
                                f"{split!r} split")
    try:
        images, labels = validate_arrays(_read_idx(paths[0]), _read_idx(paths[1]))
    except ValueError as error:
        if str(folder) in str(error):
            raise
        raise ValueError(f"the IDX files {paths[0].name} and {paths[1].name} in {folder}: {error}") from None
    return MnistSplit(images, labels, f"local folder ({folder}, IDX files)", split)


def load_sample(split: str) -> MnistSplit:
    """One split of the committed real-MNIST sample (8,000 train / 2,000 test images)."""
    _check_split(split)
    with np.load(SAMPLE_PATH) as d:
        images, labels = validate_arrays(d[f"x_{split}"], d[f"y_{split}"])
    return MnistSplit(images, labels, "the project's MNIST sample (helpers/sample_data)", split)


def _tfds_data_dir() -> str | None:
    return os.environ.get("TFDS_DATA_DIR") or None


def tfds_prepared() -> bool:
    """True if ``tensorflow_datasets`` already has MNIST on disk (no network needed)."""
    try:
        import tensorflow_datasets as tfds

        return bool(tfds.builder("mnist", data_dir=_tfds_data_dir()).is_prepared())
    except Exception:
        return False


def network_reachable(host: tuple[str, int] = TFDS_HOST, timeout: float = 3.0) -> bool:
    """True if a TCP connection to ``host`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


def load_tfds(split: str) -> MnistSplit:
    """One split through ``tensorflow_datasets`` (downloads MNIST the first time)."""
    _check_split(split)
    import tensorflow_datasets as tfds

    arrays = tfds.as_numpy(tfds.load("mnist", split=split, batch_size=-1, data_dir=_tfds_data_dir()))
    images, labels = validate_arrays(arrays[IMAGE_KEY], arrays[LABEL_KEY])
    return MnistSplit(images, labels, "tensorflow_datasets", split)


def resolve_source(source: str = "auto", data_dir: str | os.PathLike | None = None) -> tuple[str, str | None]:
    """Which source ``load_mnist`` will use: ``("local", folder)``, ``("tfds", None)`` or ``("sample", None)``.

    Quick to call: at most one network check of a few seconds in full mode.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; valid sources are {', '.join(SOURCES)}")
    data_dir = data_dir or os.environ.get("ADVLAB_DATA_DIR") or None
    if source == "local" or (source == "auto" and data_dir):
        if not data_dir:
            raise ValueError("source='local' needs data_dir= or the ADVLAB_DATA_DIR environment variable")
        return "local", str(_not_a_file(data_dir).resolve())
    if source == "sample" or (source == "auto" and config.quick_mode()):
        return "sample", None
    if source == "tfds" or tfds_prepared() or network_reachable():
        return "tfds", None
    return "sample", None


def load_mnist_arrays(split: str, *, source: str = "auto", data_dir: str | os.PathLike | None = None,
                      limit: int | None = None, verbose: bool = True) -> MnistSplit:
    """One MNIST split as arrays, from the first source that works (see the module docstring).

    ``source`` forces one source (``"local"``, ``"tfds"``, ``"sample"``);
    ``limit`` keeps only the first ``limit`` examples. In quick mode with a
    local folder the split is cut to the sample's size, so quick runs stay quick.
    """
    _check_split(split)
    chosen, data_dir = resolve_source(source, data_dir)
    note = ""
    if chosen == "local":
        result = load_local(split, data_dir)
    elif chosen == "tfds":
        result = load_tfds(split)
    else:
        result = load_sample(split)
        if source == "auto" and not config.quick_mode():
            note = " (offline and no ADVLAB_DATA_DIR: these are NOT full-MNIST results)"
    if limit is None and config.quick_mode():
        limit = config.QUICK_SIZES[split]
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        result = dataclasses.replace(result, images=result.images[:limit], labels=result.labels[:limit])
    if verbose:
        print(result.describe() + note)
    return result


def load_mnist(split: str, **kwargs) -> tf.data.Dataset:
    """One MNIST split as a ``tf.data.Dataset`` shaped like ``tfds.load('mnist')[split]``.

    Elements: ``{"image": uint8 (28, 28, 1), "label": int64}``. Keyword
    arguments go to :func:`load_mnist_arrays` (``source``, ``data_dir``,
    ``limit``, ``verbose``).
    """
    return as_dataset(load_mnist_arrays(split, **kwargs))


def as_dataset(arrays: MnistSplit) -> tf.data.Dataset:
    """A loaded split as a ``tf.data.Dataset`` of ``{"image": uint8 (28, 28, 1), "label": int64}``."""
    return tf.data.Dataset.from_tensor_slices({IMAGE_KEY: arrays.images, LABEL_KEY: arrays.labels})


def load_normalized(split: str, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """One split as float32 images (n, 28, 28, 1) in [0, 1] and int64 labels (n,).

    The form every attack and evaluation takes.
    """
    arrays = load_mnist_arrays(split, **kwargs)
    return arrays.images.astype(np.float32) / 255.0, arrays.labels


# --------------------------------------------------------------------------- the NSL tutorial's steps

def normalize(features: dict) -> dict:
    """Scale ``features["image"]`` from uint8 0..255 to float32 0..1; other keys pass through.

    Raises ``ValueError`` if the image is not uint8: a float image has already
    been normalised, and dividing by 255 again (the classic double-division
    bug) would silently give images in [0, 0.004].
    """
    if not isinstance(features, dict) or IMAGE_KEY not in features:
        raise ValueError(f"normalize expects a feature dict with an {IMAGE_KEY!r} key, got {type(features).__name__}")
    image = features[IMAGE_KEY]
    if tf.as_dtype(image.dtype) != tf.uint8:
        raise ValueError(f"normalize expects uint8 images in 0..255, got {tf.as_dtype(image.dtype).name}: "
                         "they look already normalised; normalising twice divides by 255 twice")
    out = dict(features)
    out[IMAGE_KEY] = tf.cast(image, tf.float32) / 255.0
    return out


def convert_to_tuples(features: dict) -> tuple:
    """``{"image", "label"}`` -> ``(image, label)``, the form ``model.fit`` takes for a base model."""
    return features[IMAGE_KEY], features[LABEL_KEY]


def convert_to_dictionaries(image, label) -> dict:
    """``(image, label)`` -> ``{"image", "label"}``: NSL's wrapper needs the label inside the features."""
    return {IMAGE_KEY: image, LABEL_KEY: label}


def make_pipeline(dataset: tf.data.Dataset, hparams: config.HParams | None = None, *, training: bool,
                  as_dict: bool = False, seed: int | None = None) -> tf.data.Dataset:
    """Normalise, (shuffle when ``training``), batch, convert, prefetch.

    ``dataset`` yields raw feature dicts (as :func:`load_mnist` returns).
    Returns batches of ``(image, label)``, or of ``{"image", "label"}`` with
    ``as_dict=True``; images float32 (batch, 28, 28, 1) in [0, 1].
    """
    hparams = hparams or config.hparams()
    spec = dataset.element_spec
    if not isinstance(spec, dict) or IMAGE_KEY not in spec or LABEL_KEY not in spec:
        raise ValueError("make_pipeline expects a dataset of {'image', 'label'} dicts, as load_mnist returns")
    ds = dataset.map(normalize, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        ds = ds.shuffle(hparams.shuffle_buffer, seed=config.seed() if seed is None else seed,
                        reshuffle_each_iteration=True)
    ds = ds.batch(hparams.batch_size)
    if not as_dict:
        ds = ds.map(convert_to_tuples)
    return ds.prefetch(tf.data.AUTOTUNE)


def random_shift(dataset: tf.data.Dataset, max_pixels: int, *, seed: int | None = None) -> tf.data.Dataset:
    """Data augmentation: translate each image by its own random whole-pixel offset.

    ``dataset`` yields batches ``(images, labels)``, images float (batch, 28, 28, 1) in [0, 1].
    Each image moves by an offset drawn uniformly from -``max_pixels``..``max_pixels``
    pixels on each axis, independently per image and per pass; pixels shifted in are 0
    (MNIST's background). MNIST digits sit in the middle 20x20 pixels, so shifts of up to
    4 pixels never cut a stroke. ``max_pixels=0`` returns ``dataset`` unchanged.
    """
    if int(max_pixels) != max_pixels or max_pixels < 0:
        raise ValueError(f"max_pixels must be a whole number >= 0, got {max_pixels!r}")
    p = int(max_pixels)
    if p == 0:
        return dataset
    rng = tf.random.Generator.from_seed(config.seed() if seed is None else seed)

    def shift(images, labels):
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        padded = tf.pad(images, [[0, 0], [p, p], [p, p], [0, 0]])
        offsets = rng.uniform([tf.shape(images)[0], 2], 0, 2 * p + 1, dtype=tf.int32)
        rows = offsets[:, :1] + tf.range(height)[None, :]            # (batch, height)
        cols = offsets[:, 1:] + tf.range(width)[None, :]             # (batch, width)
        out = tf.gather(padded, rows, axis=1, batch_dims=1)
        out = tf.gather(out, cols, axis=2, batch_dims=1)
        return tf.ensure_shape(out, images.shape), labels

    return dataset.map(shift)
