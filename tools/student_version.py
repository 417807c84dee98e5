#!/usr/bin/env python3
"""Write the student version of lessons: every exercise solution replaced by ``raise NotImplementedError``.

The lessons keep each exercise's solution between nbgrader's markers (the Jupyter convention for generating
a student version)::

    def my_fgsm(model, x, y, eps):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

In a code cell the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become one line,
``raise NotImplementedError("your code here")``, at the marker's indentation; in a markdown cell they become
``YOUR ANSWER HERE``. Outputs and execution counts are cleared; cell ids, metadata and every other line are
kept. This is the part of nbgrader's ``generate_assignment`` the course needs, without its database.

Usage: ``python tools/student_version.py notebooks/*.ipynb --output student/`` (``make``-free; the default
output folder is ``student/`` at the repository root, ignored by git).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
REPO = Path(__file__).resolve().parent.parent


def strip_solutions(source: str, *, markdown: bool = False, where: str = "") -> str:
    """``source`` with every solution region replaced; raises ValueError on an unclosed or stray marker."""
    out, inside = [], False
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}: {BEGIN} inside another solution")
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            out.append("YOUR ANSWER HERE\n" if markdown else f'{indent}raise NotImplementedError("your code here")\n')
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: a solution starts with {BEGIN} but has no {END}")
    return "".join(out)


def student_notebook(notebook: dict, name: str = "") -> dict:
    """A copy of a notebook (nbformat JSON) with its solutions removed and its outputs cleared."""
    notebook = json.loads(json.dumps(notebook))
    for i, cell in enumerate(notebook["cells"]):
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        cell["source"] = strip_solutions(source, markdown=cell["cell_type"] == "markdown", where=f"{name} cell {i}")
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--output", type=Path, default=REPO / "student")
    parser.add_argument("--keep", action="store_true",
                        help="leave a copy that is already there as it is (a student's work is never overwritten)")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    styles = REPO / "notebooks" / "rise.css"                  # the slides' projector styles travel with the lessons
    if styles.is_file():
        (args.output / styles.name).write_bytes(styles.read_bytes())
    for path in args.notebooks:
        if args.keep and (args.output / path.name).exists():
            print(f"{args.output / path.name}: kept (already there)")
            continue
        try:
            notebook = student_notebook(json.loads(path.read_text(encoding="utf-8")), path.name)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        target = args.output / path.name
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
