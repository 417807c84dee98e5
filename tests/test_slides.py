"""tools/slides.py: RISE slide metadata set from a lesson's structure, rerunnable, and checkable in CI."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("slides", REPO / "tools" / "slides.py")
slides = importlib.util.module_from_spec(spec)
spec.loader.exec_module(slides)

LESSONS = sorted((REPO / "notebooks").glob("0*.ipynb"))


def lesson(*cells, **metadata):
    """A small lesson: an H1 title, a set-up section, then ``cells``."""
    nb = new_notebook(cells=[new_markdown_cell("# 01 · A lesson\n\nWhat it teaches."),
                             new_markdown_cell("## Setup"), new_code_cell("import helpers\nhelpers.setup()"),
                             *cells])
    nb.metadata.update({"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                        "language_info": {"name": "python"}, **metadata})
    return nb


def write(nb, path):
    """As the lessons are stored: nbformat's writer (indent 1, sorted keys, a trailing newline)."""
    nbformat.write(nb, str(path))
    return path


def types_after_setup(*cells):
    return slides.slide_types(lesson(*cells))[3:]


def test_the_title_and_every_section_begin_a_slide():
    nb = lesson(new_markdown_cell("## Attack one digit\n\nText."), new_code_cell("x = 1"),
                new_markdown_cell("## Discuss\n\n1. Why?"))
    assert slides.slide_types(nb) == ["slide", "skip", "skip", "slide", "-", "slide"]


def test_setup_and_the_checks_make_no_slide_and_the_section_after_them_does():
    types = types_after_setup(new_markdown_cell("## Attack"), new_code_cell("x = 1"),
                              new_markdown_cell("## Check the lesson"), new_code_cell("assert x == 1"),
                              new_markdown_cell("## Summary\n\n- one"))
    assert slides.slide_types(lesson())[1:3] == ["skip", "skip"]
    assert types == ["slide", "-", "skip", "skip", "slide"]


def test_words_about_the_output_above_stay_on_its_slide():
    types = types_after_setup(new_markdown_cell("## Section"), new_code_cell("print(1)"),
                              new_markdown_cell("The number printed above is one."), new_code_cell("print(2)"),
                              new_markdown_cell("A new thought, with its own screen."))
    assert types == ["slide", "-", "-", "-", "subslide"]


def test_a_note_for_the_presenter_and_a_split_where_a_slide_is_too_tall():
    note = new_markdown_cell("TensorFlow warns about X; it means Y.", metadata={"tags": ["slide-notes"]})
    tall = new_code_cell("draw()", metadata={"tags": ["slide-break"]})
    hidden = new_code_cell("quiet()", metadata={"tags": ["slide-skip"]})
    assert types_after_setup(new_markdown_cell("## Section"), new_code_cell("train()"), note, tall, hidden) \
        == ["slide", "-", "notes", "subslide", "skip"]


def test_a_third_level_heading_begins_a_subslide():
    assert types_after_setup(new_markdown_cell("## Section"), new_markdown_cell("### A detail"),
                             new_markdown_cell("#### A smaller one")) == ["slide", "subslide", "subslide"]


def test_text_after_code_begins_a_subslide_and_text_after_text_continues():
    assert types_after_setup(new_markdown_cell("## Section"), new_markdown_cell("Intro, no heading."),
                             new_code_cell("y = 2"), new_code_cell("y"), new_markdown_cell("What y shows."),
                             new_markdown_cell("And more.")) == ["slide", "-", "-", "-", "subslide", "-"]


def test_the_heading_is_read_from_the_first_non_blank_line_and_needs_a_space():
    assert types_after_setup(new_markdown_cell("\n\n## Late heading"), new_code_cell("z = 3"),
                             new_markdown_cell("#hashtag, not a heading"),
                             new_markdown_cell("Text first\n\n## then a heading")) \
        == ["slide", "-", "subslide", "-"]


def test_removed_and_blank_cells_are_skipped_and_rule_3_looks_past_them():
    hidden = new_code_cell("secret = 1", metadata={"tags": ["remove-cell"]})
    assert types_after_setup(new_markdown_cell("## Section"), new_markdown_cell("Text."), hidden,
                             new_markdown_cell("Still the same screen."), new_code_cell("w = 4"),
                             new_markdown_cell("  \n"), new_markdown_cell("Reads w.")) \
        == ["slide", "-", "skip", "-", "-", "skip", "subslide"]


def test_code_and_raw_cells_continue_the_slide_and_every_type_is_one_rise_knows():
    types = types_after_setup(new_markdown_cell("## Section"), new_code_cell("# a comment, not a heading"),
                              new_raw_cell("raw"), new_code_cell(""))
    assert types == ["slide", "-", "-", "-"]
    assert set(types) <= set(slides.SLIDE_TYPES)


def test_slide_types_reads_plain_json_with_list_sources_as_well():
    nb = json.loads(nbformat.writes(lesson(new_markdown_cell("## Section"), new_code_cell("a = 1"),
                                           new_markdown_cell("Line one\nline two"))))
    nb["cells"][-1]["source"] = ["Line one\n", "line two"]
    assert slides.slide_types(nb) == ["slide", "skip", "skip", "slide", "-", "subslide"]


def test_apply_sets_only_the_slide_metadata_and_is_idempotent(tmp_path):
    nb = lesson(new_markdown_cell("## Section"), new_code_cell("v = 5", metadata={"tags": ["nbval-skip"]}),
                new_markdown_cell("Reads v.", metadata={"custom": {"keep": True}}),
                rise={"theme": "serif", "scroll": False})
    path = write(nb, tmp_path / "lesson.ipynb")
    before = nbformat.read(str(path), as_version=4)

    assert slides.apply(path) is True
    after = nbformat.read(str(path), as_version=4)
    assert [c.metadata.slideshow.slide_type for c in after.cells] \
        == ["slide", "skip", "skip", "slide", "-", "subslide"]
    assert after.cells[4].metadata.tags == ["nbval-skip"] and after.cells[5].metadata.custom == {"keep": True}
    assert after.metadata.rise == {"center": False, "scroll": True, "theme": "serif",     # ours set, others kept
                                   "transition": "none"}
    for old, new in zip(before.cells, after.cells):
        assert (new.source, new.cell_type, new.id) == (old.source, old.cell_type, old.id)
        assert {k: v for k, v in new.metadata.items() if k != "slideshow"} == old.metadata
    assert {k: v for k, v in after.metadata.items() if k != "rise"} \
        == {k: v for k, v in before.metadata.items() if k != "rise"}

    written = path.read_bytes()
    assert written == nbformat.writes(after).encode() + b"\n"     # JupyterLab saving it changes nothing
    assert slides.apply(path) is False and path.read_bytes() == written


def test_apply_keeps_the_existing_key_order_and_bytes_outside_the_slide_metadata(tmp_path):
    """Some lessons hold code cells whose keys are not sorted; only the added keys may differ."""
    text = nbformat.writes(lesson(new_code_cell("u = 6"), new_markdown_cell("Reads u · ünïcode."))) + "\n"
    nb = json.loads(text)
    nb["cells"][3] = {k: nb["cells"][3][k] for k in ("cell_type", "id", "metadata", "source",
                                                     "execution_count", "outputs")}
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    path = tmp_path / "lesson.ipynb"
    path.write_text(text, encoding="utf-8")

    assert slides.apply(path)
    written = path.read_text(encoding="utf-8")
    assert "ünïcode" in written and written.endswith("}\n") and not written.endswith("\n\n")
    stripped = json.loads(written)
    assert list(stripped["cells"][3]) == ["cell_type", "id", "metadata", "source", "execution_count", "outputs"]
    for cell in stripped["cells"]:
        del cell["metadata"]["slideshow"]
    del stripped["metadata"]["rise"]
    assert json.dumps(stripped, indent=1, ensure_ascii=False) + "\n" == text


def test_apply_refuses_a_notebook_stored_in_another_layout(tmp_path):
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps(json.loads(nbformat.writes(lesson())), indent=2) + "\n")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="indent 1"):
        slides.apply(path)
    assert path.read_bytes() == before


def run_cli(*args):
    return subprocess.run([sys.executable, str(REPO / "tools" / "slides.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def test_check_exits_1_on_a_stale_notebook_and_0_after_apply(tmp_path):
    fresh = write(lesson(new_markdown_cell("## Section")), tmp_path / "fresh.ipynb")
    stale = tmp_path / "stale.ipynb"
    assert run_cli(fresh, tmp_path / "missing.ipynb").returncode == 2    # an error, not "up to date"
    write(lesson(new_markdown_cell("## Section"), new_code_cell("t = 7"), new_markdown_cell("Reads t.")), stale)
    assert run_cli(fresh).returncode == 0
    before = stale.read_bytes()

    result = run_cli("--check", fresh, stale)
    assert result.returncode == 1 and stale.read_bytes() == before
    nb = nbformat.read(str(stale), as_version=4)
    for cell in nb.cells:
        assert f"{stale}: cell {cell.id}: null, should be" in result.stdout
    assert f"{stale}: metadata.rise.scroll: null, should be true" in result.stdout
    assert str(fresh) not in result.stdout

    assert slides.check([fresh, stale]) == result.stdout.splitlines()
    assert run_cli(stale).returncode == 0
    assert run_cli("--check", fresh, stale).returncode == 0 and slides.check([fresh, stale]) == []

    nb = nbformat.read(str(stale), as_version=4)        # someone edits the lesson: text after code again
    nb.cells.append(new_code_cell("s = 8"))
    nb.cells.append(new_markdown_cell("Reads s."))
    write(nb, stale)
    result = run_cli("--check", stale)
    assert result.returncode == 1 and result.stdout.splitlines() == [
        f"{stale}: cell {nb.cells[-2].id}: null, should be \"-\"",
        f"{stale}: cell {nb.cells[-1].id}: null, should be \"subslide\""]


def test_check_wants_a_boolean_scroll():
    nb = lesson()
    for cell, wanted in zip(nb.cells, slides.slide_types(nb)):
        cell.metadata["slideshow"] = {"slide_type": wanted}
    nb.metadata["rise"] = {"center": 0, "scroll": "true", "transition": "none"}
    assert [where for where, _, _ in slides._differences(nb)] == ["metadata.rise.center", "metadata.rise.scroll"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_gets_at_least_five_slides_and_every_section_begins_one(path):
    nb = nbformat.read(str(path), as_version=4)
    types = slides.slide_types(nb)
    assert len(types) == len(nb.cells) and set(types) <= set(slides.SLIDE_TYPES)
    assert types[0] == "slide", "the title cell begins the first slide"
    assert types.count("slide") >= 5, f"{path.name}: only {types.count('slide')} slides"
    for cell, slide_type in zip(nb.cells, types):
        if cell.cell_type == "markdown" and re.match(r"\s*## ", cell.source):
            skipped = slides._section(cell.source) in slides.SKIP_SECTIONS
            assert slide_type == ("skip" if skipped else "slide"), \
                f"{path.name} cell {cell.id} ({cell.source.splitlines()[0]!r})"


def test_the_committed_lessons_carry_their_slide_metadata():
    """After editing a lesson, run `python tools/slides.py notebooks/*.ipynb` (RISE reads what it writes)."""
    lessons = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(lessons) == 9
    problems = slides.check(lessons)
    assert not problems, ("stale slide metadata; run python tools/slides.py notebooks/*.ipynb:\n"
                          + "\n".join(problems[:10]))


def test_fit_splits_a_slide_where_the_measured_cells_stop_fitting_the_screen(tmp_path):
    nb = lesson(new_markdown_cell("## Section\n\nWhy."), new_code_cell("a = 1"), new_code_cell("draw()"),
                new_code_cell("draw_more()"), new_markdown_cell("## Next"), new_code_cell("b = 2"))
    # cells 3..8 measured on a 720 px screen: 100 + 200 + 300 + 250 px overflow the section's slide
    tops = {3: (20, 120), 4: (128, 328), 5: (336, 636), 6: (644, 894), 7: (20, 80), 8: (88, 150)}
    measured = {"screen": 720, "cells": {str(i): {"top": t, "bottom": b} for i, (t, b) in tops.items()}}
    breaks, too_tall = slides.fit(json.loads(nbformat.writes(nb)), measured)
    assert breaks == [6] and too_tall == []
    path = write(nb, tmp_path / "fit.ipynb")
    assert slides.tag_breaks(path, breaks) == 1 and slides.tag_breaks(path, breaks) == 0
    slides.apply(path)
    assert [c.metadata.slideshow.slide_type for c in nbformat.read(str(path), as_version=4).cells][3:] \
        == ["slide", "-", "-", "subslide", "slide", "-"]


def test_fit_keeps_words_about_an_output_with_it_and_names_cells_taller_than_the_screen():
    nb = lesson(new_markdown_cell("## Section"), new_code_cell("print(3)"), new_code_cell("print(4)"),
                new_markdown_cell("The number printed above is four."), new_code_cell("huge()"))
    tops = {3: (20, 80), 4: (88, 388), 5: (396, 696), 6: (704, 760), 7: (20, 760)}
    measured = {"screen": 720, "cells": {str(i): {"top": t, "bottom": b} for i, (t, b) in tops.items()}}
    breaks, too_tall = slides.fit(json.loads(nbformat.writes(nb)), measured)
    assert breaks == [5, 7] and too_tall == [7]   # the break goes before the code the sentence explains
