"""What a person sees, in a real browser: JupyterLab, the RISE slideshows and the course website.

Playwright's Python package (with pytest-playwright's ``page`` fixture) drives the Chromium of the operating
system: Debian's ``chromium`` package, which ``make browser`` installs, or the executable ``ADVLAB_CHROMIUM``
names. Playwright's own browser download is never used. Without a Chromium every test here is skipped, with a
message that says how to get one.

The fixtures start what a student opens, each on a free loopback port:

- ``lab``: JupyterLab with a token, in quick mode, reading the models trained ahead from ``artifacts/``
  (``make models``; trained here first if missing), serving the lessons as committed (``lessons/``) and as
  executed (``executed/``: the copies nbval wrote while it ran them, see ``notebooks/conftest.py``);
- ``site``: the website ``tools/book.py`` builds from those executed lessons, served over HTTP.

Screenshots go to ``artifacts/browser/`` (``ADVLAB_BROWSER_SHOTS`` moves them): look at them.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time

import pytest

from browser_support import (CHROMIUM_ARGS, LESSONS, REPO, VIEWPORT, Lab, chromium_executable, free_port, load_tool,
                             wait_for_http)
from lesson_runs import quick_env

book = load_tool("book")


# --------------------------------------------------------------------------- Playwright, on the system Chromium

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at the system Chromium (skip when there is none)."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no Chromium to drive: run `make browser` (as root it installs Debian's chromium package), "
                    "or `sudo apt-get install chromium`, or set ADVLAB_CHROMIUM to a Chromium or Chrome executable")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A projector-sized window: 1280 x 720."""
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture
def console(page):
    """The page's console errors and uncaught exceptions, collected while the test runs."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.append(f"uncaught: {error}"))
    return seen


# --------------------------------------------------------------------------- JupyterLab

# JupyterLab settings for the tests: every cell rendered (no windowing, so a cell's outputs are in the page
# however far down it is), and no news or update checks (they would reach for the internet).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


@pytest.fixture(scope="session")
def lab(trained_models, executed_lessons, tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    (root / "lessons").mkdir()
    for lesson in LESSONS:
        shutil.copy(lesson, root / "lessons" / lesson.name)
    shutil.copytree(executed_lessons, root / "executed")
    for folder in ("lessons", "executed"):            # the slides' projector styles travel with the lessons
        shutil.copy(REPO / "notebooks" / "rise.css", root / folder / "rise.css")
    home = tmp_path_factory.mktemp("lab-home")
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = quick_env(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTERLAB_SETTINGS_DIR=str(settings),
                    JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    log = home / "lab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(f"{base}api/status?token={token}", 90, process, log)
        yield Lab(base, token, root, process)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


# --------------------------------------------------------------------------- the website

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site(executed_lessons, tmp_path_factory):
    """The course website built from the executed lessons (``tools/book.py --executed``), served on loopback.

    Yields ``(base_url, html_folder)``.
    """
    out = tmp_path_factory.mktemp("site")
    started = time.perf_counter()
    html = book.build(out, executed=executed_lessons)
    print(f"site built in {time.perf_counter() - started:.0f} s")
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", html
    finally:
        server.shutdown()
        server.server_close()
