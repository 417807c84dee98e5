"""Prose tied to its output: every sentence of a lesson that points at an output ("the figure below", "printed
above", "the table below") has that kind of output where it points, in the lesson as nbval ran it.

It reads the executed copies nbval wrote (``artifacts/executed/``, see notebooks/conftest.py), so it runs after
the lessons in ``make test``; alone, it runs the lessons first.
"""
from __future__ import annotations

import json
import re

import pytest

from lesson_runs import LESSONS

# What a sentence points at, and how to recognise that kind of output.
KINDS = {
    "figure": r"figures?|plots?|pictures?|curves?|grids?|heat ?maps?|histograms?|panels?|images?",
    "table": r"tables?",
    "text": r"lines?|numbers?|outputs?|messages?|warnings?",
}
WHERE = r"(?P<where>below|above)"
# "the figure below", "the table above", "the lines printed above", "printed below", "the cell below prints"
POINTERS = [
    (kind, re.compile(rf"\bthe (?:{words})(?: \w+){{0,2}} {WHERE}\b", re.I)) for kind, words in KINDS.items()
] + [
    ("text", re.compile(rf"\b(?:printed|prints|lists|listed) {WHERE}\b", re.I)),
    ("text", re.compile(rf"\bthe cell {WHERE} (?:prints|lists|says|shows|holds)\b", re.I)),
]


def output_kinds(cell: dict) -> set[str]:
    """The kinds of output a code cell showed: figure (an image), table (HTML table or a table as text), text."""
    kinds = set()
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output.get("output_type") == "stream" and "".join(output.get("text", "")).strip():
            kinds.add("text")
        if {"image/png", "image/svg+xml"} & set(data):
            kinds.add("figure")
        html = "".join(data.get("text/html", ""))
        if "<table" in html or "|---" in "".join(data.get("text/markdown", "")):
            kinds.add("table")
        if "text/plain" in data and not ({"image/png", "text/html"} & set(data)):
            kinds.add("text")
        if "text/markdown" in data:
            kinds.add("text")
    return kinds


def pointers(text: str) -> list[tuple[str, str, str]]:
    """``(kind, where, phrase)`` for every phrase of ``text`` that points at an output."""
    found = []
    for kind, pattern in POINTERS:
        for match in pattern.finditer(" ".join(text.split())):
            found.append((kind, match["where"].lower(), match.group(0)))
    return found


def pointed_cells(cells: list[dict], index: int, where: str, reach: int = 2) -> list[dict]:
    """The ``reach`` nearest code cells above or below cell ``index``, within its section (up to a ## heading)."""
    step = -1 if where == "above" else 1
    found, k = [], index + step
    while 0 <= k < len(cells) and len(found) < reach:
        cell = cells[k]
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.match(r"\s*#{1,2} ", source):
            break
        if cell["cell_type"] == "code":
            found.append(cell)
        k += step
    return found


def test_the_patterns_find_what_a_lesson_says():
    assert [(k, w, p.lower()) for k, w, p in pointers("The cell below prints the rates.")] == \
        [("text", "below", "the cell below prints")]
    assert pointers("Look at the figure above: two curves.")[0][:2] == ("figure", "above")
    assert pointers("NSL printed `WARNING` above (from nsl).") == []      # a warning quoted, not "printed above"
    assert pointers("the sliders and the menu above the figure") == []    # inside one output, not another cell
    cells = [{"cell_type": "markdown", "source": "## A"}, {"cell_type": "code", "source": "1", "outputs": []},
             {"cell_type": "markdown", "source": "The figure above is empty."}]
    assert pointed_cells(cells, 2, "above") == [cells[1]] and output_kinds(cells[1]) == set()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_sentence_about_an_output_finds_it_where_it_points(lesson, executed_lessons):
    cells = json.loads((executed_lessons / lesson.name).read_text())["cells"]
    problems = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        for kind, where, phrase in pointers("".join(cell["source"])):
            near = pointed_cells(cells, index, where)
            if not any(kind in output_kinds(c) for c in near):
                shown = sorted(set().union(*(output_kinds(c) for c in near))) if near else []
                problems.append(f"cell {index} says {phrase!r}, but the code {where} it shows "
                                f"{', '.join(shown) or 'nothing'}")
    assert not problems, f"{lesson.name}:\n" + "\n".join(problems)
