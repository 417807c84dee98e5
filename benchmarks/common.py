"""What every benchmark shares: the machine and versions, writing JSON plus a Markdown table, per-image records.

Benchmarks print numbers; they assert nothing. Run them in full mode on full
MNIST (``ADVLAB_DATA_DIR`` pointing at a folder with ``mnist.npz``, or with
internet for ``tensorflow_datasets``); quick mode works too and says so.

A robustness row may keep which images its attack broke: ``"robust"``, one character per attacked image in
image order (``"1"`` the model still classifies it correctly, ``"0"`` broken), from test image
``"first_image"`` on. Worst cases over several attacks are per-image ANDs of such records
(:func:`worst_case_row`), and a long evaluation saves them after each chunk of images in a state file
(:class:`State`) so that a rerun continues it.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import helpers  # noqa: F401  (before TensorFlow)
from helpers import compat, config, data, referee
import numpy as np

PER_IMAGE_KEYS = ("robust", "first_broken_by", "broken_with_target", "first_image", "of")
"""A row's per-image keys: kept in the JSON, left out of the Markdown table."""
CLEAN_MISCLASSIFIED = referee.CLEAN_MISCLASSIFIED
"""``first_broken_by`` of an image the model got wrong before any attack (the referee's own mark)."""


def environment() -> dict:
    """Machine, versions, mode and data source: the context every benchmark number needs."""
    source, folder = data.resolve_source()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()} {platform.release()}",
        "device": compat.device_report().split("device: ")[-1],
        "versions": compat.versions(),
        "mode": config.mode(),
        # the variable, not the folder: results are kept in git, and a machine's own path means nothing elsewhere
        "data_source": source + (" (ADVLAB_DATA_DIR)" if folder else ""),
    }


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub Markdown table of ``rows`` (floats to 4 significant digits, a dict as ``key value, ...``).

    By default every key of the rows but the per-image ones (:data:`PER_IMAGE_KEYS`).
    """
    import report                  # benchmarks/report.py: the one Markdown table writer

    columns = columns or list(dict.fromkeys(k for r in rows for k in r if k not in PER_IMAGE_KEYS))

    def cell(v):
        if isinstance(v, dict):
            return ", ".join(f"{k} {cell(x)}" for k, x in v.items())
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return report.markdown_table(columns, [[cell(r.get(c, "")) for c in columns] for r in rows]).rstrip("\n")


def found_by_note(rows: list[dict]) -> str:
    """The sentence naming AutoAttack's counts (its row's ``found_by``: attack -> images it broke first), or ''."""
    found = next((r["found_by"] for r in rows if "found_by" in r), None)
    if not found:
        return ""
    return (" AutoAttack's broken images by the attack that broke them first: "
            + ", ".join(f"{name} {n}" for name, n in found.items()) + ".")


def write_results(name: str, rows: list[dict], extra: dict | None = None, note: str = "") -> Path:
    """Write ``<artifacts>/benchmarks/<name>-<mode>.json`` and ``.md``; print the table; return the JSON path."""
    env = environment()
    out = config.artifacts_dir() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{name}-{env['mode']}"
    payload = {"benchmark": name, "environment": env, "rows": rows, **(extra or {})}
    stem.with_suffix(".json").write_text(dumps(payload))
    header = (f"# {name}\n\n{env['date']} · {env['machine']} · {env['device']} · TensorFlow "
              f"{env['versions']['tensorflow']} · mode: {env['mode']} · data: {env['data_source']}\n\n")
    table = markdown_table(rows)
    stem.with_suffix(".md").write_text(header + (note + "\n\n" if note else "") + table + "\n")
    print(header + (note + "\n\n" if note else "") + table)
    print(f"\nwritten: {stem.with_suffix('.json')} and .md")
    return stem.with_suffix(".json")


def dumps(payload) -> str:
    """JSON indented by 2, except that a list of numbers, strings or nulls stays on one line (per-image lists)."""
    def encode(value, indent):
        pad, inner = " " * indent, " " * (indent + 2)
        if isinstance(value, dict) and value:
            items = [f"{inner}{json.dumps(str(k))}: {encode(v, indent + 2)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(value, (list, tuple)) and value and any(isinstance(v, (dict, list, tuple)) for v in value):
            return "[\n" + ",\n".join(inner + encode(v, indent + 2) for v in value) + "\n" + pad + "]"
        return json.dumps(value, default=str)
    return encode(json.loads(json.dumps(payload, default=str)), 0)


# --------------------------------------------------------------------------- per-image records

def robust_record(mask) -> str:
    """Per image, in order: ``"1"`` where the model still classifies it correctly, ``"0"`` where it was broken."""
    return "".join("1" if m else "0" for m in np.asarray(mask, dtype=bool).ravel())


def robust_mask(record: str) -> np.ndarray:
    """The bool array (n,) of a ``"0110..."`` record (:func:`robust_record`); ValueError on any other character."""
    if not isinstance(record, str) or set(record) - {"0", "1"}:
        raise ValueError(f"a per-image record is a string of 0 and 1, got {str(record)[:40]!r}")
    return np.frombuffer(record.encode(), dtype=np.uint8) == ord("1")


AUTOATTACK_ORDER = ("APGD-CE", "APGD-DLR", "DeepFool", "Square")
"""ART's AutoAttack runs its attacks in this order; an image is credited to the first one that broke it."""


def found_by_counts(first_broken_by: list) -> tuple[dict, int]:
    """``(found_by, misclassified_clean)`` from per-image ``first_broken_by`` names (None: not broken).

    ``found_by``: attack name -> images it broke first, every attack of :data:`AUTOATTACK_ORDER` (0 when it
    broke none) and then any other name in order of appearance.
    """
    names = list(AUTOATTACK_ORDER) + [b for b in dict.fromkeys(first_broken_by)
                                      if b not in AUTOATTACK_ORDER and b not in (None, CLEAN_MISCLASSIFIED)]
    return ({name: sum(b == name for b in first_broken_by) for name in names},
            sum(b == CLEAN_MISCLASSIFIED for b in first_broken_by))


def worst_case_row(measure: str, rows: list[dict], threat: str, images: int | None = None) -> dict:
    """The per-image worst case of ``rows`` (each with a ``robust`` record from the same first image).

    An image counts as robust only where every row's attack left it standing (the AND of the records), over
    the images all of them attacked (the shortest record; at most ``images``). ``"of"`` names the rows, so
    that a merge of parts can check it; ``threat``: the threat model, without the image count, which is added.
    """
    if not rows:
        raise ValueError(f"{measure!r}: no rows to combine")
    firsts = {r.get("first_image", 0) for r in rows}
    if len(firsts) > 1:
        raise ValueError(f"{measure!r}: the rows start at different images {sorted(firsts)}")
    n = min([len(r["robust"]) for r in rows] + ([images] if images is not None else []))
    mask = np.logical_and.reduce([robust_mask(r["robust"])[:n] for r in rows])
    return {"measure": measure, "value": float(mask.mean()) if n else float("nan"), "images": n,
            "threat model": f"{threat}, {n:,} images", "seconds": 0.0, "first_image": firsts.pop(),
            "of": [r["measure"] for r in rows], "robust": robust_record(mask)}


# --------------------------------------------------------------------------- resuming a long evaluation

class StateMismatch(ValueError):
    """A saved state belongs to another evaluation (model, eps, first image, attack settings)."""


def state_path(name: str) -> Path:
    """``<artifacts>/benchmarks/<name>-<mode>.state.json``: where a long evaluation keeps its progress."""
    return config.artifacts_dir() / "benchmarks" / f"{name}-{config.mode()}.state.json"


def weights_digest(model) -> str:
    """A short SHA-1 of the model's weights: tells a retrained model from the one a state was saved for."""
    digest = hashlib.sha1()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()[:16]


def _canonical(value):
    return json.loads(json.dumps(value, sort_keys=True, default=str))


class State:
    """A long evaluation's per-image records, saved after every chunk of images, so that a rerun continues it.

    ``path``: the JSON file (:func:`state_path`); ``key``: what the records are valid for (model and its
    weights, eps, first image, ...): a saved state with another key is refused (:class:`StateMismatch`),
    never silently reused; ``fresh=True`` discards a saved state first. The file holds ``{"key": ...,
    "attacks": {measure: {"settings": ..., "robust": "0110...", "seconds": s, <per-image lists>}}}``,
    written atomically (a crash leaves the previous chunk's file).
    """

    def __init__(self, path: Path, key: dict, *, fresh: bool = False):
        self.path, self.key = Path(path), _canonical(key)
        if fresh and self.path.exists():
            self.path.unlink()
        self.attacks: dict[str, dict] = {}
        if self.path.exists():
            saved = json.loads(self.path.read_text())
            differ = [k for k in sorted(set(self.key) | set(saved.get("key", {})))
                      if saved.get("key", {}).get(k) != self.key.get(k)]
            if differ:
                raise StateMismatch(
                    f"{self.path} was saved by another evaluation: "
                    + "; ".join(f"{k} {saved.get('key', {}).get(k)!r} there, {self.key.get(k)!r} now"
                                for k in differ)
                    + ". Rerun with the arguments it was saved with to continue it, or pass --fresh to discard it.")
            self.attacks = saved.get("attacks", {})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        partial.write_text(dumps({"key": self.key, "attacks": self.attacks}))
        os.replace(partial, self.path)

    def done(self, measure: str) -> int:
        """How many images the saved records of ``measure`` cover (0 when none)."""
        return len(self.attacks.get(measure, {}).get("robust", ""))

    def run(self, measure: str, settings: dict, x: np.ndarray, y: np.ndarray, attack: Callable, *,
            chunk: int = 100, seed: int = 0, log: Callable[[str], None] | None = print) -> dict:
        """Per-image records of ``attack`` on ``x`` (n, ...) with labels ``y`` (n,), continuing saved ones.

        ``attack(x_chunk, y_chunk)`` returns a dict: ``"robust"``, bool (k,), and optionally other per-image
        lists of length k (e.g. ``first_broken_by``). Images are attacked ``chunk`` at a time from the first
        one the saved records lack, with the seeds (Python, NumPy, TensorFlow) set to ``seed`` plus the
        chunk's first index, so a resumed run draws what an uninterrupted one would; the state is saved after
        each chunk. ``settings`` (the attack's parameters) must match the saved ones (:class:`StateMismatch`).
        Returns ``{"robust": "0110...", <lists>, "seconds": s}`` for the n images (a prefix of longer records;
        their seconds then pro rata).
        """
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1 image, got {chunk}")
        settings = _canonical(settings)
        record = self.attacks.get(measure)
        if record is None:
            record = self.attacks[measure] = {"settings": settings, "robust": "", "seconds": 0.0}
        elif record["settings"] != settings:
            raise StateMismatch(f"{self.path}: {measure!r} was saved with the settings {record['settings']}, this "
                                f"run has {settings}. Rerun with the arguments it was saved with to continue it, "
                                "or pass --fresh to discard it.")
        n = len(x)
        for start in range(len(record["robust"]), n, chunk):
            stop = min(start + chunk, n)
            config.set_seeds(seed + start)
            began = time.perf_counter()
            out = attack(x[start:stop], y[start:stop])
            robust = np.asarray(out["robust"], dtype=bool)
            if robust.shape != (stop - start,):
                raise ValueError(f"{measure!r}: the attack returned {robust.shape} robust flags for "
                                 f"{stop - start} images")
            extras = {k: list(v) for k, v in out.items() if k != "robust"}
            for k, v in extras.items():
                if len(v) != stop - start or len(record.get(k, [])) != start:
                    raise ValueError(f"{measure!r}: per-image list {k!r} does not cover images {start}..{stop - 1}")
                record[k] = record.get(k, []) + [_canonical(item) for item in v]
            record["robust"] += robust_record(robust)
            record["seconds"] = round(record["seconds"] + time.perf_counter() - began, 1)
            self.save()
            if log:
                log(f"{measure}: {stop}/{n} images, {record['seconds']:.0f} s (saved in {self.path.name})")
        kept = len(record["robust"])
        result = {k: v[:n] for k, v in record.items() if k not in ("settings", "seconds")}
        result["seconds"] = round(record["seconds"] * min(n, kept) / kept, 1) if kept else 0.0
        return result
