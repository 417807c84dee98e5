"""A class on a JupyterHub of this machine, simulated: for the class test (tests/hub) and the capacity benchmark
(benchmarks/hub_capacity.py). Run as root.

``prepare_course(folder)`` builds the course folder with the repository's ``classroom/course.py`` (the class
environment, the proxy, the lessons) and has an instructor account train the models the class's lessons
load into the shared folder. ``Hub(course, students)`` creates the students' Linux accounts, starts
JupyterHub with ``classroom/jupyterhub_config.py``, logs each student in through the hub's login form, starts
their server and gives an API client for it; leaving the ``with`` block stops the hub and removes the accounts.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import requests

from . import course as course_tool
from .client import ServerClient

INSTRUCTOR = "advlab-teacher"
CLASS_LESSONS = ["01_data_preparation.ipynb", "03_adversarial_examples.ipynb"]
CLASS_MODELS = ["base"]                     # what those lessons load
STUDENT_PREFIX = "advlab-s"


def why_not_here() -> str | None:
    """Why a hub with real users cannot run here, or None when it can."""
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root: it creates Linux users and starts a JupyterHub that runs their servers as them"
    for tool in ("useradd", "userdel", "chpasswd", "runuser", "npm"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    python = course_tool.SYSTEM_PYTHON
    if subprocess.run([python, "-c", "import ensurepip, venv"], capture_output=True).returncode != 0:
        return f"needs the system Python {python} with venv (Debian: apt-get install python3-venv)"
    return None


def free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def student_names(count: int) -> list[str]:
    return [f"{STUDENT_PREFIX}{k}" for k in range(1, count + 1)]


def remove_user(name: str) -> None:
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        time.sleep(0.2)
        subprocess.run(["userdel", "--remove", name], capture_output=True)


def prepare_course(course: Path, models: list[str] | None = CLASS_MODELS) -> Path:
    """The course folder, ready for a class: environment, proxy, lessons, and the instructor's models (``models``;
    None: every lesson's)."""
    os.environ["ADVLAB_COURSE_DIR"] = str(course)
    try:
        pwd.getpwnam(INSTRUCTOR)
    except KeyError:
        subprocess.run(["useradd", "--create-home", INSTRUCTOR], check=True)
    started = time.perf_counter()
    course_tool.setup(course, INSTRUCTOR)
    print(f"course folder {course} ready in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    course_tool.train_models(course, INSTRUCTOR, models)
    print(f"the instructor's models ({', '.join(models or ['all'])}) ready in {time.perf_counter() - started:.0f} s")
    return course


def kernel_pids(user: str) -> list[int]:
    """The kernels running as ``user``."""
    found = []
    for process in psutil.process_iter(["pid", "username", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["username"] == user and "ipykernel_launcher" in cmdline:
            found.append(process.info["pid"])
    return found


class Hub:
    """JupyterHub for ``students`` on ``course``; each student logged in through the hub, their server started."""

    def __init__(self, course: Path, students: list[str], *, extra_env: dict | None = None):
        self.course, self.students = Path(course), list(students)
        self.extra_env = extra_env or {}
        self.passwords = {name: secrets.token_urlsafe(12) for name in self.students}
        self.tokens: dict[str, str] = {}
        self.process = None

    # --- lifecycle
    def __enter__(self):
        for name in self.students:
            remove_user(name)
            course_tool.add_student(name, self.passwords[name])
        hub_state = self.course / "hub"
        for old in hub_state.glob("*"):
            old.unlink()
        port, api_port, internal_port = free_ports(3)
        self.base = f"http://127.0.0.1:{port}/"
        env = dict(os.environ, ADVLAB_COURSE_DIR=str(self.course), ADVLAB_HUB_PORT=str(port),
                   ADVLAB_HUB_PROXY_API_PORT=str(api_port), ADVLAB_HUB_INTERNAL_PORT=str(internal_port),
                   ADVLAB_INSTRUCTORS=INSTRUCTOR, **self.extra_env)
        self.log = hub_state / "hub.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(course_tool.hub_command(self.course), env=env, cwd=hub_state,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait(f"{self.base}hub/health", 90)
        for name in self.students:
            self.tokens[name] = self.log_in_and_start(name)
        return self

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        for name in self.students:
            remove_user(name)
        return False

    def _wait(self, url: str, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited ({self.process.returncode}):\n{self.log.read_text()[-4000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=5).status_code == 200:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"JupyterHub did not answer {url} in {timeout:.0f} s:\n{self.log.read_text()[-4000:]}")

    # --- a student's way in
    def log_in_and_start(self, name: str, timeout: float = 180) -> str:
        """Log ``name`` in through the hub's form, start their server, and return an API token of theirs."""
        browser = requests.Session()
        login = browser.get(f"{self.base}hub/login", timeout=30)
        xsrf = browser.cookies.get("_xsrf") or re.search(r'name="_xsrf" value="([^"]+)"', login.text)[1]
        answer = browser.post(f"{self.base}hub/login?next=", data={"username": name, "password": self.passwords[name],
                                                                   "_xsrf": xsrf}, timeout=60, allow_redirects=False)
        if answer.status_code != 302:
            raise RuntimeError(f"{name} could not log in: HTTP {answer.status_code}")
        headers = {"X-XSRFToken": browser.cookies.get("_xsrf", xsrf)}
        api = f"{self.base}hub/api/users/{name}"
        token = browser.post(f"{api}/tokens", json={"note": "class test", "expires_in": 4 * 3600},
                             headers=headers, timeout=30)
        token.raise_for_status()
        token = token.json()["token"]
        auth = {"Authorization": f"token {token}"}
        requests.post(f"{api}/server", headers=auth, timeout=60)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            user = requests.get(api, headers=auth, timeout=30).json()
            server = (user.get("servers") or {}).get("", {})
            if server.get("ready"):
                return token
            time.sleep(1)
        raise TimeoutError(f"{name}'s server did not start in {timeout:.0f} s:\n{self.log.read_text()[-4000:]}")

    def server(self, name: str) -> ServerClient:
        return ServerClient(f"{self.base}user/{name}/", self.tokens[name], timeout=60)

    def shared_models(self) -> dict[str, int]:
        """The shared models folder's files and their modification times."""
        folder = self.course / "models" / "models"
        return {p.name: p.stat().st_mtime_ns for p in folder.glob("*") if p.suffix in (".keras", ".json")}

    def hub_pids(self) -> list[int]:
        """The hub's own processes: JupyterHub, its proxy and its services (not the students' servers)."""
        root = psutil.Process(self.process.pid)
        found = [root.pid]
        for child in root.children(recursive=True):
            try:
                if child.username() == "root":
                    found.append(child.pid)
            except psutil.Error:                  # it ended between the listing and the question
                pass
        return found
