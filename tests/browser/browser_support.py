"""Shared by the browser tests and their fixtures: where things are, the system Chromium, servers on loopback."""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from lesson_runs import ARTIFACTS, LESSONS, REPO, code_sha1, executed_lesson  # noqa: F401  (shared)
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
