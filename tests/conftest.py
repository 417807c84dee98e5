"""Shared test set-up: quick mode, a private artifacts folder, and `helpers` imported before TensorFlow."""
import os
import sys

import pytest

os.environ["ADVLAB_QUICK"] = "1"
os.environ.pop("ADVLAB_DATA_DIR", None)

import helpers  # noqa: E402,F401  (before TensorFlow, as in every notebook)


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


def python_exe():
    return sys.executable


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


# What runs after what in `make test`: unit tests, then the lessons under nbval (which trains the quick models and
# writes executed copies of the lessons), then the browser tests (which open those executed copies) and the class
# on JupyterHub (which starts its own servers).
_LATE = (("tests/browser/", 2), ("tests/hub/", 3), ("notebooks/", 1))


def _stage(item) -> int:
    return next((stage for prefix, stage in _LATE if item.nodeid.startswith(prefix)), 0)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_stage)
