"""The Binder configuration (binder/, read by repo2docker) stays in step with the project it builds.

repo2docker reads binder/ instead of the root's files: requirements.txt (pip), runtime.txt (``python-X.Y``),
postBuild (run once at build time) and start (run before every session, ending in ``exec "$@"``). Each test
fails when one of them drifts from what the rest of the repository says.
"""
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"


def _lines(path: Path) -> list[str]:
    """The lines of ``path`` that are not blank or comments (a shebang counts as a comment)."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_requirements_point_to_the_root_requirements_file():
    lines = _lines(BINDER / "requirements.txt")
    assert lines == ["-r ../requirements.txt"], f"binder/requirements.txt should only include the root file: {lines}"
    target = (BINDER / "../requirements.txt").resolve()
    assert target == REPO / "requirements.txt" and target.is_file()


def test_pip_reads_the_root_requirements_through_it_from_any_folder(tmp_path):
    """pip resolves a nested ``-r`` against the including file's folder, not the working directory (repo2docker
    runs ``pip install -r binder/requirements.txt`` from the repository root). A dry run with no index, from
    elsewhere, must find every root requirement (they are installed in .venv by ``make install``)."""
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--no-deps",
                          "--disable-pip-version-check", "-r", str(BINDER / "requirements.txt")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    wanted = [re.split(r"[=<>\[ ]", line)[0] for line in _lines(REPO / "requirements.txt")]
    for name in wanted:
        assert re.search(rf"{re.escape(name)}\S* in .*\(from -r {re.escape(str(REPO / 'requirements.txt'))}",
                         run.stdout, re.IGNORECASE), f"{name} was not read from the root requirements.txt"


def test_runtime_is_the_python_the_project_is_built_and_checked_with():
    runtime = (BINDER / "runtime.txt").read_text()
    # repo2docker reads the whole file as one `name-version` (no comments allowed)
    match = re.fullmatch(r"python-(\d+\.\d+)\n?", runtime)
    assert match, f"binder/runtime.txt must be 'python-X.Y', got {runtime!r}"
    version = Version(match.group(1))
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert version in SpecifierSet(requires), f"runtime {version} is outside pyproject's requires-python {requires}"
    conda = re.search(r"^\s*-\s*python=(\d+\.\d+)\s*$", (REPO / "environment.yml").read_text(), re.MULTILINE)
    assert conda and Version(conda.group(1)) == version, "runtime.txt and environment.yml name different Pythons"
    assert f"Python {version}" in (REPO / "requirements.txt").read_text(), \
        "requirements.txt says it was checked on another Python"


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_scripts_are_executable_bash_with_a_shebang(name):
    script = BINDER / name
    assert os.access(script, os.X_OK), f"binder/{name} is not executable (chmod +x, then git add it again)"
    assert script.read_text().startswith("#!/bin/bash\n"), f"binder/{name} must start with #!/bin/bash"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, f"binder/{name} has a syntax error"
    staged = subprocess.run(["git", "ls-files", "-s", f"binder/{name}"], cwd=REPO, capture_output=True, text=True)
    if staged.returncode == 0 and staged.stdout:   # once tracked, git must record the executable bit too
        assert staged.stdout.startswith("100755"), f"git records binder/{name} as not executable: {staged.stdout}"


def test_post_build_installs_the_project_as_the_makefile_does_and_trains_quick_mode():
    lines = _lines(BINDER / "postBuild")
    assert "set -euo pipefail" in lines, "postBuild must stop at the first error (repo2docker does not)"
    install = [shlex.split(line) for line in lines if "pip" in line and "install" in line]
    assert len(install) == 1 and {"--no-deps", "-e", "."} <= set(install[0]), install
    assert "pip install --quiet --no-deps -e ." in (REPO / "Makefile").read_text(), \
        "the Makefile no longer installs the project this way: update postBuild with it"
    pretrain = [line for line in lines if "helpers.pretrain" in line]
    assert len(pretrain) == 1 and shlex.split(pretrain[0])[-4:] == ["-m", "helpers.pretrain", "--mode", "quick"]
    assert pretrain[0].startswith("ADVLAB_QUICK=1 ")


def test_post_build_pretrain_command_runs_and_knows_its_models():
    """postBuild's own pretrain command, with --list added: it parses the options and lists the quick-mode
    models without training any (a few seconds: it imports TensorFlow)."""
    line = next(line for line in _lines(BINDER / "postBuild") if "helpers.pretrain" in line)
    words = shlex.split(line)
    env = dict(os.environ, **dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=.*", w)))
    command = [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w)]
    assert command[0] == "python"
    run = subprocess.run([sys.executable, *command[1:], "--list"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("quick mode: "), run.stdout
    assert re.search(r"^\s+base\s", run.stdout, re.MULTILINE), "the quick-mode list should name the base model"


def test_start_sets_quick_mode_and_execs_its_arguments():
    lines = _lines(BINDER / "start")
    assert lines[-1] == 'exec "$@"', "repo2docker's start script must end by exec-ing its arguments"
    env = {k: v for k, v in os.environ.items() if k != "ADVLAB_QUICK"}
    shown = subprocess.run([str(BINDER / "start"), "env"], env=env, capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0 and "ADVLAB_QUICK=1" in shown.stdout.splitlines()
    # exec: the command replaces the script, so its exit status and arguments come through unchanged
    passed = subprocess.run([str(BINDER / "start"), "sh", "-c", 'echo "$1"; exit 7', "sh", "two words"],
                            env=env, capture_output=True, text=True, timeout=30)
    assert passed.returncode == 7 and passed.stdout == "two words\n"
