"""Every lesson is committed clean and follows the skeleton in CONTRIBUTING.md (nbval runs them; this reads them)."""
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_the_lessons_are_numbered_in_order():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)), [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert not cell["outputs"] and cell["execution_count"] is None, \
                f"{path.name} cell {i} has outputs: run `make clean-notebooks` before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_in_canonical_form_with_only_the_metadata_the_course_uses(path):
    """nbformat's own layout, no outputs, and only kernelspec/language_info/rise and tags/slideshow/jupyter."""
    sys.path.insert(0, str(ROOT / "tools"))
    import clean_notebooks

    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    extra = set(notebook["metadata"]) - set(clean_notebooks.NOTEBOOK_METADATA)
    assert not extra, f"{path.name}: notebook metadata the course does not use: {sorted(extra)}"
    for i, cell in enumerate(notebook["cells"]):
        extra = set(cell["metadata"]) - set(clean_notebooks.CELL_METADATA)
        assert not extra, f"{path.name} cell {i}: metadata the course does not use: {sorted(extra)}"
    assert clean_notebooks.cleaned(text) == text, \
        f"{path.name} is not in nbformat's canonical form: run `make clean-notebooks`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_a_unique_id(path):
    ids = [cell.get("id") for cell in _cells(path)]    # nbformat 4.5; a missing id will become an error
    assert None not in ids, f"{path.name}: cells {[i for i, x in enumerate(ids) if x is None]} have no id"
    assert len(set(ids)) == len(ids), f"{path.name}: repeated cell ids"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_follows_the_skeleton(path):
    cells = _cells(path)
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert re.match(rf"# {path.name[:2]} · \S", markdown[0]), "the first cell is the H1 title `# NN · Title`"
    assert "Builds on" in markdown[0] or path.name.startswith("01"), "the overview says what the lesson builds on"
    assert "quick mode" in markdown[0], "the overview says how long quick and full mode take"
    headings = [line for m in markdown for line in m.splitlines() if line.startswith("## ")]
    for required in ("## Setup", "## Summary", "## Discuss", "## Exercises", "## References"):
        assert required in headings, f"{path.name} lacks a `{required}` section"
    order = [headings.index(h) for h in ("## Summary", "## Discuss", "## Exercises")]
    assert order == sorted(order), "Summary, then Discuss, then Exercises"
    assert "exercises.check_" in "\n".join(code), "a coding exercise checks itself (helpers.exercises)"
    setup = code[0]
    assert f'helpers.setup("{path.name[:2]}")' in setup, \
        "the first code cell prints the one-line set-up report, naming its lesson (it says when models must train)"
    assert setup.index("import helpers") < setup.find("import tensorflow") or "import tensorflow" not in setup, \
        "import helpers before TensorFlow"
    assert any(re.search(r"^assert ", c, re.M) for c in code), "a lesson proves itself with assertions"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_overview_gives_full_modes_time_as_benchmarks_lesson_times_measured_it(path):
    """"Full mode takes about N minutes" in a lesson's overview is what ``lesson_times-full-mode.json`` holds."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import report

    overview = " ".join("".join(_cells(path)[0]["source"]).split())      # one line: Markdown wraps anywhere
    row = report.lesson_times("full").get("lessons", {}).get(path.name[:2])
    if row is None or row.get("error"):                     # not timed: the overview must not quote a time
        assert not re.search(r"Full mode takes (about|under)", overview), \
            f"{path.name} quotes a full-mode time that benchmarks/lesson_times.py has not measured"
        return
    said = f"Full mode takes {report.full_mode_minutes(row['seconds'])}"
    assert said in overview, (f"{path.name}: its overview should say \"{said}\" ({row['seconds']:.0f} s measured on "
                              f"{row['measured']}, benchmarks/results/lesson_times-full-mode.json)")
    assert "lesson_times-full-mode.json" in overview, "the overview links the measurement"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_types_no_measured_percentage(path):
    """Numbers come from the code: a percentage with decimals in Markdown is a measurement typed by hand."""
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "markdown":
            typed = re.findall(r"\d+\.\d+ ?%", "".join(cell["source"]))
            assert not typed, (f"{path.name} cell {i} types {typed}: print measured numbers from a code cell, or "
                               "link the generated table in benchmarks/README.md")


def test_nbval_gets_more_than_five_seconds_to_deliver_a_cells_output():
    import importlib.util
    import types

    spec = importlib.util.spec_from_file_location("notebooks_conftest", NOTEBOOKS[0].parent / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cell, other = types.SimpleNamespace(output_timeout=5), types.SimpleNamespace()
    module.pytest_collection_modifyitems(None, [cell, other])
    assert cell.output_timeout >= 30 and not hasattr(other, "output_timeout")
