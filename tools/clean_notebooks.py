#!/usr/bin/env python3
"""Put lessons in the form they are committed in: no outputs, no execution counts, only the metadata the course
uses, written in nbformat's canonical form (what ``nbformat.write`` produces: indent 1, sorted keys, a final
newline). ``make clean-notebooks`` runs it on every lesson; ``tests/test_notebooks.py`` checks the result.

    python tools/clean_notebooks.py notebooks/*.ipynb            # rewrite in place
    python tools/clean_notebooks.py --check notebooks/*.ipynb    # list what would change; exit 1 if anything would

Kept metadata: the notebook's ``kernelspec``, ``language_info`` and ``rise`` (the slideshow's settings), and
each cell's ``tags``, ``slideshow`` (written by ``tools/slides.py``) and ``jupyter`` (a hidden input). Anything
else (JupyterLab's ``execution`` timings, ``widgets`` state, ``collapsed``, ``scrolled``) is dropped.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

NOTEBOOK_METADATA = ("kernelspec", "language_info", "rise")
CELL_METADATA = ("jupyter", "slideshow", "tags")


def cleaned(text: str) -> str:
    """The committed form of a notebook given as its file's text."""
    notebook = nbformat.reads(text, as_version=4)
    notebook.metadata = {k: v for k, v in notebook.metadata.items() if k in NOTEBOOK_METADATA}
    for cell in notebook.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in CELL_METADATA}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)
    changed = []
    for path in args.paths:
        text = path.read_text(encoding="utf-8")
        new = cleaned(text)
        if new != text:
            changed.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in changed:
        print(f"{'would clean' if args.check else 'cleaned'} {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
