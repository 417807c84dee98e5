"""What every benchmark shares: the machine and versions, and writing JSON plus a Markdown table.

Benchmarks print numbers; they assert nothing. Run them in full mode on full
MNIST (``ADVLAB_DATA_DIR`` pointing at a folder with ``mnist.npz``, or with
internet for ``tensorflow_datasets``); quick mode works too and says so.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import helpers  # noqa: E402  (before TensorFlow)
from helpers import compat, config, data  # noqa: E402


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
    """A GitHub Markdown table of ``rows`` (floats to 4 significant digits, a dict as ``key value, ...``)."""
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    def cell(v):
        if isinstance(v, dict):
            return ", ".join(f"{k} {cell(x)}" for k, x in v.items())
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


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
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str))
    header = (f"# {name}\n\n{env['date']} · {env['machine']} · {env['device']} · TensorFlow "
              f"{env['versions']['tensorflow']} · mode: {env['mode']} · data: {env['data_source']}\n\n")
    table = markdown_table(rows)
    stem.with_suffix(".md").write_text(header + (note + "\n\n" if note else "") + table + "\n")
    print(header + (note + "\n\n" if note else "") + table)
    print(f"\nwritten: {stem.with_suffix('.json')} and .md")
    return stem.with_suffix(".json")
