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
