"""pytest settings for running the notebooks with nbval (``pytest notebooks --nbval-lax``).

nbval reads a cell's output messages only after the cell has finished, and a
Jupyter client keeps at most about 1,000 unread messages: a long cell that
updates a progress-bar widget ten times a second can lose the rest, including
the "idle" message nbval waits for, and nbval then fails a cell that ran
correctly ("Timeout of N seconds exceeded waiting for output"; seen on notebook
08 in CI). So the helpers' progress bars update at most once a second
(``helpers.config.PROGRESS_INTERVAL_S``). nbval also waits a hard-coded 5
seconds for each message (computationalmodelling/nbval#136, #231), short on a
busy 2-core machine: give it a minute. The cell's own time limit
(``--nbval-cell-timeout``) is unchanged.

Each lesson nbval runs is also written, with the outputs nbval received, to
``artifacts/executed/<lesson>.ipynb`` (``ADVLAB_EXECUTED_DIR`` moves it). The browser tests
(``tests/browser``) open those executed lessons as slides and build the website from them, so CI runs
every lesson once, not once for nbval and once more for the site. Each copy records the SHA-1 of the
code it ran (:func:`code_sha1`) and whether every cell ran without an error (``metadata.advlab``), so that
its outputs can be given to the lesson as it is now while only its Markdown or metadata changed.
"""
import hashlib
import os
from pathlib import Path

import nbformat
import pytest

OUTPUT_TIMEOUT_SECONDS = 60
REPO = Path(__file__).resolve().parent.parent


def code_sha1(notebook) -> str:
    """The SHA-1 of a lesson's code cells (what running it depends on; not its Markdown or metadata)."""
    cells = notebook["cells"] if isinstance(notebook, dict) else notebook.cells
    code = "\x00".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return hashlib.sha1(code.encode()).hexdigest()


def executed_dir() -> Path:
    """Where executed copies of the lessons go: ``ADVLAB_EXECUTED_DIR``, or ``artifacts/executed``."""
    return Path(os.environ.get("ADVLAB_EXECUTED_DIR") or REPO / "artifacts" / "executed")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_TIMEOUT_SECONDS
        if _is_cell(item) and not hasattr(item.parent, "_advlab_sha1"):     # the lesson's code as nbval read it
            item.parent._advlab_sha1 = code_sha1(item.parent.nb)


def _is_cell(item) -> bool:
    return hasattr(item, "test_outputs") and hasattr(item, "cell") and hasattr(item.parent, "nb")


def pytest_runtest_makereport(item, call):
    """Remember which cells failed (nbval raises for an error output, a timeout or a dead kernel)."""
    if (_is_cell(item) and call.when == "call" and call.excinfo is not None
            and not call.excinfo.errisinstance(pytest.skip.Exception)):
        item.parent.__dict__.setdefault("_advlab_failed", []).append(item.cell_num)


def pytest_runtest_teardown(item, nextitem):
    """Keep the outputs nbval saw in the cell; after a lesson's last cell, write the executed lesson."""
    if not _is_cell(item):
        return
    notebook = item.parent
    count = notebook.__dict__.get("_advlab_count", 0) + 1
    notebook._advlab_count = count
    item.cell.outputs = list(item.test_outputs or [])
    item.cell.execution_count = count if item.test_outputs is not None else None
    for output in item.cell.outputs:                 # nbval's kernel does not count: number results as their cells
        if output.get("output_type") == "execute_result":
            output["execution_count"] = item.cell.execution_count
    if nextitem is not None and getattr(nextitem, "parent", None) is notebook:
        return
    source = Path(str(notebook.fspath))
    ran = sum(1 for cell in notebook.nb.cells if cell.cell_type == "code" and cell.execution_count is not None)
    code = sum(1 for cell in notebook.nb.cells if cell.cell_type == "code")
    failed = notebook.__dict__.get("_advlab_failed", [])
    notebook.nb.metadata["advlab"] = {
        "executed_from": getattr(notebook, "_advlab_sha1", None),
        "complete": ran == code and not failed,
        "failed_cells": failed,
        "executed_by": "nbval",
    }
    folder = executed_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    temporary = target.with_suffix(".ipynb.tmp")
    nbformat.write(notebook.nb, str(temporary))
    os.replace(temporary, target)
