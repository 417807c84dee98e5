"""Shared test set-up: quick mode, a private artifacts folder, and `helpers` imported before TensorFlow."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lesson_runs import ARTIFACTS, LESSONS, REPO, code_sha1, executed_lesson, quick_env

os.environ["ADVLAB_QUICK"] = "1"
os.environ.pop("ADVLAB_DATA_DIR", None)     # the tests run on the sample (lesson_runs.FULL_DATA_DIR kept it)

import helpers  # noqa: F401  (before TensorFlow, as in every notebook)


@pytest.fixture(autouse=True)
def _private_artifacts(tmp_path_factory, monkeypatch):
    """Each test session writes models into its own temporary artifacts folder, never the repository's."""
    monkeypatch.setenv("ADVLAB_ARTIFACTS", str(tmp_path_factory.getbasetemp() / "artifacts"))
    monkeypatch.setenv("ADVLAB_QUICK", "1")
    monkeypatch.delenv("ADVLAB_DATA_DIR", raising=False)


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Block every network connection and hide any TFDS cache, as on a machine with no internet."""
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds-empty"))


@pytest.fixture(scope="session")
def base_model(tmp_path_factory):
    """The quick-mode base model from the zoo (trained once per test session, about 10 s)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ADVLAB_ARTIFACTS", str(tmp_path_factory.getbasetemp() / "artifacts"))
    from helpers import zoo

    model = zoo.get("base", verbose=0)
    mp.undo()
    return model


@pytest.fixture(scope="session")
def test_batch():
    """500 normalised test images (float32, [0, 1]) and their int64 labels."""
    from helpers import data

    return data.load_normalized("test", limit=500, verbose=False)


# --------------------------------------------------------------------------- the lessons, trained and executed

@pytest.fixture(scope="session")
def trained_models():
    """Every quick-mode model the lessons load, in ``artifacts/`` (``make models``; trained now if missing)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "helpers.pretrain", "--mode", "quick"], cwd=REPO, env=quick_env(),
                   check=True, capture_output=True, text=True, timeout=3600)
    print(f"quick-mode models ready in {time.perf_counter() - started:.0f} s")
    return ARTIFACTS


@pytest.fixture(scope="session")
def executed_lessons(trained_models, tmp_path_factory):
    """A folder with every lesson executed in quick mode: nbval's outputs from this run (on the lessons as they are
    now), or the lesson run here with nbclient when nbval did not run its code as it is now."""
    nbval_copies = Path(os.environ.get("ADVLAB_EXECUTED_DIR") or ARTIFACTS / "executed")
    folder = tmp_path_factory.mktemp("executed")
    for lesson in LESSONS:
        merged = executed_lesson(lesson, nbval_copies)
        target = folder / lesson.name
        if merged is not None:
            target.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n")
            continue
        shutil.copy(lesson, target)
        print(f"{lesson.name}: no complete executed copy of its code from nbval; executing it now")
        saved = {k: os.environ.get(k) for k in ("ADVLAB_ARTIFACTS", "ADVLAB_QUICK")}
        os.environ.update(ADVLAB_ARTIFACTS=str(ARTIFACTS), ADVLAB_QUICK="1")
        try:
            _book().execute(target)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        nb = json.loads(target.read_text())
        nb.setdefault("metadata", {})["advlab"] = {"executed_from": code_sha1(nb), "complete": True,
                                                   "executed_by": "nbclient"}
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return folder


def _book():
    import importlib.util

    spec = importlib.util.spec_from_file_location("advlab_tool_book", REPO / "tools" / "book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What runs after what in `make test`: unit tests, then the lessons under nbval (which trains the quick models and
# writes executed copies of the lessons), then what reads those copies (test_prose), the browser tests (which open
# them) and the class on JupyterHub (which starts its own servers).
_LATE = (("tests/browser/", 3), ("tests/hub/", 4), ("tests/test_prose.py", 2), ("notebooks/", 1))


def _stage(item) -> int:
    return next((stage for prefix, stage in _LATE if item.nodeid.startswith(prefix)), 0)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_stage)
