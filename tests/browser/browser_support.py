"""Shared by the browser tests and their fixtures: where things are, the system Chromium, servers on loopback."""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
VIEWPORT = {"width": 1280, "height": 720}
# Chromium as the machine's own probe starts it: no sandbox as root, and no background connections (this
# machine has no network; each refused connection costs time and fills the log).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
                 "--disable-default-apps", "--disable-features=Translate,OptimizationHints,MediaRouter"]


def load_tool(name: str):
    """A script of ``tools/`` as a module (``load_tool("book")``)."""
    spec = importlib.util.spec_from_file_location(f"advlab_tool_{name}", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chromium_executable() -> str | None:
    """The Chromium to drive: ``ADVLAB_CHROMIUM``, else ``chromium``, ``chromium-browser`` or ``google-chrome``."""
    for candidate in (os.environ.get("ADVLAB_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def shots_dir(*parts: str) -> Path:
    """Where screenshots go (created): ``ADVLAB_BROWSER_SHOTS`` or ``artifacts/browser``, then ``parts``."""
    folder = Path(os.environ.get("ADVLAB_BROWSER_SHOTS") or ARTIFACTS / "browser").joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None):
    """Poll ``url`` until it answers 200; fail early, with the log's end, if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering {url}"
                               + (f":\n{log.read_text()[-3000:]}" if log and log.exists() else ""))
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        time.sleep(0.5)
    raise TimeoutError(f"no answer from {url} within {timeout:.0f} s")


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


class Lab:
    """A running JupyterLab: ``url("lab/tree/lessons/03_...ipynb")`` adds the base URL and the token."""

    def __init__(self, base: str, token: str, root: Path, process: subprocess.Popen):
        self.base, self.token, self.root, self.process = base, token, root, process

    def url(self, path: str) -> str:
        separator = "&" if "?" in path else "?"
        return f"{self.base}{path}{separator}token={self.token}"

    def api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.base}api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self):
        """Stop every kernel, so that two lessons' kernels never share the 2 cores."""
        for session in self.api("GET", "sessions"):
            with contextlib.suppress(OSError):
                self.api("DELETE", f"sessions/{session['id']}")
        for kernel in self.api("GET", "kernels"):
            with contextlib.suppress(OSError):
                self.api("DELETE", f"kernels/{kernel['id']}")
