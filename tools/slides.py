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
   result gets its own screen instead of the whole section scrolling by. Except when it points back at that
   result ("printed above", "the figure above"): then it stays on the slide of the output it explains.
4. **skip**: the ``## Setup`` section and the ``## Check the lesson`` section (imports and assertions, which
   make no slide for a room), a cell tagged ``remove-cell`` (Jupyter Book leaves it out of the website too) or
   ``slide-skip``, and a blank markdown cell. "Follows" in rule 3 looks past skipped cells.
5. **notes**: a cell tagged ``slide-notes`` (a remark for the presenter, such as what a warning means): it
   shows in RISE's speaker view, not on the screen.
6. A cell tagged ``slide-break`` begins a **subslide**: where a slide would not fit a 1280 x 720 screen, the
   lesson says where to split it (``tests/browser/test_rise.py`` finds the slides that do not fit). So does each
   exercise (a markdown cell opening with its number in bold, ``**2. ...**``).
7. Every other cell is ``-``: code cells continue the slide of the text that introduces them.

Skipped cells are not run in a slideshow. Present a lesson after running it once (*Run All*, then save), as
the instructor's guide says: its set-up, its figures and its checks are then all there, and the slides show
the lesson's story. ``make book`` and CI run every cell, skipped or not.

The notebook-level ``metadata.rise`` gets the settings in ``RISE_SETTINGS`` (other keys there are kept).
``jupyterlab-rise`` 0.43 merges, in this order, its defaults, the user's settings (Settings > RISE), the
notebook's ``metadata.livereveal`` and then its ``metadata.rise``, so these apply to whoever opens a lesson:

- ``scroll: true`` -- a safety net: a slide taller than the window gets a scroll bar instead of being cut
  off at the bottom of the screen (the extension re-checks when a cell's output appears). No slide of the
  lessons needs it at 1280 x 720 in quick mode (the browser test says so); full mode prints more. It wants the
  boolean ``true``, not the string.
- ``center: false`` -- slides start at the top instead of being centred vertically, so a slide does not
  jump upwards while the code cell being run adds its output below.
- ``transition: "none"`` -- the next slide appears at once instead of sliding in: no motion on the screen (some
  people in a room are made unwell by it, WCAG 2.3.3), and nothing half-drawn while the presenter talks.

The slides' type sizes for a projector live in ``notebooks/rise.css`` (jupyterlab-rise reads it beside the
lessons); ``tests/browser/test_rise.py`` checks every slide of every lesson at 1280 x 720 with them.

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
SKIP_TAGS = frozenset({"remove-cell", "slide-skip"})
NOTES_TAG, BREAK_TAG = "slide-notes", "slide-break"
SKIP_SECTIONS = ("setup", "check the lesson")
RISE_SETTINGS = {"center": False, "scroll": True, "transition": "none"}

_HEADING = re.compile(r"(#{1,6})[ \t]")
# A sentence about an output just printed or drawn ("NSL printed ... above", "the line above says"): it belongs on
# the slide that shows that output. ("Written by hand above" or "the step above" point back at the lesson, not at an
# output; "above the figure" places something inside an output.)
POINTS_ABOVE = re.compile(r"\b(?:printed|prints|shown|drawn|plotted|listed|warned|(?:the|this|that) (?:line|lines|"
                          r"output|warning|figure|plot|table|curves?|grid|numbers?|images?|bars?))\b[^.;]*?\babove\b",
                          re.IGNORECASE)
# An exercise: a paragraph that opens with its number in bold ("**2. A bigger NSL step.**").
EXERCISE = re.compile(r"\s*\*\*\d+\.")


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


def _section(text: str) -> str | None:
    """The lower-case title of a ``## `` heading on the first non-blank line of ``text``; None if there is none."""
    for line in text.splitlines():
        if line.strip():
            return line[3:].strip().lower() if line.startswith("## ") else None
    return None


def slide_types(nb) -> list[str]:
    """The RISE slide type of each cell of ``nb`` (an nbformat NotebookNode or its JSON as a dict), in order."""
    types, previous = [], None          # previous: the cell type of the last cell that is not skipped
    skipping = False                    # inside a section that makes no slide (Setup, Check the lesson)
    for cell in nb["cells"]:
        kind = cell.get("cell_type")
        text = _source(cell)
        tags = set((cell.get("metadata") or {}).get("tags") or ())
        level = _heading_level(text) if kind == "markdown" else 0
        if level in (1, 2):
            skipping = _section(text) in SKIP_SECTIONS
        if skipping or tags & SKIP_TAGS or (kind == "markdown" and not text.strip()):
            types.append("skip")
            continue
        if NOTES_TAG in tags:
            types.append("notes")
            continue
        if level in (1, 2):
            slide_type = "slide"
        elif level >= 3 or BREAK_TAG in tags or (kind == "markdown" and EXERCISE.match(text)):
            slide_type = "subslide"
        elif kind == "markdown" and previous == "code":
            slide_type = "-" if POINTS_ABOVE.search(text) else "subslide"
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


def fit(nb: dict, measured: dict, *, margin: float = 24.0) -> tuple[list[int], list[int]]:
    """Where to split slides that do not fit the screen, from where each cell sat in a browser (``measured``).

    ``measured`` is what ``tests/browser/test_rise.py`` writes to ``artifacts/browser/slides/<lesson>/cells.json``:
    the screen's height and, for every cell shown, its top and bottom on its slide, in pixels. Returns the cells
    (indices) to tag ``slide-break`` so that, filled in order, every slide fits the screen, and the cells taller
    than a screen on their own (to shorten by hand). A sentence about the output above stays with it: the break
    goes before the code cell it explains.
    """
    cells = {int(k): v for k, v in measured["cells"].items()}
    if not cells:
        return [], []
    first_top = min(v["top"] for v in cells.values())
    budget = measured["screen"] - first_top - margin
    gaps = sorted(b["top"] - a["bottom"] for i, a in cells.items() for j, b in cells.items() if j == i + 1
                  and b["top"] >= a["bottom"])
    gap = gaps[len(gaps) // 2] if gaps else 8.0
    types = slide_types(nb)
    breaks, too_tall, used, previous = [], [], 0.0, None
    for index, slide_type in enumerate(types):
        if index not in cells:
            continue
        size = cells[index]["bottom"] - cells[index]["top"] + gap
        if size > budget:
            too_tall.append(index)
        if slide_type in ("slide", "subslide") or index in breaks:
            used = 0.0
        if used and used + size > budget:
            cell = nb["cells"][index]
            stays = cell["cell_type"] == "markdown" and POINTS_ABOVE.search(_source(cell))
            if stays and previous is not None and types[previous] not in ("slide", "subslide"):
                breaks.append(previous)
                used = cells[previous]["bottom"] - cells[previous]["top"] + gap
            else:
                breaks.append(index)
                used = 0.0
        used += size
        previous = index
    return sorted(set(breaks)), too_tall


def tag_breaks(path: Path, indices: list[int]) -> int:
    """Tag the cells ``indices`` of the lesson at ``path`` with ``slide-break``; returns how many were new."""
    nb, trailing = _read(path)
    new = 0
    for index in indices:
        metadata = nb["cells"][index].setdefault("metadata", {})
        tags = metadata.get("tags")
        if tags is None:
            tags = _insert_sorted(metadata, "tags", [])["tags"]
        if BREAK_TAG not in tags:
            tags.append(BREAK_TAG)
            new += 1
    if new:
        path.write_text(_dumps(nb, trailing), encoding="utf-8")
    return new


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
    parser.add_argument("--fit", type=Path, metavar="DIR",
                        help="tag slide-break where a slide did not fit, from the browser test's measurements in "
                             "DIR/<lesson>/cells.json (artifacts/browser/slides), then set the metadata")
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
            measured = args.fit / path.stem / "cells.json" if args.fit else None
            if measured is not None and measured.is_file():
                breaks, too_tall = fit(_read(path)[0], json.loads(measured.read_text()))
                print(f"{path}: {tag_breaks(path, breaks)} new slide breaks")
                for index in too_tall:
                    print(f"{path}: cell {index} is taller than the screen on its own: shorten it or its output")
            print(f"{path}: {'updated' if apply(path) else 'up to date'}")
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
