#!/usr/bin/env python3
"""Serve the course to a class on one machine with JupyterHub, as docs/instructor.md describes. Run as root.

    python classroom/course.py setup                     # the class environment, the proxy, the lessons, models/
    python classroom/course.py models --instructor ada   # ada trains the quick-mode models into models/
    python classroom/course.py add-student grace         # a Linux account in the class's group (a class list
                                                         # usually comes from your university's accounts)
    python classroom/course.py start                     # JupyterHub on http://127.0.0.1:8000

``make hub`` runs ``setup`` then ``start``. Every path is under the course folder ``ADVLAB_COURSE_DIR`` (default
``/srv/advlab``); ``classroom/jupyterhub_config.py`` is the hub's configuration. The class environment is made
from the system's own Python (``/usr/bin/python3``), not from one in root's home, which other users cannot read.
"""
from __future__ import annotations

import argparse
import grp
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
SYSTEM_PYTHON = os.environ.get("ADVLAB_CLASS_PYTHON", "/usr/bin/python3")


def course_dir() -> Path:
    return Path(os.environ.get("ADVLAB_COURSE_DIR", "/srv/advlab"))


def class_group() -> str:
    return os.environ.get("ADVLAB_CLASS_GROUP", "advlab-class")


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, command)), flush=True)
    return subprocess.run(list(map(str, command)), check=True, **kwargs)


def _requirements_stamp() -> str:
    digest = hashlib.sha1()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((REPO / name).read_bytes())
    for path in sorted((REPO / "helpers").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(REPO).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def build_env(course: Path) -> Path:
    """``course/env``: a virtual environment of the system Python with the course's requirements and helpers.

    Skipped when it already holds this version of the requirements and helpers (a stamp file says which).
    """
    env, stamp = course / "env", course / "env" / ".advlab-stamp"
    wanted = _requirements_stamp()
    if stamp.is_file() and stamp.read_text() == wanted:
        print(f"class environment {env}: up to date")
        return env
    if not Path(SYSTEM_PYTHON).is_file():
        raise SystemExit(f"no system Python at {SYSTEM_PYTHON} (Debian: apt-get install python3 python3-venv); "
                         "set ADVLAB_CLASS_PYTHON to another Python every user can run")
    run([SYSTEM_PYTHON, "-m", "venv", "--clear", env])
    pip = [env / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(pip + ["-r", REPO / "requirements.txt"])
    run(pip + ["--no-deps", REPO])            # the helpers as a package in the environment, not a link to this clone
    run(["chmod", "-R", "a+rX,go-w", env])
    stamp.write_text(wanted)
    return env


def install_proxy(course: Path) -> Path:
    """``course/node``: configurable-http-proxy from npm (JupyterHub's proxy)."""
    node = course / "node"
    binary = node / "node_modules" / ".bin" / "configurable-http-proxy"
    if binary.exists():
        print(f"proxy {binary}: installed")
        return binary
    node.mkdir(parents=True, exist_ok=True)
    run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", node, PROXY_PACKAGE])
    run(["chmod", "-R", "a+rX,go-w", node])
    return binary


def publish_lessons(course: Path) -> Path:
    """``course/lessons``: the lessons without their solutions, as each student receives a copy."""
    lessons = course / "lessons"
    if lessons.exists():
        shutil.rmtree(lessons)
    lessons.mkdir(parents=True)
    tool = REPO / "tools" / "student_version.py"
    run([sys.executable, tool, *sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")), "--output", lessons],
        stdout=subprocess.DEVNULL)
    rise = REPO / "notebooks" / "rise.css"
    if rise.is_file():
        shutil.copy(rise, lessons / "rise.css")
    run(["chmod", "-R", "a+rX,go-w", lessons])
    return lessons


def ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        run(["groupadd", name])


def add_student(name: str, password: str | None = None) -> None:
    """A Linux account in the class's group, with a private home (0700) and, if given, a password."""
    ensure_group(class_group())
    try:
        pwd.getpwnam(name)
        run(["usermod", "-a", "-G", class_group(), name])
    except KeyError:
        run(["useradd", "--create-home", "--shell", "/bin/bash", "--groups", class_group(), name])
    run(["chmod", "700", pwd.getpwnam(name).pw_dir])
    if password is not None:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)


def models_dir(course: Path, instructor: str = "root") -> Path:
    """``course/models``, owned by the instructor: every user may read it, only the instructor may write."""
    folder = course / "models"
    folder.mkdir(parents=True, exist_ok=True)
    user = pwd.getpwnam(instructor)
    shutil.chown(folder, user.pw_uid, user.pw_gid)
    folder.chmod(0o755)
    return folder


def train_models(course: Path, instructor: str = "root", only: list[str] | None = None) -> None:
    """The instructor trains the quick-mode models into ``course/models`` (with the class environment)."""
    folder = models_dir(course, instructor)
    env = dict(os.environ, ADVLAB_QUICK="1", ADVLAB_ARTIFACTS=str(folder), HOME=pwd.getpwnam(instructor).pw_dir)
    env.pop("ADVLAB_DATA_DIR", None)
    command = [course / "env" / "bin" / "python", "-m", "helpers.pretrain", "--mode", "quick"]
    if only:
        command += ["--only", *only]
    if instructor != "root":
        command = ["runuser", "-u", instructor, "--", *command]
    run(command, env=env, cwd="/")
    run(["chmod", "-R", "a+rX,go-w", folder])


def setup(course: Path, instructor: str = "root") -> None:
    course.mkdir(parents=True, exist_ok=True)
    course.chmod(0o755)
    (course / "hub").mkdir(exist_ok=True)
    (course / "hub").chmod(0o700)
    build_env(course)
    install_proxy(course)
    publish_lessons(course)
    models_dir(course, instructor)
    ensure_group(class_group())
    print(json.dumps({"course": str(course), "group": class_group(), "config": str(CONFIG)}))


def hub_command(course: Path) -> list[str]:
    return [str(course / "env" / "bin" / "jupyterhub"), "-f", str(CONFIG)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup", help="the class environment, the proxy, the lessons and the models folder")
    p.add_argument("--instructor", default="root", help="the account that owns models/ (default root)")
    p = sub.add_parser("models", help="train the quick-mode models into models/, as the instructor")
    p.add_argument("--instructor", default="root")
    p.add_argument("--only", nargs="*", metavar="NAME", help="only these zoo models (default: every lesson's)")
    p = sub.add_parser("add-student", help="a Linux account in the class's group")
    p.add_argument("name")
    p.add_argument("--password")
    sub.add_parser("start", help="start JupyterHub (foreground)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("run it as root: the hub starts each student's server as that student's Linux user")
    course = course_dir()
    if args.command == "setup":
        setup(course, args.instructor)
    elif args.command == "models":
        train_models(course, args.instructor, args.only)
    elif args.command == "add-student":
        add_student(args.name, args.password)
    elif args.command == "start":
        env = dict(os.environ, ADVLAB_COURSE_DIR=str(course))
        os.execve(hub_command(course)[0], hub_command(course), env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
