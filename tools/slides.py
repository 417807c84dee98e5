#!/usr/bin/env python3
"""Set the RISE slide metadata of lessons from their structure, so they present as slides in JupyterLab.

    python tools/slides.py notebooks/*.ipynb            # write the metadata in place
    python tools/slides.py --check notebooks/*.ipynb    # write nothing; exit 1 listing what differs (for CI)

RISE (``jupyterlab-rise``) turns a notebook into a reveal.js slideshow from each cell's
``metadata.slideshow.slide_type``: ``slide`` begins a slide, ``subslide`` a slide below the current one,
``fragment`` appears on the next key press, ``skip`` is hidden, ``notes`` goes to the speaker view and ``-``
(or no value) continues the current slide. The type of every cell follows from the lesson's structure, so
rerun this tool after editing a lesson (``--check`` says when it is due):

1. A markdown cell whose first non-blank line is a ``# `` (the lesson's title) or ``## `` heading begins a
   **slide**: every section is a slide, ``## Discuss`` and ``## Exercises`` included.
2. A markdown cell headed ``### `` (or deeper) begins a **subslide**.
3. A markdown cell without a heading that follows a code cell begins a **subslide**: the text that reads a
   result gets its own screen instead of the whole section scrolling by.
4. A cell tagged ``remove-cell`` is **skip**: Jupyter Book leaves such cells out of the course website
   (``make book``), so they are not part of the lesson as read and are not part of it as shown. A blank
   markdown cell is **skip** too (rule 3 would otherwise give it an empty screen). "Follows" in rule 3 looks
   past skipped cells.
5. Every other cell is ``-``: code cells continue the slide of the text that introduces them.

Code is never skipped by rule, not even set-up code: in a slideshow the presenter runs the cells shown, one
Shift-Enter at a time, and a hidden cell is not reached, so skipping the ``## Setup`` cell or the
``## Check the lesson`` assertions (which nbval runs as the lessons' tests) would leave the live lesson
without its variables or its proof. For the same reason a code cell tagged ``remove-cell`` (rule 4; no
lesson has one today) must be run before presenting, for example with Run All.

The notebook-level ``metadata.rise`` gets the settings in ``RISE_SETTINGS`` (other keys there are kept).
``jupyterlab-rise`` 0.43 merges, in this order, its defaults, the user's settings (Settings > RISE), the
notebook's ``metadata.livereveal`` and then its ``metadata.rise``, so these apply to whoever opens a lesson:

- ``scroll: true`` -- a slide taller than the window (a training log, a figure grid, a long table, the
  longer sections of lesson 09) gets a scroll bar instead of being cut off at the bottom of the screen; the
  extension re-checks when a cell's output appears. It wants the boolean ``true``, not the string.
- ``center: false`` -- slides start at the top instead of being centred vertically, so a slide does not
  jump upwards while the code cell being run adds its output below.

Only ``metadata.slideshow`` of each cell and ``metadata.rise`` change; the file is written back the way the
lessons are stored (nbformat's JSON with an indent of 1, non-ASCII characters as they are, keys in their
existing order with a new key placed in sorted order as JupyterLab would, the same trailing newline), and a
file that does not read back byte for byte in that form is refused rather than reformatted.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
SKIP_TAGS = frozenset({"remove-cell"})
RISE_SETTINGS = {"center": False, "scroll": True}

_HEADING = re.compile(r"(#{1,6})[ \t]")


def _source(cell) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _heading_level(text: str) -> int:
    """The level of the markdown heading on the first non-blank line of ``text``; 0 if it is not one."""
    for line in text.splitlines():
        if line.strip():
            match = _HEADING.match(line)
            return len(match.group(1)) if match else 0
    return 0


def slide_types(nb) -> list[str]:
    """The RISE slide type of each cell of ``nb`` (an nbformat NotebookNode or its JSON as a dict), in order."""
    types, previous = [], None          # previous: the cell type of the last cell that is not skipped
    for cell in nb["cells"]:
        kind = cell.get("cell_type")
        text = _source(cell)
        tags = set((cell.get("metadata") or {}).get("tags") or ())
        if tags & SKIP_TAGS or (kind == "markdown" and not text.strip()):
            types.append("skip")
            continue
        level = _heading_level(text) if kind == "markdown" else 0
        if level in (1, 2):
            slide_type = "slide"
        elif level >= 3 or (kind == "markdown" and previous == "code"):
            slide_type = "subslide"
        else:
            slide_type = "-"
        types.append(slide_type)
        previous = kind
    return types


def _insert_sorted(mapping: dict, key: str, value) -> dict:
    """``mapping`` with ``key`` set: in place if present, else before the first key that sorts after it."""
    if key in mapping:
        mapping[key] = value
        return mapping
    items = list(mapping.items())
    at = next((i for i, (k, _) in enumerate(items) if k > key), len(items))
    items.insert(at, (key, value))
    mapping.clear()
    mapping.update(items)
    return mapping


def _differences(nb: dict) -> list[tuple[str, object, object]]:
    """(where, current, wanted) for each cell and RISE setting of ``nb`` that differs from what the rules set."""
    found = []
    for i, (cell, wanted) in enumerate(zip(nb["cells"], slide_types(nb))):
        current = ((cell.get("metadata") or {}).get("slideshow") or {}).get("slide_type")
        if current != wanted:
            found.append((f"cell {cell.get('id', f'#{i}')}", current, wanted))
    rise = nb.get("metadata", {}).get("rise") or {}
    for key, wanted in RISE_SETTINGS.items():
        current = rise.get(key)
        if current != wanted or type(current) is not type(wanted):     # 1 == True, but RISE wants a bool
            found.append((f"metadata.rise.{key}", current, wanted))
    return found


def _set(nb: dict) -> None:
    for cell, wanted in zip(nb["cells"], slide_types(nb)):
        metadata = cell.setdefault("metadata", {})
        slideshow = metadata.get("slideshow")
        if isinstance(slideshow, dict):
            slideshow["slide_type"] = wanted
        else:
            _insert_sorted(metadata, "slideshow", {"slide_type": wanted})
    metadata = nb.setdefault("metadata", {})
    rise = metadata.get("rise")
    if not isinstance(rise, dict):
        rise = _insert_sorted(metadata, "rise", {})["rise"]
    for key, value in RISE_SETTINGS.items():
        _insert_sorted(rise, key, value)


def _dumps(nb: dict, trailing: str) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + trailing


def _read(path: Path) -> tuple[dict, str]:
    """The notebook at ``path`` and the whitespace after its JSON; ValueError if writing it back would
    change bytes this tool does not own."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    trailing = text[len(text.rstrip()):]
    if _dumps(nb, trailing) != text:
        raise ValueError(f"{path}: not stored as nbformat JSON with indent 1; save it once in JupyterLab "
                         "(or with nbformat) and rerun, so that only the slide metadata changes")
    return nb, trailing


def apply(path) -> bool:
    """Write the slide metadata into the notebook at ``path``; True if the file changed."""
    path = Path(path)
    nb, trailing = _read(path)
    if not _differences(nb):
        return False
    _set(nb)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(_dumps(nb, trailing))
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)          # atomic: JupyterLab never reads a half-written lesson
    except BaseException:
        os.unlink(temporary)
        raise
    return True


def check(paths) -> list[str]:
    """One line per notebook cell or RISE setting whose metadata differs from what ``apply`` would write."""
    problems = []
    for path in paths:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        for where, current, wanted in _differences(nb):
            problems.append(f"{path}: {where}: {json.dumps(current)}, should be {json.dumps(wanted)}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list each notebook and cell whose metadata is stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(args.notebooks)
            for line in problems:
                print(line)
            if problems:
                print("slide metadata is out of date: run python tools/slides.py on these notebooks",
                      file=sys.stderr)
            return 1 if problems else 0
        for path in args.notebooks:
            print(f"{path}: {'updated' if apply(path) else 'up to date'}")
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
