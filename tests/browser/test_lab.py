"""The lessons in JupyterLab, in Chromium, as a student meets them: they open, they run, the explorer follows.

nbval (``pytest notebooks``) already runs every lesson; these tests add what only a browser shows: that a
lesson renders, that *Run All* in JupyterLab ends with no error and with every figure the lesson draws, and
that each interactive explorer shows exactly one figure, which follows its controls.
"""
from __future__ import annotations

import hashlib
import json
import re

import pytest

from browser_support import LESSONS, shots_dir

# The lessons run with Run All in the browser: each one with an interactive widget, and one without.
WIDGET_LESSONS = [p for p in LESSONS if ".controls(" in p.read_text()]
RUN_ALL = WIDGET_LESSONS + [p for p in LESSONS if p.name.startswith("01_")]
RUN_ALL_TIMEOUT_S = 300

# JavaScript run in the page. JupyterLab is started with expose_app_in_browser, so `window.jupyterapp` is the
# application: the current notebook panel, its model and its kernel, as JupyterLab itself sees them.
PANEL = "(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; " \
        "return w && w.content && w.content.model ? w : null; })()"
READY = f"(() => {{ const p = {PANEL}; return !!(p && p.context.isReady && p.sessionContext.session && " \
        "p.sessionContext.session.kernel && p.sessionContext.session.kernel.status === 'idle'); })()"
STATE = f"""(() => {{
  const p = {PANEL};
  const cells = [];
  for (const cell of p.content.widgets) {{
    const model = cell.model;
    if (model.type !== 'code') {{ cells.push({{type: model.type}}); continue; }}
    cells.push({{type: 'code', count: model.executionCount, outputs: model.outputs.toJSON(),
                 running: cell.promptNode ? cell.promptNode.textContent.includes('*') : false}});
  }}
  return {{cells, kernel: p.sessionContext.session.kernel.status}};
}})()"""


def open_lesson(page, lab, path: str, *, kernel: bool = True) -> str:
    """Open ``path`` in JupyterLab (a fresh workspace: no other tab) and return a CSS selector of its panel."""
    page.goto(lab.url(f"lab/tree/{path}?reset"))
    page.wait_for_function(f"(() => {{ const p = {PANEL}; return !!(p && p.context.isReady && "
                           f"p.context.path === {path!r}); }})()", timeout=60_000)
    if kernel:
        page.wait_for_function(READY, timeout=60_000)
    return "#" + page.evaluate(f"{PANEL}.id")


def images_per_cell(cells: list[dict]) -> list[int]:
    """For each code cell, the number of image outputs (PNG or SVG, or a widget's image fallback)."""
    return [sum(1 for o in c.get("outputs", []) if {"image/png", "image/svg+xml"} & set(o.get("data", {})))
            for c in cells if c.get("cell_type", c.get("type")) == "code"]


def errors_in(cells: list[dict]) -> list[str]:
    found = []
    for i, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {i}: {output.get('ename')}: {output.get('evalue')}")
            text = "".join(output.get("text", "")) if output.get("output_type") == "stream" else ""
            if "Traceback (most recent call last)" in text:
                found.append(f"cell {i}: a traceback printed to {output.get('name')}")
    return found


@pytest.fixture(autouse=True)
def _no_kernel_left(lab):
    yield
    lab.shut_down_kernels()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_opens_and_renders(page, lab, lesson, console):
    panel = open_lesson(page, lab, f"lessons/{lesson.name}", kernel=False)
    cells = json.loads(lesson.read_text())["cells"]
    page.wait_for_function(f"document.querySelectorAll('{panel} .jp-Notebook .jp-Cell').length === {len(cells)}")
    title = next(line[2:] for line in "".join(cells[0]["source"]).splitlines() if line.startswith("# "))
    h1 = page.locator(f"{panel} .jp-RenderedMarkdown h1").first
    h1.wait_for()
    assert h1.inner_text().replace("¶", "").strip() == title.strip()
    headings = page.locator(f"{panel} .jp-RenderedMarkdown h2").all_inner_texts()
    assert any("Setup" in h for h in headings) and any("Exercises" in h for h in headings), headings
    assert page.locator(".jp-Dialog").count() == 0, "a dialog opened with the lesson"
    assert not [m for m in console if "uncaught" in m], console
    page.screenshot(path=shots_dir() / f"lab-open-{lesson.stem}.png")


def _run_all(page, lab, lesson):
    panel = open_lesson(page, lab, f"lessons/{lesson.name}")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(f"""(() => {{
      const s = {STATE};
      const code = s.cells.filter(c => c.type === 'code');
      const failed = code.some(c => c.outputs.some(o => o.output_type === 'error'));
      return failed || (s.kernel === 'idle' && code.every(c => c.count !== null && !c.running));
    }})()""", timeout=RUN_ALL_TIMEOUT_S * 1000, polling=1000)
    return panel, page.evaluate(STATE)["cells"]


def _check_ran_like_nbval(cells, lesson, executed_lessons):
    problems = errors_in(cells)
    assert not problems, f"{lesson.name} in the browser: {problems}"
    expected = json.loads((executed_lessons / lesson.name).read_text())["cells"]
    got, want = images_per_cell(cells), images_per_cell(expected)
    assert got == want, (f"{lesson.name}: figures per code cell in the browser {got}, when nbval ran it {want}")


def _loaded_images(page, panel: str, cell_index: int) -> list[str]:
    """The ``src`` of every image shown in a cell's outputs, after checking each one has loaded."""
    cell = page.locator(f"{panel} .jp-Notebook .jp-Cell").nth(cell_index)
    images = cell.locator(".jp-OutputArea img")
    sources = []
    for k in range(images.count()):
        image = images.nth(k)
        image.scroll_into_view_if_needed()
        assert image.evaluate("i => i.complete && i.naturalWidth > 0"), f"cell {cell_index}: image {k} did not load"
        sources.append(image.get_attribute("src"))
    return sources


@pytest.mark.parametrize("lesson", [p for p in RUN_ALL if p not in WIDGET_LESSONS], ids=lambda p: p.stem)
def test_run_all_in_the_browser_ends_with_every_figure_and_no_error(page, lab, lesson, executed_lessons, console):
    panel, cells = _run_all(page, lab, lesson)
    _check_ran_like_nbval(cells, lesson, executed_lessons)
    code_cells = [i for i, c in enumerate(cells) if c["type"] == "code"]
    for index, count in zip(code_cells, images_per_cell(cells)):
        assert len(_loaded_images(page, panel, index)) == count
    page.screenshot(path=shots_dir() / f"lab-run-all-{lesson.stem}.png")


def _digest(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()[:10]


def _set_readout(control, value: str):
    """Type a value into an ipywidgets slider's readout and press Enter, as a student fine-tunes a slider."""
    readout = control.locator(".widget-readout")
    readout.click()
    readout.press("Control+A")
    readout.type(value)
    readout.press("Enter")


@pytest.mark.parametrize("lesson", WIDGET_LESSONS, ids=lambda p: p.stem)
def test_run_all_and_the_explorer_draws_one_figure_that_follows_its_controls(page, lab, lesson, executed_lessons,
                                                                           console):
    assert WIDGET_LESSONS, "no lesson has an interactive widget: update RUN_ALL"
    panel, cells = _run_all(page, lab, lesson)
    _check_ran_like_nbval(cells, lesson, executed_lessons)
    source = [("".join(c["source"]) if c["cell_type"] == "code" else "")
              for c in json.loads(lesson.read_text())["cells"]]
    index = next(i for i, s in enumerate(source) if ".controls(" in s)
    cell = page.locator(f"{panel} .jp-Notebook .jp-Cell").nth(index)
    explorer = cell.locator(".advlab-explorer")
    explorer.wait_for(timeout=30_000)
    explorer.scroll_into_view_if_needed()
    readout = cell.locator(".advlab-explorer-readout")

    def shown() -> tuple[str, str]:
        images = _loaded_images(page, panel, index)
        assert len(images) == 1, f"{lesson.name}: the explorer shows {len(images)} figures, not one"
        return _digest(images[0]), readout.inner_text()

    figure, text = shown()
    page.screenshot(path=shots_dir() / f"lab-explorer-{lesson.stem}-before.png")
    digit, epsilon = explorer.locator(".widget-slider").nth(0), explorer.locator(".widget-slider").nth(1)
    menu = explorer.locator("select")
    start = re.search(r"test image (\d+): (\S+) at L-inf eps ([\d.]+)", text)
    assert start, text
    other_attack = next(o for o in menu.locator("option").all_inner_texts() if o != start[2])
    moves = [("epsilon", lambda: _set_readout(epsilon, "0.36"), "eps 0.36"),
             ("attack", lambda: menu.select_option(label=other_attack), f": {other_attack} at"),
             ("test image", lambda: _set_readout(digit, str((int(start[1]) + 7) % 100)),
              f"test image {(int(start[1]) + 7) % 100}:")]
    for control, move, expected in moves:
        move()
        page.wait_for_function(
            "([sel, want]) => document.querySelectorAll(sel)[0] && "
            "document.querySelectorAll(sel)[0].innerText.includes(want)",
            arg=[".advlab-explorer-readout", expected], timeout=60_000)
        page.wait_for_timeout(300)
        new_figure, new_text = shown()
        assert expected in new_text, f"after moving {control}: the readout says {new_text!r}"
        assert new_figure != figure, f"after moving {control}: the figure did not change"
        figure, text = new_figure, new_text
    page.screenshot(path=shots_dir() / f"lab-explorer-{lesson.stem}-after.png")
    assert not [m for m in console if "uncaught" in m or "widget" in m.lower()], console
