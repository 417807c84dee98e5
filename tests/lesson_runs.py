"""The lessons as nbval ran them: their executed copies (notebooks/conftest.py writes them to artifacts/executed/),
given the lessons' current Markdown and metadata. Shared by the tests that read what a lesson showed (test_prose)
and the browser tests."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts"
# Full MNIST, where the machine has it, read before tests/conftest.py removes ADVLAB_DATA_DIR (the tests run on
# the sample; tests/test_shipped.py also checks the shipped models on all 10,000 test images when it is set).
FULL_DATA_DIR = os.environ.get("ADVLAB_DATA_DIR") or None
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def code_sha1(notebook: dict) -> str:
    """The SHA-1 of a lesson's code cells, as notebooks/conftest.py records it in an executed copy."""
    code = "\x00".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    return hashlib.sha1(code.encode()).hexdigest()


def executed_lesson(lesson: Path, folder: Path) -> dict | None:
    """The lesson as it is now, with the outputs of its executed copy in ``folder``; None when there is no complete
    copy that ran this lesson's code (its Markdown and metadata may have changed since: they are taken from now).
    """
    copy = folder / lesson.name
    if not copy.is_file():
        return None
    ran = json.loads(copy.read_text())
    now = json.loads(lesson.read_text())
    meta = ran.get("metadata", {}).get("advlab", {})
    if meta.get("executed_from") != code_sha1(now) or not meta.get("complete"):
        return None
    outputs = [c for c in ran["cells"] if c["cell_type"] == "code"]
    for cell, done in zip((c for c in now["cells"] if c["cell_type"] == "code"), outputs):
        cell["outputs"], cell["execution_count"] = done.get("outputs", []), done.get("execution_count")
    now["metadata"]["advlab"] = meta
    return now


def quick_env(**extra) -> dict:
    env = dict(os.environ, ADVLAB_QUICK="1", ADVLAB_ARTIFACTS=str(ARTIFACTS), PYTHONUNBUFFERED="1")
    env.pop("ADVLAB_DATA_DIR", None)
    env.update(extra)
    return env
